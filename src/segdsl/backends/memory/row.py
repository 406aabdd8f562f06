"""The row evaluator: a rule compiled once into a Python function of one record.

Three-valued logic is compiled away by polarity: every node yields two two-valued
expressions, "is TRUE" and "is FALSE", so ``not`` swaps them and unknown is simply
neither. A record is a member exactly where the "is TRUE" expression holds.

The generated source contains no user data: every constant and column name is bound
in the function's namespace (``C0``, ``C1`` ...), never pasted into the text.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from segdsl import ir
from segdsl.schema.model import Field, Kind
from segdsl.ir.semantics import (
    ASCII_FOLD,
    COMPARE,
    NEGATE,
    TOP_KEY_ASCENDING,
    Cutoff,
    as_of_date,
    bucket,
    day_bound,
    day_of,
    day_ordinal,
    day_windows,
    fold_ascii,
    hours_before,
    instant_comparison,
    rank_cutoff,
)

if TYPE_CHECKING:
    from segdsl.data.tables import Table

#: Above this many nested and/or levels a subtree becomes a helper function, so the
#: generated source stays far below Python's limit of 200 nested parentheses.
_HOIST_DEPTH = 24

#: A segment whose rule is at most this deep (``ir.depth``, which counts nested segment
#: references too) is pasted inline where it is referenced, sparing a call per record.
_INLINE_DEPTH = 4

_PY_SPELLING = {operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=", operator.gt: ">",
                operator.ge: ">="}
#: Each comparison of :data:`segdsl.ir.semantics.COMPARE` as Python source.
_PY_OP = {op: _PY_SPELLING[fn] for op, fn in COMPARE.items()}


def rule_as_of_date(as_of: dt.datetime) -> dt.date:
    """The as-of date in UTC; a naive instant is refused (it would mean local time)."""
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be a timezone-aware datetime (see segdsl.ir.semantics.parse_as_of)")
    return as_of_date(as_of)


# ------------------------------------------------------------------ code generation

ATOM, NOT, AND, OR = range(4)  # precedence of a generated expression, tightest first


@attrs.frozen
class _E:
    src: str
    level: int


TRUE = _E("True", ATOM)
FALSE = _E("False", ATOM)


def _and(items: list[_E]) -> _E:
    if any(i is FALSE for i in items):
        return FALSE
    items = [i for i in items if i is not TRUE]
    if not items:
        return TRUE
    if len(items) == 1:
        return items[0]
    return _E(" and ".join(f"({i.src})" if i.level == OR else i.src for i in items), AND)


def _or(items: list[_E]) -> _E:
    if any(i is TRUE for i in items):
        return TRUE
    items = [i for i in items if i is not FALSE]
    if not items:
        return FALSE
    if len(items) == 1:
        return items[0]
    return _E(" or ".join(i.src for i in items), OR)


def _not(e: _E) -> _E:
    if e is TRUE:
        return FALSE
    if e is FALSE:
        return TRUE
    return _E(f"not {e.src}" if e.level <= NOT else f"not ({e.src})", NOT)


def _shallow(node: ir.Node, limit: int) -> bool:
    """``ir.depth(node) <= limit``, without walking further than ``limit`` levels (a
    chain of segments each referencing the last twice is exponential to expand)."""
    if limit <= 0:
        return False
    match node:
        case ir.And(items) | ir.Or(items):
            return all(_shallow(i, limit - 1) for i in items)
        case ir.Not(item):
            return _shallow(item, limit - 1)
        case ir.Member(rule=rule):
            return _shallow(rule, limit - 1)
    return True


class _Codegen:
    def __init__(self, as_of: dt.datetime, counts: Mapping[int, int], ranks: Mapping[int, Resolved] | None = None):
        self.as_of = as_of
        self.as_of_day = rule_as_of_date(as_of)
        #: Each ranking's population and cut-off (by the ranking's id), resolved before
        #: the rule is compiled (see ``resolve_rankings``).
        self.ranks = ranks or {}
        #: References to each segment (by its rule's id) in the rule and the segments it
        #: reaches (see ``ir.references``).
        self.counts = counts
        self.namespace: dict[str, Any] = {}
        self.helpers: list[str] = []
        self.members: dict[int, tuple[str, int | None]] = {}  # helper, slot in ``c``
        self.inlined: dict[int, _E] = {}
        self.n_vars = 0
        self.n_cached = 0  # segments whose result is kept per record, in ``c``

    def const(self, value: Any) -> str:
        name = f"C{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def helper(self, body: _E, prefix: str, cache: int | None = None) -> str:
        """A function of the record ``r`` and the per-record results ``c`` returning
        ``body``; with ``cache``, it also keeps its result in ``c[cache]``."""
        name = f"_{prefix}{len(self.helpers)}"
        if cache is None:
            self.helpers.append(f"def {name}(r, c):\n    return {body.src}\n")
        else:
            self.helpers.append(f"def {name}(r, c):\n    v = c[{cache}] = {body.src}\n    return v\n")
        return name

    # The two polarities. ``depth`` counts enclosing and/or levels in the current function.

    def true(self, node: ir.Node, depth: int = 0) -> _E:
        match node:
            case ir.And(items) | ir.Or(items) if depth >= _HOIST_DEPTH:
                return _E(f"{self.helper(self.true(node), 'h')}(r, c)", ATOM)
            case ir.And(items):
                return _and([self.true(i, depth + 1) for i in items])
            case ir.Or(items):
                return _or([self.true(i, depth + 1) for i in items])
            case ir.Not(item):
                return self.false(item, depth)
            case ir.Const(value):
                return TRUE if value else FALSE
            case ir.Member():
                return self.member(node, depth)
            case ir.Rank():
                return self.rank(node, negate=False)
            case ir.Sequence():
                return self.sequence(node)
        return self.predicate(node, negate=False)

    def false(self, node: ir.Node, depth: int = 0) -> _E:
        match node:
            case ir.And(items) | ir.Or(items) if depth >= _HOIST_DEPTH:
                return _E(f"{self.helper(self.false(node), 'h')}(r, c)", ATOM)
            case ir.And(items):
                return _or([self.false(i, depth + 1) for i in items])
            case ir.Or(items):
                return _and([self.false(i, depth + 1) for i in items])
            case ir.Not(item):
                return self.true(item, depth)
            case ir.Const(value):
                return FALSE if value else TRUE
            case ir.Member():
                # Membership is two-valued: not a member whenever the rule is not TRUE.
                return _not(self.member(node, depth))
            case ir.Rank():
                return self.rank(node, negate=True)
            case ir.Sequence():
                return _not(self.sequence(node))  # two-valued too
        return self.predicate(node, negate=True)

    def sequence(self, node: ir.Sequence) -> _E:
        """An event sequence, two-valued: the profile's column for it (see
        :func:`segdsl.backends.memory.profile.sequence_field`) holds its truth."""
        return _E(f"r[{self.const(node.column)}] is True", ATOM)

    def member(self, node: ir.Member, depth: int) -> _E:
        """The segment's "is TRUE" test, which is two-valued: pasted inline when the
        rule is shallow, else a call of a helper generated once. A helper segment the
        rule reaches by more than one reference keeps its result for the record in
        ``c``, so a chain of segments each testing the last twice costs one call per
        segment, not 2**n."""
        # Keyed by the rule object: the checker links one object per segment.
        key = id(node.rule)
        if depth + _INLINE_DEPTH < _HOIST_DEPTH and _shallow(node.rule, _INLINE_DEPTH):
            # Nothing in it is hoisted; its variables are fresh names of this function,
            # and pasting it twice reassigns them before each read.
            if key not in self.inlined:
                self.inlined[key] = self.true(node.rule, depth)
            return self.inlined[key]
        if key not in self.members:
            slot = None
            if self.counts.get(key, 0) > 1:
                slot, self.n_cached = self.n_cached, self.n_cached + 1
            self.members[key] = (self.helper(self.true(node.rule), "seg", slot), slot)
        name, slot = self.members[key]
        if slot is None:
            return _E(f"{name}(r, c)", ATOM)
        return _E(f"(c[{slot}] if c[{slot}] is not None else {name}(r, c))", ATOM)

    def rank(self, node: ir.Rank, negate: bool) -> _E:
        """A ranking against its resolved cut-off: TRUE for a population member whose
        value is at least as good as the cut-off (for top N, whose (value, key) is);
        FALSE outside the population and below the cut-off; unknown for a member whose
        value is NULL."""
        resolved = self.ranks.get(id(node))
        if resolved is None:
            raise ValueError("a ranking needs its population: pass the table to compile_row")
        key = f"r[{self.const(resolved.key_column)}]"
        inside = _E(f"{key} in {self.const(resolved.population)}", ATOM)
        cut = resolved.cutoff
        if cut is None:  # no population member has a value: unknown for each of them
            return _not(inside) if negate else FALSE
        v = f"v{self.n_vars}"
        self.n_vars += 1
        value = f"{self.const(as_of_date)}({v})" if node.days and node.field.kind is Kind.TIMESTAMP else v
        better, equal = ("<" if node.days else ">"), ("<=" if node.days else ">=")
        if node.limit is None:
            test = _E(f"{value} {equal} {self.const(cut.value)}", ATOM)
        else:
            tie = "<=" if TOP_KEY_ASCENDING else ">="
            test = _E(f"{value} {better} {self.const(cut.value)} or ({value} == {self.const(cut.value)} "
                      f"and {key} {tie} {self.const(cut.key)})", OR)
        guard = _E(f"({v} := r[{self.const(node.field.column)}]) is not None", ATOM)
        if negate:
            return _or([_not(inside), _and([guard, _not(test)])])
        return _and([inside, guard, test])

    # Predicates: a guard that the field is not NULL, then a two-valued test on ``v``.

    def predicate(self, node: ir.Node, negate: bool) -> _E:
        match node:
            case ir.IsNull(field):
                return _E(f"r[{self.const(field.column)}] is {'not ' if negate else ''}None", ATOM)
            case ir.IsTrue(field):
                return _E(f"r[{self.const(field.column)}] is {negate is False}", ATOM)
            case ir.Cmp(op=op, value=value) if (NEGATE[op] if negate else op) == "=" and value is not None:
                # ``None == value`` is False, so the test needs no guard.
                return _E(f"r[{self.const(node.field.column)}] == {self.const(value)}", ATOM)
            case ir.Bucket(field=key, salt=salt, low=low, high=high):
                # Keys are never NULL: two-valued, no guard.
                test = (f"{self.const(low)} <= {self.const(bucket)}({self.const(salt)}, r[{self.const(key.column)}])"
                        f" < {self.const(high)}")
                return _E(f"not ({test})", NOT) if negate else _E(test, ATOM)
            case ir.InSet(values=values) if not negate and None not in values:
                return _E(f"r[{self.const(node.field.column)}] in {self.const(frozenset(values))}", ATOM)
        if node.__class__ is ir.FieldCmp:
            return self.field_cmp(node, negate)
        v = f"v{self.n_vars}"
        self.n_vars += 1
        test = self.test(node, v, negate)
        if test is FALSE:
            return FALSE
        guard = _E(f"({v} := r[{self.const(node.field.column)}]) is not None", ATOM)  # type: ignore[union-attr]
        return _and([guard, test])

    def test(self, node: ir.Node, v: str, negate: bool) -> _E:
        match node:
            case ir.Cmp(op=op, value=value):
                op = NEGATE[op] if negate else op
                return _E(f"{v} {_PY_OP[op]} {self.const(value)}", ATOM)
            case ir.InSet(values=values):
                return _E(f"{v} {'not in' if negate else 'in'} {self.const(frozenset(values))}", ATOM)
            case ir.TextMatch(kind=kind, text=text, ignore_case=fold):
                t = self.text_test(kind, text, fold, v)
                return _not(t) if negate else t
            case ir.TagMatch(kind=kind, values=values):
                return self.tag_test(kind, values, v, negate)
            case ir.DayCmp(field=field):
                return self.day_test(node, field, v, negate)
            case ir.InstantCmp(op=op, hours=hours):
                bound = instant_comparison(NEGATE[op] if negate else op, hours_before(self.as_of, hours))
                if isinstance(bound, bool):
                    return TRUE if bound else FALSE
                return _E(f"{v} {_PY_OP[bound[0]]} {self.const(bound[1])}", ATOM)
        raise ValueError(f"cannot evaluate {type(node).__name__}")

    def field_cmp(self, node: ir.FieldCmp, negate: bool) -> _E:
        """Both values non-NULL, then compared: Python compares int, Decimal, float, text,
        dates and aware instants exactly; with ``days``, their UTC dates."""
        a, b = f"v{self.n_vars}", f"v{self.n_vars + 1}"
        self.n_vars += 2
        guards = [_E(f"({v} := r[{self.const(f.column)}]) is not None", ATOM)
                  for v, f in ((a, node.field), (b, node.other))]
        op = _PY_OP[NEGATE[node.op] if negate else node.op]
        if node.days:
            day = self.const(day_of)
            test = _E(f"{day}({a}) {op} {day}({b})", ATOM)
        else:
            test = _E(f"{a} {op} {b}", ATOM)
        return _and([*guards, test])

    def text_test(self, kind: str, text: str, fold: bool, v: str) -> _E:
        if kind not in ("contains", "starts", "ends"):
            raise ValueError(f"unknown text match {kind!r}")
        if not text:
            return TRUE  # every text contains, starts and ends with the empty text
        if not fold:
            needle = self.const(text)
            return _E(f"{needle} in {v}" if kind == "contains" else
                      f"{v}.{'startswith' if kind == 'starts' else 'endswith'}({needle})", ATOM)
        needle = self.const(fold_ascii(text))
        # Folding maps one character to one character, so for `starts`/`ends` only as
        # many characters as the needle has need folding. ``fold_ascii`` written inline:
        # an ASCII text folds exactly as ``str.lower`` does (``isascii`` is O(1));
        # anything else goes through the table.
        if kind == "contains":
            part = v
        else:
            n = self.const(len(text))
            part = f"{v}[:{n}]" if kind == "starts" else f"{v}[-{n}:]"
        folded = f"({part}.lower() if {v}.isascii() else {part}.translate({self.const(ASCII_FOLD)}))"
        return _E(f"{needle} in {folded}" if kind == "contains" else f"{folded} == {needle}", ATOM)

    def tag_test(self, kind: str, values: tuple[str, ...], v: str, negate: bool) -> _E:
        if kind == "has" and len(values) != 1:
            raise ValueError("`has` tests exactly one tag")
        if len(values) == 1 and kind in ("has", "any", "all"):
            return _E(f"{self.const(values[0])} {'not in' if negate else 'in'} {v}", ATOM)
        tags = self.const(frozenset(values))
        if kind == "any":
            return _E(f"{tags}.isdisjoint({v})", ATOM) if negate else _E(f"not {tags}.isdisjoint({v})", NOT)
        if kind == "all":
            t = _E(f"{tags}.issubset({v})", ATOM)
            return _not(t) if negate else t
        raise ValueError(f"unknown tag match {kind!r}")

    def day_test(self, node: ir.DayCmp, field: Field, v: str, negate: bool) -> _E:
        if field.kind not in (Kind.DATE, Kind.TIMESTAMP):
            raise ValueError(f"day comparison on {field.kind.value} field `{field.name}`")
        timestamp = field.kind is Kind.TIMESTAMP
        parts = []
        for lo, hi in day_windows(NEGATE[node.op] if negate else node.op, day_ordinal(node.day, self.as_of_day)):
            bounds = []
            if lo is not None:
                bounds.append(_E(f"{v} >= {self.const(day_bound(lo, timestamp))}", ATOM))
            if hi is not None:
                bounds.append(_E(f"{v} < {self.const(day_bound(hi, timestamp))}", ATOM))
            parts.append(_and(bounds))
        return _or(parts)


@attrs.frozen
class Resolved:
    """A ranking's population (its members' keys) and cut-off, for one table (or
    database) and as-of: what the row evaluator compares a record with."""

    key_column: str
    population: frozenset
    cutoff: Cutoff | None


def resolve_rankings(rule: ir.Node, as_of: dt.datetime, table: Table | None) -> dict[int, Resolved]:
    """Each ranking ``rule`` reaches, resolved over ``table``'s records: its population
    judged record by record by this evaluator, its cut-off by
    :func:`segdsl.ir.semantics.rank_cutoff`. Rankings inside a population are resolved
    before the ranking that reads it."""
    found = ir.rankings(rule)
    if not found:
        return {}
    if table is None:
        raise ValueError("a ranking needs its population: pass the table to compile_row")
    records = table.records()
    key = table.schema.key.column
    done: dict[int, Resolved] = {}
    for rank in found:
        if rank.population is None:
            inside = records
        else:
            source, namespace = _source(rank.population, as_of, done)
            test = _load(source, namespace)
            inside = [r for r in records if test(r)]
        col = rank.field.column
        day = rank.days and rank.field.kind is Kind.TIMESTAMP
        pairs = [(as_of_date(r[col]) if day else r[col], r[key]) for r in inside if r[col] is not None]
        done[id(rank)] = Resolved(key, frozenset(r[key] for r in inside), rank_cutoff(pairs, rank))
    return done


def compile_source(rule: ir.Node, as_of: dt.datetime, table: Table | None = None,
                   ranks: Mapping[int, Resolved] | None = None) -> tuple[str, dict[str, Any]]:
    """The generated module text and the namespace it runs in (for tests and debugging)."""
    return _source(rule, as_of, resolve_rankings(rule, as_of, table) if ranks is None else ranks)


def _source(rule: ir.Node, as_of: dt.datetime, ranks: Mapping[int, Resolved]) -> tuple[str, dict[str, Any]]:
    gen = _Codegen(as_of, ir.references(rule)[1], ranks)  # refuses a naive instant
    body = gen.true(rule)
    # ``c``: the results of the segments kept per record (see _Codegen.member).
    results = f"[None] * {gen.n_cached}" if gen.n_cached else "None"
    head = f"    c = {results}\n" if gen.helpers else ""
    source = "".join(gen.helpers) + f"def _rule(r):\n{head}    return {body.src}\n"
    return source, gen.namespace


def compile_row(rule: ir.Node, as_of: dt.datetime, table: Table | None = None, *,
                ranks: Mapping[int, Resolved] | None = None) -> Callable[[Mapping[str, Any]], bool]:
    """A function of one record (a mapping keyed by column, values as
    :meth:`segdsl.data.tables.Table.records` gives them) that is True exactly where ``rule``
    is TRUE at ``as_of``. A rule with a ranking needs the ``table`` it ranks: each
    ranking's cut-off is resolved over its records first (see ``resolve_rankings``), or
    ``ranks``, resolved already (by ranking id, e.g. over a database)."""
    return _load(*compile_source(rule, as_of, table, ranks))


def _load(source: str, namespace: dict[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    namespace = dict(namespace, __builtins__={})
    exec(compile(source, "<segdsl rule>", "exec"), namespace)
    fn = namespace["_rule"]
    fn.source = source
    return fn


__all__ = ["Resolved", "compile_row", "compile_source", "resolve_rankings", "rule_as_of_date"]
