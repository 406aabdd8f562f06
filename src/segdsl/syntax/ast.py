"""The surface syntax tree: what the user wrote, as frozen values carrying spans.

Built only by :mod:`segdsl.syntax.parser`; read by the checker, the formatter and the language
server. Spans are excluded from equality so two parses of equivalent text compare equal.
Parentheses leave no node: grouping is visible in the tree's shape.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Union

import attrs

from segdsl.frozen import Value, frozen
from segdsl.syntax.span import Span


def _span() -> Span:
    return attrs.field(eq=False, repr=False)  # type: ignore[return-value]


# ------------------------------------------------------------------------- literals


@frozen
class IntLit(Value):
    value: int
    text: str = attrs.field(eq=False)
    span: Span = _span()


@frozen
class DecimalLit(Value):
    value: Decimal
    text: str = attrs.field(eq=False)
    span: Span = _span()


@frozen
class StringLit(Value):
    value: str
    span: Span = _span()


@frozen
class BoolLit(Value):
    value: bool
    span: Span = _span()


@frozen
class NullLit(Value):
    span: Span = _span()


@frozen
class DateLit(Value):
    value: dt.date
    span: Span = _span()


@frozen
class TimestampLit(Value):
    """A timestamp; always timezone-aware (a literal without an offset is UTC)."""

    value: dt.datetime
    text: str = attrs.field(eq=False)
    span: Span = _span()


Scalar = Union[IntLit, DecimalLit, StringLit, BoolLit, NullLit, DateLit, TimestampLit]


@frozen
class ListLit(Value):
    items: tuple[Scalar, ...]
    span: Span = _span()


Literal = Union[Scalar, ListLit]


@frozen
class Duration(Value):
    amount: int
    unit: str  # "days", "weeks" or "hours", normalised to the plural
    span: Span = _span()

    @property
    def days(self) -> int:
        """The span in whole days (a span in hours is not one: see ``hours``)."""
        return self.amount * (7 if self.unit == "weeks" else 1)

    @property
    def hours(self) -> bool:
        """Whether the span counts exact hours rather than whole UTC days."""
        return self.unit == "hours"


# ------------------------------------------------------------------------- operands


@frozen
class FieldRef(Value):
    name: str
    span: Span = _span()


@frozen
class DaysSince(Value):
    """``days_since(field)``: whole days from the field's date to the as-of date."""

    field: FieldRef
    span: Span = _span()


@frozen
class Aggregate(Value):
    """``fn(source[.column] [by column] [where rule])`` over a source table's rows."""

    fn: str  # "count" | "sum" | "min" | "max" | "latest"
    source: FieldRef
    column: FieldRef | None
    by: FieldRef | None
    where: Expr | None
    span: Span = _span()


Operand = Union[FieldRef, DaysSince, Aggregate]


# ---------------------------------------------------------------------- expressions


@frozen
class BoolOp(Value):
    op: str  # "and" | "or"
    items: tuple[Expr, ...]
    span: Span = _span()


@frozen
class Not(Value):
    item: Expr
    span: Span = _span()


@frozen
class Truthy(Value):
    """A boolean field used alone as a predicate."""

    operand: Operand
    span: Span = _span()


@frozen
class Compare(Value):
    left: Operand
    op: str  # = != < <= > >=
    right: Scalar
    span: Span = _span()


@frozen
class CompareOperands(Value):
    """``left op right`` where both sides are operands (fields, ``days_since(...)``,
    aggregates): ``rounds_90d > bookings_30d``."""

    left: Operand
    op: str  # = != < <= > >=
    right: Operand
    span: Span = _span()


@frozen
class InList(Value):
    left: Operand
    items: ListLit
    negated: bool
    span: Span = _span()


@frozen
class Between(Value):
    left: Operand
    low: Scalar
    high: Scalar
    negated: bool
    span: Span = _span()


@frozen
class IsNull(Value):
    left: Operand
    negated: bool
    span: Span = _span()


@frozen
class TextMatch(Value):
    left: Operand
    kind: str  # "contains" | "starts with" | "ends with"
    text: StringLit
    ignore_case: bool
    span: Span = _span()


@frozen
class TagMatch(Value):
    left: Operand
    kind: str  # "has" | "has any" | "has all"
    value: StringLit | ListLit
    span: Span = _span()


@frozen
class TimeWindow(Value):
    """``within N days``, ``before N days ago``, ``after N days ago``; the same in weeks,
    or in hours (exact instants)."""

    left: Operand
    kind: str  # "within" | "before" | "after"
    duration: Duration
    span: Span = _span()


@frozen
class SegmentRef(Value):
    """``in segment NAME``: true exactly for the members of NAME (never unknown)."""

    name: str
    name_span: Span = _span()
    span: Span = _span()


@frozen
class Ranking(Value):
    """``operand in top P%`` (kind ``percent``) or ``top N by operand`` (kind ``count``),
    ranked among ``population``: a :class:`SegmentRef` (``among in segment NAME``), a
    rule (``among (rule)``), or None for every entity."""

    operand: Operand
    kind: str  # "percent" | "count"
    amount: IntLit | DecimalLit
    population: Expr | None
    span: Span = _span()


@frozen
class SplitRef(Value):
    """``in split NAME.ARM``: true exactly for the entities whose bucket falls in ARM's
    range (never unknown: keys are never NULL)."""

    split: str
    arm: str
    split_span: Span = _span()
    arm_span: Span = _span()
    span: Span = _span()


@frozen
class HoldoutRef(Value):
    """``in holdout NAME``: true exactly for the entities in the holdout (never unknown)."""

    name: str
    name_span: Span = _span()
    span: Span = _span()


@frozen
class Events(Value):
    """``(SOURCE [where RULE])``: the rows of an event source where RULE is TRUE (every
    row without ``where``), one side of a :class:`Sequence`."""

    source: FieldRef
    where: Expr | None
    span: Span = _span()


@frozen
class Sequence(Value):
    """``FIRST [not] followed by THEN within N``: an event of FIRST followed by one of
    THEN within the window (``negated``: a FIRST event whose window closed without one)."""

    first: Events
    then: Events
    negated: bool
    duration: Duration
    span: Span = _span()


Expr = Union[BoolOp, Not, Truthy, Compare, CompareOperands, InList, Between, IsNull, TextMatch, TagMatch, TimeWindow, SegmentRef,
             Ranking, SplitRef, HoldoutRef, Sequence]


# --------------------------------------------------------------------- declarations


@frozen
class Description(Value):
    text: StringLit
    span: Span = _span()


@frozen
class Refresh(Value):
    cadence: str
    cadence_span: Span = _span()
    span: Span = _span()


@frozen
class Where(Value):
    expr: Expr
    span: Span = _span()


@frozen
class Members(Value):
    items: ListLit
    span: Span = _span()


Clause = Union[Description, Refresh, Where, Members]


@frozen
class SegmentDef(Value):
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


@frozen
class Audience(Value):
    expr: Expr
    span: Span = _span()


@frozen
class Send(Value):
    """``send CHANNEL "template" [if [not] EVENT]``: EVENT is what the previous send
    led to (`opened`, `clicked`)."""

    channel: str
    template: StringLit
    condition: tuple[bool, str] | None  # (negated, event)
    channel_span: Span = _span()
    span: Span = _span()


@frozen
class Wait(Value):
    duration: Duration
    span: Span = _span()


@frozen
class Goal(Value):
    event: str
    duration: Duration
    event_span: Span = _span()
    span: Span = _span()


JourneyItem = Union[Description, Audience, Send, Wait, Goal]


@frozen
class Journey(Value):
    """A lifecycle journey: an audience, the steps sent to it, and its goal."""

    name: str
    title: StringLit | None
    items: tuple[JourneyItem, ...]
    name_span: Span = _span()
    span: Span = _span()


@frozen
class Percent(Value):
    """A share written ``45%`` or ``33.33%``: ``text`` as written, without the sign."""

    value: Decimal
    text: str = attrs.field(eq=False)
    span: Span = _span()


@frozen
class Salt(Value):
    text: StringLit
    span: Span = _span()


@frozen
class Arm(Value):
    name: str
    weight: Percent
    name_span: Span = _span()
    span: Span = _span()


SplitItem = Union[Description, Salt, Arm]


@frozen
class Split(Value):
    """``split NAME [title] { salt "..."  ARM P% ... }``: every entity in exactly one arm."""

    name: str
    title: StringLit | None
    items: tuple[SplitItem, ...]
    name_span: Span = _span()
    span: Span = _span()

    @property
    def arms(self) -> tuple[Arm, ...]:
        return tuple(i for i in self.items if isinstance(i, Arm))


@frozen
class Holdout(Value):
    """``holdout NAME [title] P% salt "..."``: the entities no journey may enrol."""

    name: str
    title: StringLit | None
    share: Percent
    salt: StringLit
    name_span: Span = _span()
    span: Span = _span()


@frozen
class Comment(Value):
    text: str  # including the leading '#'
    span: Span = _span()


@frozen
class Module(Value):
    path: str = attrs.field(eq=False)
    segments: tuple[SegmentDef, ...]
    comments: tuple[Comment, ...] = attrs.field(default=(), eq=False)
    journeys: tuple[Journey, ...] = ()
    splits: tuple[Split, ...] = ()
    holdouts: tuple[Holdout, ...] = ()
