"""The surface syntax tree: what the user wrote, as frozen values carrying spans.

Built only by :mod:`segdsl.parser`; read by the checker, the formatter and the language
server. Spans are excluded from equality so two parses of equivalent text compare equal.
Parentheses leave no node: grouping is visible in the tree's shape.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Union

import attrs

from segdsl.span import Span


def _span() -> Span:
    return attrs.field(eq=False, repr=False)  # type: ignore[return-value]


# ------------------------------------------------------------------------- literals


@attrs.frozen
class IntLit:
    value: int
    text: str = attrs.field(eq=False)
    span: Span = _span()


@attrs.frozen
class DecimalLit:
    value: Decimal
    text: str = attrs.field(eq=False)
    span: Span = _span()


@attrs.frozen
class StringLit:
    value: str
    span: Span = _span()


@attrs.frozen
class BoolLit:
    value: bool
    span: Span = _span()


@attrs.frozen
class NullLit:
    span: Span = _span()


@attrs.frozen
class DateLit:
    value: dt.date
    span: Span = _span()


@attrs.frozen
class TimestampLit:
    """A timestamp; always timezone-aware (a literal without an offset is UTC)."""

    value: dt.datetime
    text: str = attrs.field(eq=False)
    span: Span = _span()


Scalar = Union[IntLit, DecimalLit, StringLit, BoolLit, NullLit, DateLit, TimestampLit]


@attrs.frozen
class ListLit:
    items: tuple[Scalar, ...]
    span: Span = _span()


Literal = Union[Scalar, ListLit]


@attrs.frozen
class Duration:
    amount: int
    unit: str  # "days" or "weeks", normalised to the plural
    span: Span = _span()

    @property
    def days(self) -> int:
        return self.amount * (7 if self.unit == "weeks" else 1)


# ------------------------------------------------------------------------- operands


@attrs.frozen
class FieldRef:
    name: str
    span: Span = _span()


@attrs.frozen
class DaysSince:
    """``days_since(field)``: whole days from the field's date to the as-of date."""

    field: FieldRef
    span: Span = _span()


@attrs.frozen
class Aggregate:
    """``fn(source[.column] [by column] [where rule])`` over a source table's rows."""

    fn: str  # "count" | "sum" | "min" | "max" | "latest"
    source: FieldRef
    column: FieldRef | None
    by: FieldRef | None
    where: Expr | None
    span: Span = _span()


Operand = Union[FieldRef, DaysSince, Aggregate]


# ---------------------------------------------------------------------- expressions


@attrs.frozen
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class Not:
    item: Expr
    span: Span = _span()


@attrs.frozen
class Truthy:
    """A boolean field used alone as a predicate."""

    operand: Operand
    span: Span = _span()


@attrs.frozen
class Compare:
    left: Operand
    op: str  # = != < <= > >=
    right: Scalar
    span: Span = _span()


@attrs.frozen
class InList:
    left: Operand
    items: ListLit
    negated: bool
    span: Span = _span()


@attrs.frozen
class Between:
    left: Operand
    low: Scalar
    high: Scalar
    negated: bool
    span: Span = _span()


@attrs.frozen
class IsNull:
    left: Operand
    negated: bool
    span: Span = _span()


@attrs.frozen
class TextMatch:
    left: Operand
    kind: str  # "contains" | "starts with" | "ends with"
    text: StringLit
    ignore_case: bool
    span: Span = _span()


@attrs.frozen
class TagMatch:
    left: Operand
    kind: str  # "has" | "has any" | "has all"
    value: StringLit | ListLit
    span: Span = _span()


@attrs.frozen
class TimeWindow:
    """``within N days``, ``before N days ago``, ``after N days ago``."""

    left: Operand
    kind: str  # "within" | "before" | "after"
    duration: Duration
    span: Span = _span()


@attrs.frozen
class SegmentRef:
    """``in segment NAME``: true exactly for the members of NAME (never unknown)."""

    name: str
    name_span: Span = _span()
    span: Span = _span()


Expr = Union[BoolOp, Not, Truthy, Compare, InList, Between, IsNull, TextMatch, TagMatch, TimeWindow, SegmentRef]


# --------------------------------------------------------------------- declarations


@attrs.frozen
class Description:
    text: StringLit
    span: Span = _span()


@attrs.frozen
class Refresh:
    cadence: str
    cadence_span: Span = _span()
    span: Span = _span()


@attrs.frozen
class Where:
    expr: Expr
    span: Span = _span()


@attrs.frozen
class Members:
    items: ListLit
    span: Span = _span()


Clause = Union[Description, Refresh, Where, Members]


@attrs.frozen
class SegmentDef:
    kind: str  # "dynamic" | "static" | "smart"
    name: str
    title: StringLit | None
    clauses: tuple[Clause, ...]
    name_span: Span = _span()
    span: Span = _span()
    kind_explicit: bool = attrs.field(default=False, eq=False)

    def clause(self, cls: type) -> Clause | None:
        return next((c for c in self.clauses if isinstance(c, cls)), None)

    @property
    def where(self) -> Expr | None:
        c = self.clause(Where)
        return c.expr if c is not None else None

    @property
    def description(self) -> str | None:
        c = self.clause(Description)
        return c.text.value if c is not None else None

    @property
    def refresh(self) -> str | None:
        c = self.clause(Refresh)
        return c.cadence if c is not None else None


@attrs.frozen
class Audience:
    expr: Expr
    span: Span = _span()


@attrs.frozen
class Send:
    """``send CHANNEL "template" [if [not] EVENT]``: EVENT is what the previous send
    led to (`opened`, `clicked`)."""

    channel: str
    template: StringLit
    condition: tuple[bool, str] | None  # (negated, event)
    channel_span: Span = _span()
    span: Span = _span()


@attrs.frozen
class Wait:
    duration: Duration
    span: Span = _span()


@attrs.frozen
class Goal:
    event: str
    duration: Duration
    event_span: Span = _span()
    span: Span = _span()


JourneyItem = Union[Description, Audience, Send, Wait, Goal]


@attrs.frozen
class Journey:
    """A lifecycle journey: an audience, the steps sent to it, and its goal."""

    name: str
    title: StringLit | None
    items: tuple[JourneyItem, ...]
    name_span: Span = _span()
    span: Span = _span()


@attrs.frozen
class Comment:
    text: str  # including the leading '#'
    span: Span = _span()


@attrs.frozen
class Module:
    path: str = attrs.field(eq=False)
    segments: tuple[SegmentDef, ...]
    comments: tuple[Comment, ...] = attrs.field(default=(), eq=False)
    journeys: tuple[Journey, ...] = ()
