"""Checking splits and holdouts (E0170–E0173) and the predicates that test them, and
the W0230 warning for a salt used twice. A split's arms take consecutive bucket ranges
in the order written (:func:`segdsl.ir.semantics.bucket_ranges`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from segdsl import ir
from segdsl.check.suggest import did_you_mean, one_of
from segdsl.diagnostics import Label, error, warning
from segdsl.ir.semantics import BUCKETS, bucket_ranges, share_buckets
from segdsl.syntax import ast

if TYPE_CHECKING:
    from segdsl.check.checker import Checker


def check_splits(ck: Checker, modules: Iterable[ast.Module]) -> tuple[dict[str, ir.Split], dict[str, ir.Holdout]]:
    """Every split and holdout of ``modules``, typed; diagnostics go to ``ck``."""
    splits: dict[str, ir.Split] = {}
    holdouts: dict[str, ir.Holdout] = {}
    seen: dict[str, ast.Split | ast.Holdout] = {}
    salts: dict[str, tuple[str, ast.StringLit]] = {}
    for module in modules:
        for decl in sorted((*module.splits, *module.holdouts), key=lambda d: d.span.start):
            word = "split" if isinstance(decl, ast.Split) else "holdout"
            first = seen.get(decl.name)
            if first is not None:
                ck.diags.append(
                    error("E0171", f"`{decl.name}` is declared twice", decl.name_span, label="second declaration",
                          labels=(Label(first.name_span, "first declared here"),),
                          help="split and holdout names are unique across the project; rename one")
                )
                continue
            seen[decl.name] = decl
            checked = _split(ck, decl) if isinstance(decl, ast.Split) else _holdout(ck, decl)
            salt = decl.salt if isinstance(decl, ast.Holdout) else _salt(decl)
            if salt is not None:
                other = salts.get(salt.value)
                if other is not None:
                    ck.diags.append(
                        warning("W0230", f"{word} `{decl.name}` reuses the salt of `{other[0]}`", salt.span,
                                labels=(Label(other[1].span, "first used here"),),
                                help="with one salt both read the same bucket of every entity, so their groups are "
                                "not independent of each other; give each its own salt")
                    )
                else:
                    salts[salt.value] = (decl.name, salt)
            if checked is not None:
                if isinstance(checked, ir.Split):
                    splits[decl.name] = checked
                else:
                    holdouts[decl.name] = checked
    return splits, holdouts


def _salt(split: ast.Split) -> ast.StringLit | None:
    salt = next((i for i in split.items if isinstance(i, ast.Salt)), None)
    return salt.text if salt is not None else None


def _split(ck: Checker, s: ast.Split) -> ir.Split | None:
    errors_before = sum(d.is_error for d in ck.diags)
    salts = [i for i in s.items if isinstance(i, ast.Salt)]
    descriptions = [i for i in s.items if isinstance(i, ast.Description)]
    for kind, found in (("salt", salts), ("description", descriptions)):
        for extra in found[1:]:
            ck.diags.append(error("E0112", f"`{kind}` is given twice in split `{s.name}`", extra.span,
                                  labels=(Label(found[0].span, "first here"),), help=f"keep one `{kind}`"))
    if not salts:
        ck.diags.append(
            error("E0172", f"split `{s.name}` needs a `salt`", s.name_span,
                  help=f'add `salt "{s.name}-1"`: the salt decides who lands in which arm, and changing it later '
                  "reassigns everyone")
        )
    elif not salts[0].text.value:
        ck.diags.append(error("E0172", "a salt cannot be empty", salts[0].text.span,
                              help=f'write a salt of its own, e.g. `salt "{s.name}-1"`'))
    arms = s.arms
    if len(arms) < 2:
        ck.diags.append(error("E0172", f"split `{s.name}` needs at least two arms", s.name_span,
                              help="list the arms with their shares, e.g. `control 10%` and `offer 90%`"))
    names: dict[str, ast.Arm] = {}
    shares: list[int] = []
    for arm in arms:
        if arm.name in names:
            ck.diags.append(error("E0172", f"arm `{arm.name}` is listed twice in split `{s.name}`", arm.name_span,
                                  labels=(Label(names[arm.name].name_span, "first here"),)))
            continue
        names[arm.name] = arm
        n = _share(ck, arm.weight, allow_zero=True)
        if n is not None:
            shares.append(n)
    if len(shares) == len(names) and names and sum(shares) != BUCKETS:
        total = Decimal(sum(shares)) / (BUCKETS // 100)
        ck.diags.append(
            error("E0172", f"the arms of split `{s.name}` add up to {total.normalize():f}%, not 100%", s.name_span,
                  labels=tuple(Label(a.weight.span, f"{a.weight.text}%") for a in names.values()),
                  help="every entity is in exactly one arm, so the shares must add up to exactly 100%")
        )
    if sum(d.is_error for d in ck.diags) > errors_before:
        return None
    ranges = bucket_ranges(shares)
    desc = descriptions[0].text.value if descriptions else None
    return ir.Split(s.name, s.title.value if s.title else None, desc, salts[0].text.value,
                    tuple(ir.Arm(a.name, lo, hi, a.span) for a, (lo, hi) in zip(names.values(), ranges)),
                    s.span.path, s.span)


def _holdout(ck: Checker, h: ast.Holdout) -> ir.Holdout | None:
    errors_before = sum(d.is_error for d in ck.diags)
    n = _share(ck, h.share, allow_zero=False)
    if n == BUCKETS:
        ck.diags.append(error("E0172", "a holdout of 100% leaves no one to treat", h.share.span,
                              help="hold out a small share, e.g. `5%`"))
    if not h.salt.value:
        ck.diags.append(error("E0172", "a salt cannot be empty", h.salt.span,
                              help=f'write a salt of its own, e.g. `salt "{h.name}-1"`'))
    if n is None or sum(d.is_error for d in ck.diags) > errors_before:
        return None
    return ir.Holdout(h.name, h.title.value if h.title else None, h.salt.value, n, h.span.path, h.span)


def _share(ck: Checker, p: ast.Percent, allow_zero: bool) -> int | None:
    """A share in buckets, or None after a diagnostic."""
    n = share_buckets(p.value)
    if n is None:
        ck.diags.append(
            error("E0172", f"`{p.text}%` is not a whole number of buckets", p.span, label="more than two decimals",
                  help=f"entities are spread over {BUCKETS:,} buckets, so a share has at most two decimals "
                  f"(e.g. `{p.value.quantize(Decimal('0.01'))}%`)")
        )
        return None
    if n > BUCKETS or (n == 0 and not allow_zero):
        ck.diags.append(error("E0172", f"a share of `{p.text}%` is out of range", p.span,
                              help="a share is more than 0% and at most 100%"))
        return None
    return n


def split_ref(ck: Checker, e: ast.SplitRef) -> ir.Node | None:
    """``in split NAME.ARM`` as the arm's bucket range."""
    split = ck.splits.get(e.split)
    if split is None:
        if e.split not in ck.declared:
            ck.diags.append(
                error("E0170", f"unknown split `{e.split}`", e.split_span, label="no split of this name",
                      help=did_you_mean(e.split, ck.declared_splits)
                      or (f"`{e.split}` is a holdout; write `in holdout {e.split}`" if e.split in ck.holdouts
                          else "declare it: `split NAME { salt \"...\"  control 10%  treatment 90% }`"))
            )
        return None  # a split with errors has its own diagnostics
    arm = split.arm(e.arm)
    if arm is None:
        names = [a.name for a in split.arms]
        ck.diags.append(
            error("E0170", f"split `{split.name}` has no arm `{e.arm}`", e.arm_span, label="no arm of this name",
                  help=did_you_mean(e.arm, names) or f"its arms are {one_of(names)}")
        )
        return None
    return _range(ck, split.salt, arm.low, arm.high, f"split {split.name}.{arm.name}", e)


def holdout_ref(ck: Checker, e: ast.HoldoutRef) -> ir.Node | None:
    """``in holdout NAME`` as the holdout's bucket range."""
    h = ck.holdouts.get(e.name)
    if h is None:
        if e.name not in ck.declared:
            ck.diags.append(
                error("E0170", f"unknown holdout `{e.name}`", e.name_span, label="no holdout of this name",
                      help=did_you_mean(e.name, ck.declared_holdouts)
                      or (f"`{e.name}` is a split; write `in split {e.name}.ARM`" if e.name in ck.splits
                          else "declare it: `holdout NAME 5% salt \"...\"`"))
            )
        return None
    return _range(ck, h.salt, 0, h.buckets, f"holdout {h.name}", e)


def _range(ck: Checker, salt: str, low: int, high: int, label: str, e) -> ir.Node:
    if low == high:
        return ir.Const(False, e.span)  # an arm of 0%
    return ir.Bucket(ck.schema.key, salt, low, high, label, e.span)


# ------------------------------------------------------------- sticky assignment

def assignment_name(decl: ir.Split | ir.Holdout) -> str:
    """The name under which the state store records a split's or holdout's assignment."""
    return f"assignment:{'split' if isinstance(decl, ir.Split) else 'holdout'}:{decl.name}"


def assignment_text(decl: ir.Split | ir.Holdout) -> str:
    """What decides who is where: the salt and the bucket ranges, as canonical text."""
    import json

    if isinstance(decl, ir.Split):
        value: dict = {"salt": decl.salt, "arms": [[a.name, a.low, a.high] for a in decl.arms]}
    else:
        value = {"salt": decl.salt, "buckets": decl.buckets}
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def assignment_changes(recorded: dict[str, str], decls: Iterable[ir.Split | ir.Holdout]) -> list:
    """W0231 for each split or holdout whose salt or shares differ from the assignment
    recorded (``recorded``: by :func:`assignment_name`) when segments reading it were
    refreshed: the history of who was in which group no longer matches the rule."""
    import json

    out = []
    for decl in decls:
        before = recorded.get(assignment_name(decl))
        if before is None or before == assignment_text(decl):
            continue
        word = "split" if isinstance(decl, ir.Split) else "holdout"
        old = json.loads(before)
        changed = "salt" if old.get("salt") != decl.salt else "shares"
        out.append(
            warning("W0231", f"the {changed} of {word} `{decl.name}` changed since refresh recorded who was in it",
                    decl.span, label="assignment changed",
                    help=f"the recorded membership history used {_assignment_words(old)}; keep that, or declare a "
                    "new split or holdout (new name, new salt) for a new test")
        )
    return out


def _assignment_words(value: dict) -> str:
    if "arms" in value:
        arms = ", ".join(f"{name} {Decimal(hi - lo) / (BUCKETS // 100)}%" for name, lo, hi in value["arms"])
        return f'salt "{value["salt"]}" with {arms}'
    return f'salt "{value["salt"]}" with {Decimal(value["buckets"]) / (BUCKETS // 100)}%'
