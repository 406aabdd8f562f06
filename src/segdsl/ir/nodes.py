"""The checked rule's nodes: a small typed tree that every backend consumes.

The checker lowers the surface syntax into these few node kinds, so the SQL backend and
both in-memory evaluators implement exactly the same semantics and nothing else:
``between`` becomes two bounds, relative time becomes day comparisons against the as-of
date, segment references become two-valued membership, static segments become key sets.

Semantics (three-valued, as SQL): a row is a member exactly where the rule is TRUE.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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
class InstantCmp(Value):
    """``field op (as-of − hours × 3600 s)`` for a timestamp field: an exact instant, no
    calendar (see :func:`segdsl.ir.semantics.hours_before`). The hour windows lower to
    this: ``f within 48 hours`` is ``f >= as_of − 48 h and f <= as_of``."""

    field: Field
    op: str
    hours: int
    span: Span | None = _span()


@frozen
class FieldCmp(Value):
    """``field op other`` for two fields of comparable kinds (numbers exactly, dates,
    instants, text and enums byte for byte, booleans); unknown when either is NULL.
    With ``days``, each side is its UTC date: ``days_since(a) < days_since(b)`` is
    ``date(a) > date(b)``."""

    field: Field
    op: str
    other: Field
    days: bool = False
    span: Span | None = _span()


@frozen
class Member(Value):
    """``in segment NAME``: TRUE where NAME's rule is TRUE, otherwise FALSE (never
    unknown), so ``not in segment lapsed`` includes guests lapsed cannot judge.

    ``rule`` is NAME's checked rule, one object shared by every reference to NAME, so a
    rule with references is a graph, not a tree: a chain of segments each referring to
    the last twice holds each rule once, where copies would double at every link. Every
    pass over rules visits a referenced segment once (see :mod:`segdsl.ir.passes`);
    equality compares the referenced rules by a key computed once per rule, and ``repr``
    and ``hash`` show only the name.
    """

    segment: str
    rule: Node = attrs.field(eq=False, repr=False)
    span: Span | None = _span()
    _key: str | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Member:
            return NotImplemented
        return self.segment == other.segment and (self.rule is other.rule or self.key == other.key)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((Member, self.segment))

    @property
    def key(self) -> str:
        """A digest of the referenced rule's structure (spans left out): equal rules have
        equal keys. Computed once per reference, each nested rule once."""
        if self._key is None:
            _rule_keys(self, {})
        return self._key  # type: ignore[return-value]


@frozen
class Rank(Value):
    """A ranking: ``field in top P%`` (``percent``) or ``top N by field`` (``limit``),
    among the entities where ``population`` is TRUE (None: every entity).

    The entities of the population whose value is not NULL are ranked, best first:
    greatest value first, or for ``days`` (``days_since(field)``) earliest UTC date first.
    TRUE for a ranked entity that makes the cut (:mod:`segdsl.ir.semantics`, "ranking"),
    unknown for a population member whose value is NULL, FALSE for everyone else (an
    entity outside the population included). Passes treat it as a leaf that reads
    ``field``; the population is a rule of its own, entered like a referenced segment.
    """

    field: Field
    days: bool
    percent: Decimal | None
    limit: int | None
    population: Node | None
    span: Span | None = _span()
    #: The ranking as written (for ``plan`` and ``size``); not part of its meaning.
    text: str = attrs.field(default="", eq=False, repr=False)



@frozen
class Bucket(Value):
    """``low <= bucket(salt, key) < high`` (:func:`segdsl.ir.semantics.bucket`): an arm
    of a split, or a holdout. Two-valued, as keys are never NULL. ``field`` is the
    entity's key; ``label`` names what the range is (``split t.a``, ``holdout h``)."""

    field: Field
    salt: str
    low: int
    high: int
    label: str = attrs.field(default="", eq=False, repr=False)
    span: Span | None = _span()


@frozen
class Events(Value):
    """One side of a :class:`Sequence`: the rows of an event source whose ``entity_key``
    is the profile's key, whose ``time`` is not NULL, and where ``where`` is TRUE."""

    source: str
    table: str
    entity_key: str
    time: str  # the source's timestamp column
    where: Node | None


@frozen
class Sequence(Value):
    """``first followed by then within seconds`` (``negated``: ``not followed by``),
    two-valued, as :func:`segdsl.ir.semantics.sequence_holds` defines it: TRUE for an
    entity with a ``first`` event at tA and a ``then`` event at tB, tA < tB <= tA +
    seconds, both at or before the as-of; negated, with a ``first`` event whose window
    has closed (tA + seconds <= as-of) holding no ``then`` event. Otherwise FALSE."""

    first: Events
    then: Events
    seconds: int
    negated: bool
    span: Span | None = _span()

    @property
    def column(self) -> str:
        """The name of the profile column holding the sequence's truth per entity in
        memory (see :mod:`segdsl.backends.memory.profile`): the same for equal sequences,
        and never a field's name (it holds a space)."""
        import hashlib

        return "sequence " + hashlib.blake2b(repr(self).encode("utf-8"), digest_size=8).hexdigest()


Node = Union[And, Or, Not, Const, Cmp, InSet, IsNull, IsTrue, TextMatch, TagMatch, DayCmp, InstantCmp, FieldCmp, Member, Rank, Bucket,
              Sequence]


def _rule_keys(member: Member, known: dict[int, str]) -> None:
    """Set ``member``'s key and those of the references below it that lack one, each
    referenced rule digested once (``known``: by rule object, for this computation)."""
    import hashlib  # ~10 ms to import (OpenSSL); only rules compared across checks need it

    pending = [member]
    while pending:
        m = pending[-1]
        if m._key is not None:
            pending.pop()
            continue
        if id(m.rule) in known:
            object.__setattr__(m, "_key", known[id(m.rule)])
            pending.pop()
            continue
        parts: list[str] = []
        missing: list[Member] = []
        stack = [m.rule]
        while stack:
            n = stack.pop()
            cls = n.__class__
            if cls is And or cls is Or:
                parts.append(f"{cls.__name__}/{len(n.items)}")
                stack.extend(reversed(n.items))
            elif cls is Not:
                parts.append("Not")
                stack.append(n.item)
            elif cls is Rank:
                parts.append(f"Rank/{n.field!r}/{n.days}/{n.percent}/{n.limit}/{n.population is not None}")
                if n.population is not None:
                    stack.append(n.population)
            elif cls is Member:
                key = n._key if n._key is not None else known.get(id(n.rule))
                if key is None:
                    missing.append(n)
                else:
                    parts.append(f"Member/{n.segment!r}/{key}")
            else:
                parts.append(repr(n))
        if missing:  # digest the references first, then this rule
            pending.extend(missing)
            continue
        key = hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=16).hexdigest()
        known[id(m.rule)] = key
        object.__setattr__(m, "_key", key)
        pending.pop()


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
class Arm(Value):
    """One arm of a split: the buckets [low, high)."""

    name: str
    low: int
    high: int
    span: Span | None = attrs.field(default=None, eq=False)


@frozen
class Split(Value):
    """A deterministic split of every entity into arms by
    :func:`segdsl.ir.semantics.bucket` under ``salt``."""

    name: str
    title: str | None
    description: str | None
    salt: str
    arms: tuple[Arm, ...]
    path: str
    span: Span | None = attrs.field(default=None, eq=False)

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)


@frozen
class Holdout(Value):
    """The entities whose bucket under ``salt`` is below ``buckets``: no journey enrols them."""

    name: str
    title: str | None
    salt: str
    buckets: int
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


__all__ = ["CADENCES", "EVENTS", "GOALS", "Aggregate", "And", "Arm", "Bucket", "Cmp", "Const", "Day", "DayCmp",
           "Events", "FieldCmp", "Holdout", "InSet", "InstantCmp", "IsNull", "IsTrue", "Journey", "Member", "Node", "Not",
           "Or", "Rank", "Segment", "SendStep", "Sequence", "Split", "TagMatch", "TextMatch", "WaitStep"]
