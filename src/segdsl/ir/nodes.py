"""The checked rule's nodes: a small typed tree that every backend consumes.

The checker lowers the surface syntax into these few node kinds, so the SQL backend and
both in-memory evaluators implement exactly the same semantics and nothing else:
``between`` becomes two bounds, relative time becomes day comparisons against the as-of
date, segment references become two-valued membership, static segments become key sets.

Semantics (three-valued, as SQL): a row is a member exactly where the rule is TRUE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Union

import attrs

from segdsl.frozen import Value, frozen
from segdsl.schema.model import Field
from segdsl.syntax.span import Span


def _span() -> Span | None:
    return attrs.field(default=None, eq=False, repr=False)  # type: ignore[return-value]


@frozen
class And(Value):
    items: tuple[Node, ...]
    span: Span | None = _span()


@frozen
class Or(Value):
    items: tuple[Node, ...]
    span: Span | None = _span()


@frozen
class Not(Value):
    item: Node
    span: Span | None = _span()


@frozen
class Const(Value):
    value: bool
    span: Span | None = _span()


@frozen
class Cmp(Value):
    """``field op value``; unknown when the field is NULL. ``value`` is already of the
    field's Python type: int, Decimal, float, str, bool, date or aware UTC datetime."""

    field: Field
    op: str  # = != < <= > >=
    value: Any
    span: Span | None = _span()


@frozen
class InSet(Value):
    """``field in [values]``: non-empty, no NULLs, duplicates removed, order kept."""

    field: Field
    values: tuple[Any, ...]
    span: Span | None = _span()


@frozen
class IsNull(Value):
    field: Field
    span: Span | None = _span()


@frozen
class IsTrue(Value):
    """A boolean field used as a predicate: TRUE, FALSE, or unknown when NULL."""

    field: Field
    span: Span | None = _span()


@frozen
class TextMatch(Value):
    """Literal substring tests. ``ignore_case`` folds ASCII A-Z to a-z on both sides
    and nothing else, the one folding every engine performs identically."""

    field: Field
    kind: str  # "contains" | "starts" | "ends"
    text: str
    ignore_case: bool
    span: Span | None = _span()


@frozen
class TagMatch(Value):
    """Tag-list tests: ``has`` one tag, ``any`` of several, ``all`` of several."""

    field: Field
    kind: str  # "has" | "any" | "all"
    values: tuple[str, ...]
    span: Span | None = _span()


@frozen
class Day(Value):
    """A calendar day: a fixed date, or the as-of date plus ``offset`` days."""

    date: dt.date | None = None
    offset: int | None = None

    def resolve(self, as_of_date: dt.date) -> dt.date:
        """The calendar day; raises OverflowError past year 1 or 9999 (the checker keeps
        offsets within 100,000 days, and backends treat such bounds as unbounded)."""
        if self.date is not None:
            return self.date
        return as_of_date + dt.timedelta(days=self.offset or 0)


@frozen
class DayCmp(Value):
    """``date(field) op day``, where a timestamp's date is taken in UTC. Every relative
    time form lowers to this: ``days_since(f) >= 180`` is ``date(f) <= as_of - 180``."""

    field: Field
    op: str
    day: Day
    span: Span | None = _span()


@frozen
class Member(Value):
    """``in segment NAME``: TRUE where NAME's rule is TRUE, otherwise FALSE (never
    unknown), so ``not in segment lapsed`` includes guests lapsed cannot judge."""

    segment: str
    rule: Node
    span: Span | None = _span()


Node = Union[And, Or, Not, Const, Cmp, InSet, IsNull, IsTrue, TextMatch, TagMatch, DayCmp, Member]


@frozen
class Aggregate(Value):
    """How a derived field (a trait) is computed from a source table's rows.

    Over the rows whose ``entity_key`` is the profile's key and where ``where`` is TRUE:
    ``count`` the rows (0 when none), ``sum`` the non-null values of ``column`` (0 when
    none), ``min``/``max`` of them (NULL when none), or ``latest``: ``column`` of the row
    with the greatest ``by`` (rows with a NULL ``by`` are ignored; ties go to the row
    with the greatest ``id_column``; NULL when no row).
    """

    fn: str
    source: str
    table: str
    entity_key: str
    id_column: str
    column: Field | None
    by: Field | None
    where: Node | None

CADENCES = ("manual", "hourly", "daily", "weekly")
EVENTS = ("opened", "clicked")  # what a send can lead to, for `send ... if [not] EVENT`
GOALS = ("converted",)


@frozen
class SendStep(Value):
    channel: str
    template: str
    condition: tuple[bool, str] | None  # (negated, event of the previous send)
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class WaitStep(Value):
    days: int
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class Journey(Value):
    name: str
    title: str | None
    description: str | None
    audience: Node
    steps: tuple[SendStep | WaitStep, ...]
    goal: str
    goal_days: int
    path: str
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class Segment(Value):
    name: str
    kind: str  # "dynamic" | "static" | "smart"
    title: str | None
    description: str | None
    refresh: str
    rule: Node
    path: str
    span: Span | None = attrs.field(default=None, eq=False)
    members: tuple[Any, ...] | None = None  # static segments
    depends_on: tuple[str, ...] = ()


__all__ = ["CADENCES", "EVENTS", "GOALS", "Aggregate", "And", "Cmp", "Const", "Day", "DayCmp", "InSet", "IsNull",
           "IsTrue", "Journey", "Member", "Node", "Not", "Or", "Segment", "SendStep", "TagMatch", "TextMatch",
           "WaitStep"]
