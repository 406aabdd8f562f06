"""The checked rule: a small typed tree that every backend consumes.

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
from segdsl.schema import Field
from segdsl.span import Span


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


def implies_true(rule: Node, field_name: str) -> bool:
    """Whether ``rule`` can only be TRUE where the boolean field is TRUE: it requires the
    field in every branch (through segment membership too)."""
    match rule:
        case IsTrue(field=f) | Cmp(field=f, op="=", value=True):
            return f.name == field_name
        case And(items):
            return any(implies_true(i, field_name) for i in items)
        case Or(items):
            return all(implies_true(i, field_name) for i in items)
        case Member(rule=inner):
            return implies_true(inner, field_name)
    return False


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


FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def walk(node: Node):
    """Every node of a rule, parents first; segment references are entered."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        match n:
            case And(items) | Or(items):
                stack.extend(reversed(items))
            case Not(item):
                stack.append(item)
            case Member(rule=rule):
                stack.append(rule)


def fields_used(node: Node) -> list[Field]:
    """The profile fields a rule reads (through segment references too), by name."""
    seen: dict[str, Field] = {}
    for n in walk(node):
        f = getattr(n, "field", None)
        if isinstance(f, Field):
            seen.setdefault(f.name, f)
    return list(seen.values())


def derived_fields(node: Node) -> list[Field]:
    """The fields of a rule that are computed from source tables, in first-use order."""
    return [f for f in fields_used(node) if f.derive is not None]


def negation_normal_form(node: Node, negate: bool = False) -> Node:
    """Push every ``Not`` down to a leaf, flattening and/or as it goes.

    Exact under three-valued logic: De Morgan's laws and double negation hold in
    Kleene logic, and negating a comparison keeps NULL unknown (there is no NaN: the
    data layer rejects it). A leaf that has no negated form keeps a single ``Not``.
    Depth only shrinks, which keeps SQL within engines' parser limits.
    """
    cls = node.__class__
    if cls is And or cls is Or:
        out = And if (cls is And) != negate else Or
        flat: list[Node] = []
        same = not negate  # nothing to rebuild: the node is already in this form
        for item in node.items:
            n = negation_normal_form(item, negate)
            if n.__class__ is out:
                flat.extend(n.items)
                same = False
            else:
                flat.append(n)
                same = same and n is item
        if len(flat) == 1:
            return flat[0]
        return node if same else out(tuple(flat), node.span)
    if cls is Not:
        return negation_normal_form(node.item, not negate)
    if not negate:
        if cls is Member:
            inner = negation_normal_form(node.rule)
            return node if inner is node.rule else Member(node.segment, inner, node.span)
        return node
    if cls is Const:
        return Const(not node.value, node.span)
    if cls is Cmp:
        return Cmp(node.field, NEGATE[node.op], node.value, node.span)
    if cls is DayCmp:
        return DayCmp(node.field, NEGATE[node.op], node.day, node.span)
    if cls is Member:
        return Not(Member(node.segment, negation_normal_form(node.rule), node.span), node.span)
    return Not(node, getattr(node, "span", None))


def can_be_null(node: Node) -> bool:
    """Whether the rule can evaluate to unknown for some row."""
    match node:
        case And(items) | Or(items):
            return any(can_be_null(i) for i in items)
        case Not(item):
            return can_be_null(item)
        case Const() | IsNull() | Member():
            return False
    return node.field.nullable  # type: ignore[union-attr]


def depth(node: Node) -> int:
    match node:
        case And(items) | Or(items):
            return 1 + max(depth(i) for i in items)
        case Not(item):
            return 1 + depth(item)
        case Member(rule=rule):
            return 1 + depth(rule)
    return 1
