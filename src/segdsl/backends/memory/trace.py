"""Why one entity is or is not in a segment: the rule as a tree with each node's value.

Every node's value comes from the row evaluator (:mod:`segdsl.backends.memory.row`)
compiled for that node alone, twice: "is TRUE" and "is FALSE" (unknown is neither). So
the root's verdict is the evaluator's by construction, and a node kind this module
knows nothing about is still judged, with its text and no details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from segdsl import ir
from segdsl.backends.memory.row import Resolved, compile_row
from segdsl.ir.semantics import as_of_date, bucket, day_bound, day_ordinal, day_windows, hours_before
from segdsl.schema.model import Field, Kind
from segdsl.syntax.span import Span

#: A node's value for one entity.
VERDICTS = ("true", "false", "unknown")


@attrs.frozen
class TraceNode:
    """One node of a rule for one entity: its kind, its text as written (at ``span``),
    its verdict, the values behind it (``details``) and its children."""

    kind: str
    text: str
    span: Span | None
    verdict: str
    details: Mapping[str, Any] = attrs.field(factory=dict)
    children: tuple[TraceNode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The node as JSON-able values (dates and decimals as text)."""
        span = None if self.span is None else {"path": self.span.path, "start": self.span.start,
                                                 "end": self.span.end}
        return {"kind": self.kind, "text": self.text, "span": span, "verdict": self.verdict,
                "details": jsonable(dict(self.details)), "children": [c.to_dict() for c in self.children]}


def jsonable(value: Any) -> Any:
    """``value`` with dates, times, decimals and sets as JSON values."""
    match value:
        case dict():
            return {str(k): jsonable(v) for k, v in value.items()}
        case list() | tuple():
            return [jsonable(v) for v in value]
        case frozenset() | set():
            return sorted(jsonable(v) for v in value)
        case dt.datetime():
            return value.isoformat().replace("+00:00", "Z")
        case dt.date():
            return value.isoformat()
        case Decimal():
            return str(value)
    return value


#: How many source rows an aggregate read for the entity, and how many it counted:
#: (field) → {"rows": n, "counted": m}; supplied by the caller, who has the source rows.
AggregateRows = Callable[[Field], Mapping[str, int]]


class Tracer:
    """A rule compiled once per node, to trace any number of records (profile rows)."""

    def __init__(self, rule: ir.Node, as_of: dt.datetime, text: Callable[[Span | None, ir.Node], str],
                 ranks: Mapping[int, Resolved] | None = None):
        self.rule = rule
        self.as_of = as_of
        self.text = text
        #: The rule's rankings, resolved over the whole population (by ranking id).
        self.ranks = ranks
        self._tests: dict[int, tuple[Callable, Callable]] = {}

    def _compiled(self, node: ir.Node) -> tuple[Callable, Callable]:
        found = self._tests.get(id(node))
        if found is None:
            found = self._tests[id(node)] = (compile_row(node, self.as_of, ranks=self.ranks),
                                             compile_row(ir.Not(node), self.as_of, ranks=self.ranks))
        return found

    def verdict(self, node: ir.Node, record: Mapping[str, Any]) -> str:
        is_true, is_false = self._compiled(node)
        return "true" if is_true(record) else "false" if is_false(record) else "unknown"

    def trace(self, record: Mapping[str, Any], aggregates: AggregateRows | None = None) -> TraceNode:
        """The rule's tree for ``record``. A segment referred to more than once is
        traced each time it appears (its verdict is the same every time)."""
        return self._node(self.rule, record, aggregates)

    def _node(self, node: ir.Node, record: Mapping[str, Any], aggregates: AggregateRows | None) -> TraceNode:
        verdict = self.verdict(node, record)
        span = getattr(node, "span", None)
        kind = _KINDS.get(type(node), type(node).__name__.lower())
        children: tuple[TraceNode, ...] = ()
        details: dict[str, Any] = {}
        match node:
            case ir.And(items) | ir.Or(items):
                children = tuple(self._node(i, record, aggregates) for i in items)
            case ir.Not(item):
                children = (self._node(item, record, aggregates),)
            case ir.Member(segment=name, rule=rule):
                details = {"segment": name, "member": verdict == "true"}
                children = (self._node(rule, record, aggregates),)
            case ir.Const(value):
                details = {"value": value}
            case ir.Sequence(first=first, then=then, seconds=seconds, negated=negated):
                details = {"sequence": "not followed by" if negated else "followed by", "first": first.source,
                           "then": then.source, "window_seconds": seconds, "as_of": self.as_of}
            case _:
                details = self._leaf(node, record, aggregates)
        return TraceNode(kind, self.text(span, node), span, verdict, details, children)

    def _leaf(self, node: ir.Node, record: Mapping[str, Any], aggregates: AggregateRows | None) -> dict[str, Any]:
        field = getattr(node, "field", None)
        if not isinstance(field, Field):
            return {}
        details: dict[str, Any] = {"field": field.name, "value": record.get(field.column)}
        if field.derive is not None:
            agg = field.derive
            about: dict[str, Any] = {"fn": agg.fn, "source": agg.source, "result": record.get(field.column)}
            if aggregates is not None:
                about.update(aggregates(field))
            details["aggregate"] = about
        match node:
            case ir.Cmp(op=op, value=value):
                details.update(op=op, compared_with=value)
            case ir.InSet(values=values):
                details["values"] = list(values)
            case ir.TextMatch(kind=kind, text=text, ignore_case=fold):
                details.update(match=kind, text=text, ignore_case=fold)
            case ir.TagMatch(kind=kind, values=values):
                details.update(match=kind, tags=list(values))
            case ir.DayCmp(op=op, day=day):
                details.update(self._window(field, op, day))
            case ir.InstantCmp(op=op, hours=hours):
                # None: the edge falls before the calendar's first instant.
                details.update(op=op, as_of=self.as_of, hours=hours, instant=hours_before(self.as_of, hours))
            case ir.FieldCmp(op=op, other=other, days=days):
                details.update(op=op, other_field=other.name, other_value=record.get(other.column), days=days)
            case ir.Rank():
                details.update(self._ranking(node, record))
            case ir.Bucket(salt=salt, low=low, high=high, label=label):
                key = record.get(field.column)
                details.update(group=label, salt=salt, bucket=None if key is None else bucket(salt, key),
                               buckets=[low, high - 1])
        return details

    def _ranking(self, node: ir.Rank, record: Mapping[str, Any]) -> dict[str, Any]:
        """Whether the entity is in the ranking's population, and where it was cut."""
        resolved = (self.ranks or {}).get(id(node))
        if resolved is None:
            return {}
        out: dict[str, Any] = {"in_population": record.get(resolved.key_column) in resolved.population,
                               "ranked": resolved.cutoff.n if resolved.cutoff is not None else 0}
        if node.percent is not None:
            out["top_percent"] = node.percent
        else:
            out["top"] = node.limit
        cut = resolved.cutoff
        if cut is not None:
            out["cut_off"] = cut.value
            out["cut_off_rank"] = cut.rank
            if node.limit is not None:
                out["cut_off_key"] = cut.key
        return out

    def _window(self, field: Field, op: str, day: ir.Day) -> dict[str, Any]:
        """The calendar day the test compares with, and the instants a non-null value
        must fall within (half-open ``[from, to)``; ``None``: unbounded)."""
        today = as_of_date(self.as_of)
        timestamp = field.kind is Kind.TIMESTAMP
        ordinal = day_ordinal(day, today)
        try:
            resolved: Any = day.resolve(today)
        except OverflowError:
            resolved = None
        windows = [[None if lo is None else day_bound(lo, timestamp), None if hi is None else day_bound(hi, timestamp)]
                   for lo, hi in day_windows(op, ordinal)]
        return {"op": op, "as_of": self.as_of, "day": resolved, "windows": windows}


_KINDS = {ir.And: "and", ir.Or: "or", ir.Not: "not", ir.Const: "constant", ir.Cmp: "compare", ir.InSet: "in",
          ir.IsNull: "is null", ir.IsTrue: "boolean", ir.TextMatch: "text", ir.TagMatch: "tags",
          ir.DayCmp: "time", ir.InstantCmp: "time", ir.FieldCmp: "compare fields", ir.Member: "in segment",
          ir.Rank: "ranking", ir.Bucket: "bucket", ir.Sequence: "sequence"}


__all__ = ["VERDICTS", "AggregateRows", "TraceNode", "Tracer", "jsonable"]
