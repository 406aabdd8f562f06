"""Warnings about rules that are valid but probably not what their author meant.

Runs on the checked IR of each segment's own rule (referenced segments are linted where
they are defined). Three findings:

- W0207: a negation or ``!=`` over a nullable field, which silently leaves out the rows
  where the field is NULL (``not (x > 5)`` is unknown, not true, when x is NULL);
- W0208: an ``and`` whose conditions on one field contradict each other, so the rule
  can never match (``x > 5 and x < 3``, ``within 30 days`` with ``days_since >= 180``);
- W0209: an ``or`` that is true for every row (``x is null or x is not null``, or
  bounds that cover every value of a field that is never null).

The analysis is deliberately conservative: it only warns when it is sure.
"""

from __future__ import annotations

from collections import defaultdict

from segdsl import ir
from segdsl.diagnostics import Diagnostic, warning
from segdsl.schema.model import Field, Kind


def lint_segment(segment: ir.Segment) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    stack: list[ir.Node] = [segment.rule]
    while stack:
        node = stack.pop()
        match node:
            case ir.Not(item=item):
                nullable = _nullable_fields(item)
                if nullable and not isinstance(item, ir.IsNull):
                    names = ", ".join(f"`{f.name}`" for f in nullable)
                    out.append(
                        warning("W0207", f"`not` leaves out the rows where {names} is null", node.span,
                                help=f"`not` of an unknown is unknown; if those rows should match, add "
                                f"`or {nullable[0].name} is null`")
                    )
                stack.append(item)
            case ir.Cmp(field=f, op="!=") if f.nullable:
                out.append(
                    warning("W0207", f"`!=` does not match the rows where `{f.name}` is null", node.span,
                            help=f"if they should match, write `({f.name} != ... or {f.name} is null)`")
                )
            case ir.And(items=items):
                if _contradicts(items):
                    out.append(
                        warning("W0208", "this condition can never be true", node.span,
                                help="its conditions on the same field exclude each other")
                    )
                stack.extend(items)
            case ir.Or(items=items):
                if _covers_everything(items):
                    out.append(
                        warning("W0209", "this condition is true for every row", node.span,
                                help="its alternatives cover every value; remove it or narrow it")
                    )
                stack.extend(items)
    return out


def _nullable_fields(node: ir.Node) -> list[Field]:
    """Nullable fields in ``node`` whose NULL makes it unknown (segment membership and
    null tests and event sequences are never unknown)."""
    seen: dict[str, Field] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        match n:
            case ir.And(items=items) | ir.Or(items=items):
                stack.extend(items)
            case ir.Not(item=item):
                stack.append(item)
            case ir.Member() | ir.IsNull() | ir.Const() | ir.Sequence():
                pass
            case ir.FieldCmp(field=f, other=g):
                for h in (f, g):
                    if h.nullable:
                        seen.setdefault(h.name, h)
            case _:
                f = n.field  # type: ignore[union-attr]
                if f.nullable:
                    seen.setdefault(f.name, f)
    return list(seen.values())


# ----------------------------------------------------------------- contradictions


class _Range:
    """The values one field may take under a conjunction of simple conditions."""

    def __init__(self) -> None:
        self.lo = self.hi = None
        self.lo_open = self.hi_open = False
        self.allowed: set | None = None

    def add(self, op: str, value) -> None:
        if op in (">", ">="):
            if self.lo is None or value > self.lo or (value == self.lo and op == ">"):
                self.lo, self.lo_open = value, op == ">"
        elif op in ("<", "<="):
            if self.hi is None or value < self.hi or (value == self.hi and op == "<"):
                self.hi, self.hi_open = value, op == "<"
        elif op == "=":
            self.restrict({value})

    def restrict(self, values: set) -> None:
        self.allowed = values if self.allowed is None else self.allowed & values

    def admits(self, v) -> bool:
        if self.lo is not None and (v < self.lo or (v == self.lo and self.lo_open)):
            return False
        return not (self.hi is not None and (v > self.hi or (v == self.hi and self.hi_open)))

    def empty(self) -> bool:
        if self.allowed is not None:
            return not any(self.admits(v) for v in self.allowed)
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))


def _key(node: ir.Node):
    """(field, domain) for the comparisons this analysis understands, else None."""
    match node:
        case ir.Cmp(field=f) | ir.InSet(field=f) if f.kind is not Kind.FLOAT:
            return (f.name, "value")
        case ir.DayCmp(field=f, day=day):
            return (f.name, "relative" if day.offset is not None else "date")
        case ir.Bucket(salt=salt):
            return (salt, "bucket")  # two arms of one split, say, exclude each other
    return None


def _contradicts(items) -> bool:
    ranges: dict = defaultdict(_Range)
    for item in items:
        key = _key(item)
        if key is None:
            continue
        r = ranges[key]
        match item:
            case ir.Cmp(op=op, value=v):
                r.add(op, v)
            case ir.InSet(values=values):
                r.restrict(set(values))
            case ir.DayCmp(op=op, day=day) if op != "!=":
                r.add(op, day.offset if day.offset is not None else day.date)
            case ir.Bucket(low=low, high=high):
                r.add(">=", low)
                r.add("<", high)
    return any(r.empty() for r in ranges.values())


def _covers_everything(items) -> bool:
    tested_null: dict[str, set[bool]] = defaultdict(set)
    for item in items:
        match item:
            case ir.IsNull(field=f):
                tested_null[f.name].add(True)
            case ir.Not(item=ir.IsNull(field=f)):
                tested_null[f.name].add(False)
    if any(v == {True, False} for v in tested_null.values()):
        return True
    # `x <= c or x > c` (or any bounds meeting) on a field that is never null.
    bounds: dict[str, list] = defaultdict(list)
    for item in items:
        if isinstance(item, ir.Cmp) and not item.field.nullable and item.field.kind is not Kind.FLOAT:
            bounds[item.field.name].append((item.op, item.value))
    for cmps in bounds.values():
        below = [(v, op == "<=") for op, v in cmps if op in ("<", "<=")]
        above = [(v, op == ">=") for op, v in cmps if op in (">", ">=")]
        for hv, h_incl in below:
            for lv, l_incl in above:
                if lv < hv or (lv == hv and (h_incl or l_incl)):
                    return True
    return False
