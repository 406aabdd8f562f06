"""The columnar evaluator: a rule over a whole :class:`~segdsl.data.tables.Table` with numpy.

Like the row evaluator it works by polarity: each node gives a mask of rows where it is
TRUE or, only where a ``not`` or a membership needs it, a mask where it is FALSE; rows
in neither are unknown. Comparisons run on the exact encodings of :mod:`segdsl.data.tables`:
decimals as scaled integers against exact integer bounds, timestamps as microseconds.

Two views are added to a table's columns on first use and kept while the column lives:
enum values as small integer codes (their index among the type's values) and tag sets
as bitsets over the column's distinct tags. ``and``/``or`` evaluate their vectorised
items first and test the per-value Python predicates (text matches, text ordering)
only on the rows the other items left undecided.
"""

from __future__ import annotations

import datetime as dt
import weakref
from fractions import Fraction
from typing import Any

import numpy as np

from segdsl import ir
from segdsl.backends.memory.row import rule_as_of_date
from segdsl.data.tables import Column, Table, date_code, timestamp_code
from segdsl.ir.semantics import (
    COMPARE,
    FIXED_POINT,
    INT64_MAX,
    INT64_MIN,
    TOP_KEY_ASCENDING,
    cutoff_index,
    bucket,
    day_bound,
    day_ordinal,
    day_start,
    day_windows,
    fixed_point_comparison,
    fold_ascii,
    hours_before,
    instant_comparison,
    integer_comparison,
    scaled,
)
from segdsl.schema.model import Field, Kind

#: Up to this many values, ``in [...]`` on text is a few vectorised equality tests.
_SMALL_SET = 16
#: Tag bitsets are one uint64 per row, so a column with more distinct tags is tested
#: value by value instead.
_MAX_TAGS = 64

# Cost ranks for ordering the items of an and/or: vectorised on numbers, vectorised
# on Python objects, a Python loop per value.
_CHEAP, _OBJECT, _LOOP = 0, 1, 2


def evaluate(rule: ir.Node, table: Table, as_of: dt.datetime) -> np.ndarray:
    """The member mask: True for each row where ``rule`` is TRUE at ``as_of``."""
    return _Columnar(table, as_of).test(rule, True, None)


def member_keys(rule: ir.Node, table: Table, as_of: dt.datetime) -> list[Any]:
    """The key values of the members, in ascending key order."""
    key = table.schema.key
    col = table.columns[key.column]
    keys = col.values[evaluate(rule, table, as_of)]
    if key.kind is Kind.INT:
        return np.sort(keys).tolist()
    return sorted(keys.tolist())  # text keys: Python's code-point order


class _Columnar:
    """Masks are over all rows when ``rows`` is None, else over ``rows`` (row indices)
    only, in that order. Every mask returned is a fresh array the caller may modify."""

    def __init__(self, table: Table, as_of: dt.datetime):
        self.table = table
        self.n = table.n_rows
        self.as_of = as_of
        self.as_of_day = rule_as_of_date(as_of)
        self.members: dict[tuple[str, int], np.ndarray] = {}
        self.ranks: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def column(self, field: Field) -> Column:
        col = self.table.columns.get(field.column)
        if col is None:
            raise KeyError(f"the table has no column `{field.column}` for field `{field.name}`")
        return col

    def test(self, node: ir.Node, polarity: bool, rows: np.ndarray | None) -> np.ndarray:
        """Where ``node`` is TRUE (``polarity``) or FALSE (not ``polarity``)."""
        match node:
            case ir.And(items):
                # TRUE when every item is TRUE; FALSE when any item is FALSE.
                return self.fold(items, polarity, rows, every=polarity)
            case ir.Or(items):
                return self.fold(items, polarity, rows, every=not polarity)
            case ir.Not(item):
                return self.test(item, not polarity, rows)
            case ir.Const(value):
                return np.full(self.size(rows), bool(value) is polarity)
            case ir.Member():
                m = self.member(node)
                # Membership is two-valued: not a member wherever the rule is not TRUE.
                if polarity:
                    return m.copy() if rows is None else m[rows]
                return ~m if rows is None else ~m[rows]
            case ir.FieldCmp():
                return self.field_cmp(node, polarity, rows)
            case ir.Rank():
                m = self.rank(node)[0 if polarity else 1]
                return m.copy() if rows is None else m[rows]
            case ir.Bucket(field=key, salt=salt, low=low, high=high):
                # Never unknown: keys are never NULL.
                b = _buckets(self.column(key), salt)
                b = b if rows is None else b[rows]
                inside = (b >= low) & (b < high)
                return inside if polarity else ~inside
            case ir.Sequence():
                # Two-valued: the profile's column holds its truth (profile.sequence_field).
                col = self.table.columns.get(node.column)
                if col is None:
                    raise KeyError("the table has no column for an event sequence; build it with build_profile")
                m = col.values.astype(bool) if rows is None else col.values[rows].astype(bool)
                return m if polarity else ~m
            case ir.IsNull(field):
                # Never unknown: TRUE exactly on the NULL rows.
                valid = self.column(field).valid
                valid = valid if rows is None else valid[rows]
                return ~valid if polarity else valid.copy()
        return self.leaf(node, polarity, rows)

    def size(self, rows: np.ndarray | None) -> int:
        return self.n if rows is None else len(rows)

    def fold(self, items: tuple[ir.Node, ...], polarity: bool, rows: np.ndarray | None,
             every: bool) -> np.ndarray:
        """AND (``every``) or OR of the items' masks. Costly items are tested only on the
        rows still undecided: TRUE so far for AND, not yet TRUE for OR."""
        # Stable: items of equal cost keep their written order.
        ordered = sorted(((self.cost(i), i) for i in items), key=lambda ci: ci[0])
        out = self.test(ordered[0][1], polarity, rows)
        for cost, item in ordered[1:]:
            if cost == _CHEAP:
                m = self.test(item, polarity, rows)
                if every:
                    out &= m
                else:
                    out |= m
                continue
            open_ = np.flatnonzero(out if every else ~out)
            if not len(open_):
                break
            sub = open_ if rows is None else rows[open_]
            out[open_] = self.test(item, polarity, sub)
        return out

    def cost(self, node: ir.Node) -> int:
        match node:
            case ir.And(items) | ir.Or(items):
                return max(self.cost(i) for i in items)
            case ir.Not(item):
                return self.cost(item)
            case ir.TextMatch():
                return _LOOP
            case ir.TagMatch(field):
                return _CHEAP if _tag_bits(self.column(field)) is not None else _LOOP
            case ir.Cmp(field, op):
                col = self.column(field)
                if op not in ("=", "!="):
                    return _LOOP if col.values.dtype == object else _CHEAP
                if col.values.dtype != object or _enum_codes(field, col) is not None:
                    return _CHEAP
                return _OBJECT
            case ir.InSet(field, values):
                col = self.column(field)
                if col.values.dtype != object or _enum_codes(field, col) is not None:
                    return _CHEAP
                return _LOOP if len(values) > _SMALL_SET else _OBJECT
            case ir.FieldCmp(field):
                return _OBJECT if self.column(field).values.dtype == object else _CHEAP
        return _CHEAP

    def member(self, node: ir.Member) -> np.ndarray:
        key = (node.segment, id(node.rule))
        if key not in self.members:
            self.members[key] = self.test(node.rule, True, None)
        return self.members[key]

    def rank(self, node: ir.Rank) -> tuple[np.ndarray, np.ndarray]:
        """Where the ranking is TRUE and where it is FALSE (see ``ir.Rank``), over all
        rows, computed once per evaluation from the cut-off
        (:func:`segdsl.ir.semantics.cutoff_index`)."""
        if id(node) in self.ranks:
            return self.ranks[id(node)]
        pop = np.ones(self.n, dtype=bool) if node.population is None else self.test(node.population, True, None)
        col = self.column(node.field)
        at = np.flatnonzero(pop & col.valid)
        values = ranked_values(node, col.values[at])
        hit = np.zeros(len(at), dtype=bool)
        m = cutoff_index(len(at), node.percent, node.limit)
        if m is not None:
            ordered = np.sort(values)
            cut = ordered[m] if node.days else ordered[len(ordered) - 1 - m]
            better = values < cut if node.days else values > cut
            hit = better | (values == cut)
            if node.limit is not None:
                # Ties at the cut-off: the smallest keys take the places left.
                tied = np.flatnonzero(values == cut)
                keys = self.table.columns[self.table.schema.key.column].values[at[tied]]
                places = m + 1 - int(better.sum())
                last = np.sort(keys)[places - 1] if TOP_KEY_ASCENDING else np.sort(keys)[len(keys) - places]
                won = np.asarray(keys <= last if TOP_KEY_ASCENDING else keys >= last, dtype=bool)
                hit = better.copy()
                hit[tied[won]] = True
        true = np.zeros(self.n, dtype=bool)
        true[at[hit]] = True
        false = ~pop
        false[at[~hit]] = True
        self.ranks[id(node)] = (true, false)
        return true, false

    def leaf(self, node: ir.Node, polarity: bool, rows: np.ndarray | None) -> np.ndarray:
        """A predicate: TRUE where the value is non-NULL and the test holds; FALSE
        where it is non-NULL and the test fails."""
        field = node.field  # type: ignore[attr-defined]
        col = self.column(field)
        codes = None
        if isinstance(node, ir.InSet) or (isinstance(node, ir.Cmp) and node.op in ("=", "!=")):
            codes = _enum_codes(field, col)
        bits = _tag_bits(col) if isinstance(node, ir.TagMatch) else None
        if rows is not None:
            col = Column(col.values[rows], col.valid[rows])
            if codes is not None:
                codes = codes[rows]
            if bits is not None:
                bits = (bits[0][rows], bits[1])
        match node:
            case ir.IsTrue():
                cond = col.values.astype(bool)
            case ir.Cmp(_, op, value):
                cond = _enum_compare(field, codes, op, value) if codes is not None else _compare(field, col, op, value)
            case ir.InSet(_, values):
                cond = _enum_in_set(field, codes, values) if codes is not None else _in_set(field, col, values)
            case ir.TextMatch(_, kind, text, fold):
                cond = _text_match(col, kind, text, fold)
            case ir.TagMatch(_, kind, values):
                cond = _bits_match(bits, kind, values) if bits is not None else _tag_match(col, kind, values)
            case ir.DayCmp():
                cond = self.day_cmp(node, field, col)
            case ir.InstantCmp(_, op, hours):
                bound = instant_comparison(op, hours_before(self.as_of, hours))
                if isinstance(bound, bool):
                    cond = np.full(len(col.values), bound, dtype=bool)
                else:
                    cond = COMPARE[bound[0]](col.values, _encode_constant(field, bound[1]))
            case _:
                raise ValueError(f"cannot evaluate {type(node).__name__}")
        if not polarity:
            cond = ~cond
        elif codes is not None and (isinstance(node, ir.InSet) or node.op == "="):  # type: ignore[attr-defined]
            return cond  # NULL is code -1, which no value has: already FALSE
        if not _no_nulls(self.column(field)):
            cond &= col.valid
        return cond

    def field_cmp(self, node: ir.FieldCmp, polarity: bool, rows: np.ndarray | None) -> np.ndarray:
        """Two columns compared where both are non-NULL: numbers on their exact encodings
        (scaled integers divided, never multiplied), dates as day numbers, instants as
        microseconds (their UTC days with ``days``), text and enums as strings."""
        f, g = node.field, node.other
        a, b = self.column(f), self.column(g)
        if rows is not None:
            a, b = Column(a.values[rows], a.valid[rows]), Column(b.values[rows], b.valid[rows])
        op = node.op if polarity else ir.NEGATE[node.op]
        valid = a.valid & b.valid
        x, y = a.values, b.values
        if node.days:
            cond = COMPARE[op](_day_numbers(f, x), _day_numbers(g, y))
        elif f.kind in (Kind.INT, Kind.DECIMAL) and g.kind in (Kind.INT, Kind.DECIMAL):
            swapped, m, op = fixed_point_comparison(op, _places(f), _places(g))
            if swapped:
                x, y = y, x
            if m == 1:
                cond = COMPARE[op](x, y)
            else:
                # NULL rows hold placeholders; only the valid rows count.
                floor = np.floor_divide(y, m)
                ceil = floor + (np.mod(y, m) != 0)
                parts = [COMPARE[o](x, floor if r == "floor" else ceil) for o, r in FIXED_POINT[op]]
                cond = parts[0] if len(parts) == 1 else (parts[0] & parts[1] if op == "=" else parts[0] | parts[1])
        elif x.dtype == object or y.dtype == object:
            cond = np.zeros(len(x), dtype=bool)
            cond[valid] = [COMPARE[op](p, q) for p, q in zip(x[valid], y[valid])]
        else:
            cond = COMPARE[op](x, y)
        return np.asarray(cond, dtype=bool) & valid

    def day_cmp(self, node: ir.DayCmp, field: Field, col: Column) -> np.ndarray:
        if field.kind not in (Kind.DATE, Kind.TIMESTAMP):
            raise ValueError(f"day comparison on {field.kind.value} field `{field.name}`")
        timestamp = field.kind is Kind.TIMESTAMP
        out: np.ndarray | None = None
        for lo, hi in day_windows(node.op, day_ordinal(node.day, self.as_of_day)):
            part: np.ndarray | None = None
            if lo is not None:
                part = col.values >= _encode_constant(field, day_bound(lo, timestamp))
            if hi is not None:
                below = col.values < _encode_constant(field, day_bound(hi, timestamp))
                part = below if part is None else np.logical_and(part, below, out=part)
            if part is None:
                part = np.ones(len(col.values), dtype=bool)
            out = part if out is None else np.logical_or(out, part, out=out)
        return np.zeros(len(col.values), dtype=bool) if out is None else out


def ranked_values(node: ir.Rank, values: np.ndarray) -> np.ndarray:
    """A column's non-NULL values as a ranking compares them: as stored (scaled
    decimals, day and microsecond codes), or for ``days_since`` the UTC day."""
    if node.days and node.field.kind is Kind.TIMESTAMP:
        return values // _MICROS_PER_DAY
    return values


_MICROS_PER_DAY = 86_400 * 1_000_000


# ------------------------------------------------------------------ column views

# Keyed by column, checked against the array they were computed from: a column whose
# arrays are replaced gets new views (a table's arrays are never modified in place).
_CODES: weakref.WeakKeyDictionary[Column, tuple] = weakref.WeakKeyDictionary()
_BITS: weakref.WeakKeyDictionary[Column, tuple] = weakref.WeakKeyDictionary()
_NO_NULLS: weakref.WeakKeyDictionary[Column, tuple] = weakref.WeakKeyDictionary()


_BUCKETS: weakref.WeakKeyDictionary[Column, tuple] = weakref.WeakKeyDictionary()


def _buckets(col: Column, salt: str) -> np.ndarray:
    """Every row's bucket under ``salt`` (:func:`segdsl.ir.semantics.bucket` of its
    key), computed once per key column and salt."""
    cached = _BUCKETS.get(col)
    if cached is None or cached[0] is not col.values:
        cached = (col.values, {})
        _BUCKETS[col] = cached
    by_salt = cached[1]
    if salt not in by_salt:
        by_salt[salt] = np.fromiter((bucket(salt, k) for k in col.values.tolist()), dtype=np.int64,
                                    count=len(col.values))
    return by_salt[salt]


def _no_nulls(col: Column) -> bool:
    """Whether every value of the column is non-NULL (then no mask needs ``valid``)."""
    cached = _NO_NULLS.get(col)
    if cached is None or cached[0] is not col.valid:
        cached = (col.valid, bool(col.valid.all()))
        _NO_NULLS[col] = cached
    return cached[1]


def _enum_codes(field: Field, col: Column) -> np.ndarray | None:
    """The enum column as codes: the index of each value among ``field.type.values``,
    -1 where NULL. None when the column is not an enum of strings, or holds a value
    outside the type (then the values are compared as text)."""
    if field.kind is not Kind.ENUM or col.values.dtype != object:
        return None
    vocab = tuple(field.type.values or ())
    cached = _CODES.get(col)
    if cached is not None and cached[0] is col.values and cached[1] == vocab:
        return cached[2]
    dtype = np.int8 if len(vocab) < 127 else np.int32
    codes = np.full(len(col.values), -1, dtype=dtype)
    for i, v in enumerate(vocab):
        codes[col.values == v] = i
    result = None if np.any(col.valid & (codes < 0)) else codes
    _CODES[col] = (col.values, vocab, result)
    return result


def enum_codes(field: Field, col: Column) -> np.ndarray | None:
    """The code view of an enum column (see :func:`_enum_codes`), for callers that want
    the same encoding as the evaluator."""
    return _enum_codes(field, col)


def _tag_bits(col: Column) -> tuple[np.ndarray, dict[str, int]] | None:
    """A tags column as one uint64 bitset per row over its distinct tags (NULL and the
    empty set are 0), with each tag's bit; None for more than ``_MAX_TAGS`` tags."""
    if col.values.dtype != object:
        return None
    cached = _BITS.get(col)
    if cached is not None and cached[0] is col.values:
        return cached[1]
    sets = col.values[col.valid]
    vocab = sorted(frozenset().union(*sets)) if len(sets) else []
    result = None
    if len(vocab) <= _MAX_TAGS:
        bit = {t: 1 << i for i, t in enumerate(vocab)}
        sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        flat = np.fromiter((bit[t] for s in sets for t in s), dtype=np.uint64, count=int(sizes.sum()))
        owner = np.repeat(np.flatnonzero(col.valid), sizes)
        bits = np.zeros(len(col.values), dtype=np.uint64)
        np.bitwise_or.at(bits, owner, flat)
        result = (bits, bit)
    _BITS[col] = (col.values, result)
    return result


def tag_bits(col: Column) -> tuple[np.ndarray, dict[str, int]] | None:
    """The bitset view of a tags column (see :func:`_tag_bits`)."""
    return _tag_bits(col)


def _enum_compare(field: Field, codes: np.ndarray, op: str, value: Any) -> np.ndarray:
    vocab = tuple(field.type.values or ())
    hit = codes == vocab.index(value) if value in vocab else np.zeros(len(codes), dtype=bool)
    return hit if op == "=" else ~hit


def _enum_in_set(field: Field, codes: np.ndarray, values: tuple[Any, ...]) -> np.ndarray:
    vocab = tuple(field.type.values or ())
    wanted = sorted({vocab.index(v) for v in values if v in vocab})
    if len(wanted) <= _SMALL_SET // 2:
        # A few equality tests on int8 are several times faster than a table lookup.
        out = np.zeros(len(codes), dtype=bool)
        for k in wanted:
            out |= codes == k
        return out
    table = np.zeros(len(vocab) + 1, dtype=bool)  # the last entry is code -1, NULL
    table[wanted] = True
    return table[codes]


def _bits_match(bits: tuple[np.ndarray, dict[str, int]], kind: str, values: tuple[str, ...]) -> np.ndarray:
    row_bits, bit = bits
    if kind == "has" and len(values) != 1:
        raise ValueError("`has` tests exactly one tag")
    if kind not in ("has", "any", "all"):
        raise ValueError(f"unknown tag match {kind!r}")
    if kind == "all" and any(v not in bit for v in values):
        return np.zeros(len(row_bits), dtype=bool)  # no row holds a tag no row holds
    want = np.uint64(sum(bit.get(v, 0) for v in frozenset(values)))
    if kind == "all":
        return (row_bits & want) == want
    return (row_bits & want) != 0


# ------------------------------------------------------------------ comparisons


def _encode_constant(field: Field, value: Any) -> Any:
    """A constant in the column's encoding, for the kinds compared directly."""
    match field.kind:
        case Kind.DATE:
            return np.int64(date_code(value))
        case Kind.TIMESTAMP:
            return np.int64(timestamp_code(value))
        case Kind.FLOAT:
            return float(value)
        case Kind.BOOL:
            return bool(value)
    return value


def _places(field: Field) -> int:
    """The decimal places of a number column's stored units (0 for an integer)."""
    return (field.type.scale or 0) if field.kind is Kind.DECIMAL else 0


def _day_numbers(field: Field, values: np.ndarray) -> np.ndarray:
    """A date or timestamp column as UTC day numbers since 1970-01-01 (dates are stored
    as those; instants as microseconds since the epoch)."""
    if field.kind is Kind.TIMESTAMP:
        return np.floor_divide(values, timestamp_code(day_start(dt.date(1970, 1, 2))))
    return values


def _scaled(field: Field, value: Any) -> Fraction:
    """An int or decimal constant in units of the column's last decimal place, exactly."""
    return scaled(value, (field.type.scale or 0) if field.kind is Kind.DECIMAL else 0)


def _compare(field: Field, col: Column, op: str, value: Any) -> np.ndarray:
    if field.kind in (Kind.INT, Kind.DECIMAL):
        return _int_compare(col.values, op, _scaled(field, value))
    if col.values.dtype == object:
        # Text and enums: = and != vectorise exactly; anything else compares only the
        # non-null strings, as the row evaluator does.
        if op in ("=", "!="):
            return np.asarray(COMPARE[op](col.values, value), dtype=bool)
        out = np.zeros(len(col.values), dtype=bool)
        out[col.valid] = [COMPARE[op](v, value) for v in col.values[col.valid]]
        return out
    return COMPARE[op](col.values, _encode_constant(field, value))


def _int_compare(values: np.ndarray, op: str, c: Fraction) -> np.ndarray:
    """``x op c`` for integers x and an exact rational c, as integer bounds (see
    :mod:`segdsl.ir.semantics`)."""
    bound = integer_comparison(op, c)
    if isinstance(bound, bool):
        return np.full(len(values), bound, dtype=bool)
    op, k = bound
    match op:
        case ">=":
            return _at_least(values, k)
        case "<=":
            return _below(values, k + 1)
        case "<":
            return _below(values, k)
        case "=":
            return _equal(values, Fraction(k))
    if INT64_MIN <= k <= INT64_MAX:
        return values != np.int64(k)
    return np.ones(len(values), dtype=bool)


def _at_least(values: np.ndarray, bound: int) -> np.ndarray:
    if bound <= INT64_MIN:
        return np.ones(len(values), dtype=bool)
    if bound > INT64_MAX:
        return np.zeros(len(values), dtype=bool)
    return values >= np.int64(bound)


def _below(values: np.ndarray, bound: int) -> np.ndarray:
    if bound <= INT64_MIN:
        return np.zeros(len(values), dtype=bool)
    if bound > INT64_MAX:
        return np.ones(len(values), dtype=bool)
    return values < np.int64(bound)


def _equal(values: np.ndarray, c: Fraction) -> np.ndarray:
    if c.denominator != 1 or not INT64_MIN <= c.numerator <= INT64_MAX:
        return np.zeros(len(values), dtype=bool)  # more decimal places than the column holds
    return values == np.int64(c.numerator)


def _in_set(field: Field, col: Column, values: tuple[Any, ...]) -> np.ndarray:
    if field.kind in (Kind.INT, Kind.DECIMAL):
        exact = [s.numerator for s in (_scaled(field, v) for v in values)
                 if s.denominator == 1 and INT64_MIN <= s.numerator <= INT64_MAX]
        return np.isin(col.values, np.array(exact, dtype=np.int64))
    if col.values.dtype != object:
        return np.isin(col.values, np.array([_encode_constant(field, v) for v in values]))
    if len(values) <= _SMALL_SET:
        out = np.zeros(len(col.values), dtype=bool)
        for v in values:
            out |= np.asarray(col.values == v, dtype=bool)
        return out
    members = frozenset(values)
    return np.fromiter((v in members for v in col.values), dtype=bool, count=len(col.values))


# ------------------------------------------------------------------ text and tags


def _text_match(col: Column, kind: str, text: str, fold: bool) -> np.ndarray:
    needle = fold_ascii(text) if fold else text
    n = len(needle)
    values = col.values[col.valid]
    # ASCII folding maps character for character, so a prefix or suffix test only needs
    # the len(needle) characters it compares folded, not the whole value.
    match kind, fold:
        case _ if kind not in ("contains", "starts", "ends"):
            raise ValueError(f"unknown text match {kind!r}")
        case _ if n == 0:
            hits = (True for _ in values)
        case "contains", False:
            hits = (needle in s for s in values)
        case "contains", True:
            hits = (needle in fold_ascii(s) for s in values)
        case "starts", False:
            hits = (s.startswith(needle) for s in values)
        case "ends", False:
            hits = (s.endswith(needle) for s in values)
        case "starts", True if needle.isascii():
            # ``fold_ascii(p) == needle`` written inline (a call per value costs a fifth
            # more): a slice whose lower() is the needle folds to it only when ASCII (the
            # Kelvin sign lowers to `k`; ASCII folding leaves it alone).
            hits = ((p := s[:n]).lower() == needle and p.isascii() for s in values)
        case "ends", True if needle.isascii():
            hits = ((p := s[-n:]).lower() == needle and p.isascii() for s in values)
        case "starts", True:
            hits = (fold_ascii(s[:n]) == needle for s in values)
        case "ends", True:
            hits = (fold_ascii(s[-n:]) == needle for s in values)
    out = np.zeros(len(col.values), dtype=bool)
    out[col.valid] = np.fromiter(hits, dtype=bool, count=len(values))
    return out


def _tag_match(col: Column, kind: str, values: tuple[str, ...]) -> np.ndarray:
    if kind == "has" and len(values) != 1:
        raise ValueError("`has` tests exactly one tag")
    tags = frozenset(values)
    match kind:
        case "has":
            test = lambda s: values[0] in s  # noqa: E731
        case "any":
            test = lambda s: not tags.isdisjoint(s)  # noqa: E731
        case "all":
            test = tags.issubset
        case _:
            raise ValueError(f"unknown tag match {kind!r}")
    out = np.zeros(len(col.values), dtype=bool)
    out[col.valid] = [test(s) for s in col.values[col.valid]]
    return out
