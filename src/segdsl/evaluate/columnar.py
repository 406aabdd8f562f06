"""The columnar evaluator: a rule over a whole :class:`~segdsl.data.Table` with numpy.

Like the row evaluator it works by polarity: each node gives a mask of rows where it is
TRUE and, only where a ``not`` or a membership needs it, a mask where it is FALSE; rows
in neither are unknown. Comparisons run on the exact encodings of :mod:`segdsl.data`:
decimals as scaled integers against exact integer bounds, timestamps as microseconds.
"""

from __future__ import annotations

import datetime as dt
import operator
from fractions import Fraction
from typing import Any

import numpy as np

from segdsl import ir
from segdsl.exact import integer_comparison
from segdsl.data import EPOCH, EPOCH_ORDINAL, INT64_MAX, INT64_MIN, US_PER_DAY, Column, Table
from segdsl.evaluate.row import ASCII_FOLD, day_intervals, rule_as_of_date
from segdsl.schema import Field, Kind

_NP_OP = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}

#: Up to this many values, ``in [...]`` on text is a few vectorised equality tests.
_SMALL_SET = 16


def evaluate(rule: ir.Node, table: Table, as_of: dt.datetime) -> np.ndarray:
    """The member mask: True for each row where ``rule`` is TRUE at ``as_of``."""
    return _Columnar(table, rule_as_of_date(as_of)).true(rule)


def member_keys(rule: ir.Node, table: Table, as_of: dt.datetime) -> list[Any]:
    """The key values of the members, in ascending key order."""
    key = table.schema.key
    col = table.columns[key.column]
    keys = col.values[evaluate(rule, table, as_of)]
    if key.kind is Kind.INT:
        return np.sort(keys).tolist()
    return sorted(keys.tolist())  # text keys: Python's code-point order


class _Columnar:
    def __init__(self, table: Table, as_of_day: dt.date):
        self.table = table
        self.n = table.n_rows
        self.as_of_day = as_of_day
        self.members: dict[tuple[str, int], np.ndarray] = {}

    def column(self, field: Field) -> Column:
        col = self.table.columns.get(field.column)
        if col is None:
            raise KeyError(f"the table has no column `{field.column}` for field `{field.name}`")
        return col

    def true(self, node: ir.Node) -> np.ndarray:
        match node:
            case ir.And(items):
                out = np.ones(self.n, dtype=bool)
                for i in items:
                    out &= self.true(i)
                return out
            case ir.Or(items):
                out = np.zeros(self.n, dtype=bool)
                for i in items:
                    out |= self.true(i)
                return out
            case ir.Not(item):
                return self.false(item)
            case ir.Const(value):
                return np.full(self.n, bool(value))
            case ir.Member():
                return self.member(node).copy()
        valid, cond = self.predicate(node)
        return valid & cond

    def false(self, node: ir.Node) -> np.ndarray:
        match node:
            case ir.And(items):
                out = np.zeros(self.n, dtype=bool)
                for i in items:
                    out |= self.false(i)
                return out
            case ir.Or(items):
                out = np.ones(self.n, dtype=bool)
                for i in items:
                    out &= self.false(i)
                return out
            case ir.Not(item):
                return self.true(item)
            case ir.Const(value):
                return np.full(self.n, not value)
            case ir.Member():
                # Membership is two-valued: not a member wherever the rule is not TRUE.
                return ~self.member(node)
        valid, cond = self.predicate(node)
        return valid & ~cond

    def member(self, node: ir.Member) -> np.ndarray:
        key = (node.segment, id(node.rule))
        if key not in self.members:
            self.members[key] = self.true(node.rule)
        return self.members[key]

    # A predicate is (valid, cond): cond is its two-valued answer, meaningful where valid.

    def predicate(self, node: ir.Node) -> tuple[np.ndarray, np.ndarray]:
        match node:
            case ir.IsNull(field):
                col = self.column(field)
                # Never unknown: "valid" is every row, the answer is the NULL mask.
                return np.ones(self.n, dtype=bool), ~col.valid
            case ir.IsTrue(field):
                col = self.column(field)
                return col.valid, col.values.astype(bool)
            case ir.Cmp(field, op, value):
                col = self.column(field)
                return col.valid, _compare(field, col, op, value)
            case ir.InSet(field, values):
                col = self.column(field)
                return col.valid, _in_set(field, col, values)
            case ir.TextMatch(field, kind, text, fold):
                col = self.column(field)
                return col.valid, _text_match(col, kind, text, fold)
            case ir.TagMatch(field, kind, values):
                col = self.column(field)
                return col.valid, _tag_match(col, kind, values)
            case ir.DayCmp(field):
                col = self.column(field)
                return col.valid, self.day_cmp(node, field, col)
        raise ValueError(f"cannot evaluate {type(node).__name__}")

    def day_cmp(self, node: ir.DayCmp, field: Field, col: Column) -> np.ndarray:
        if field.kind not in (Kind.DATE, Kind.TIMESTAMP):
            raise ValueError(f"day comparison on {field.kind.value} field `{field.name}`")
        unit = US_PER_DAY if field.kind is Kind.TIMESTAMP else 1
        out = np.zeros(self.n, dtype=bool)
        for lo, hi in day_intervals(node, self.as_of_day):
            part = np.ones(self.n, dtype=bool)
            if lo is not None:
                part &= col.values >= np.int64((lo - EPOCH_ORDINAL) * unit)
            if hi is not None:
                part &= col.values < np.int64((hi - EPOCH_ORDINAL) * unit)
            out |= part
        return out


# ------------------------------------------------------------------ comparisons


def _encode_constant(field: Field, value: Any) -> Any:
    """A constant in the column's encoding, for the kinds compared directly."""
    match field.kind:
        case Kind.DATE:
            return np.int64(value.toordinal() - EPOCH_ORDINAL)
        case Kind.TIMESTAMP:
            return np.int64((value - EPOCH) // dt.timedelta(microseconds=1))
        case Kind.FLOAT:
            return float(value)
        case Kind.BOOL:
            return bool(value)
    return value


def _scaled(field: Field, value: Any) -> Fraction:
    """An int or decimal constant in units of the column's last decimal place, exactly."""
    scale = (field.type.scale or 0) if field.kind is Kind.DECIMAL else 0
    return Fraction(value) * 10**scale


def _compare(field: Field, col: Column, op: str, value: Any) -> np.ndarray:
    if field.kind in (Kind.INT, Kind.DECIMAL):
        return _int_compare(col.values, op, _scaled(field, value))
    if col.values.dtype == object:
        # Text and enums: = and != vectorise exactly; anything else compares only the
        # non-null strings, as the row evaluator does.
        if op in ("=", "!="):
            return np.asarray(_NP_OP[op](col.values, value), dtype=bool)
        out = np.zeros(len(col.values), dtype=bool)
        out[col.valid] = [_NP_OP[op](v, value) for v in col.values[col.valid]]
        return out
    return _NP_OP[op](col.values, _encode_constant(field, value))


def _int_compare(values: np.ndarray, op: str, c: Fraction) -> np.ndarray:
    """``x op c`` for integers x and an exact rational c, as integer bounds (see
    :mod:`segdsl.exact`)."""
    bound = integer_comparison(op, c)
    if isinstance(bound, bool):
        return np.full(len(values), bound, dtype=bool)
    op, k = bound
    match op:
        case ">=":
            return _at_least(values, k)
        case "<=":
            return ~_at_least(values, k + 1)
        case "<":
            return ~_at_least(values, k)
        case "=":
            return _equal(values, Fraction(k))
    return ~_equal(values, Fraction(k))


def _at_least(values: np.ndarray, bound: int) -> np.ndarray:
    if bound <= INT64_MIN:
        return np.ones(len(values), dtype=bool)
    if bound > INT64_MAX:
        return np.zeros(len(values), dtype=bool)
    return values >= np.int64(bound)


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
    needle = text.translate(ASCII_FOLD) if fold else text
    n = len(needle)
    values = col.values[col.valid]
    # ASCII folding maps character for character, so a prefix or suffix test only needs
    # the len(needle) characters it compares folded, not the whole value.
    match kind, fold:
        case "contains", False:
            hits = (needle in s for s in values)
        case "contains", True:
            hits = (needle in s.translate(ASCII_FOLD) for s in values)
        case "starts", False:
            hits = (s.startswith(needle) for s in values)
        case "starts", True:
            hits = (s[:n].translate(ASCII_FOLD) == needle for s in values)
        case "ends", False:
            hits = (s.endswith(needle) for s in values)
        case "ends", True:
            hits = ((s[-n:] if n else "").translate(ASCII_FOLD) == needle for s in values)
        case _:
            raise ValueError(f"unknown text match {kind!r}")
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
