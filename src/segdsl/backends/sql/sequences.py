"""Event sequences in SQL: correlated ``EXISTS`` over the event sources.

``(A) followed by (B) within N`` is::

    EXISTS (SELECT 1 FROM a_table AS seq_first
            WHERE seq_first.key = <entity>.key AND <A's rule>
              AND EXISTS (SELECT 1 FROM b_table AS seq_then
                          WHERE seq_then.key = seq_first.key
                            AND seq_then.time > seq_first.time
                            AND seq_then.time <= seq_first.time + N seconds
                            AND seq_then.time <= <as-of> AND <B's rule>))

and ``not followed by`` asks for an A event whose window has closed
(``seq_first.time <= <as-of> - N seconds``) with ``NOT EXISTS`` of such a B event. A
NULL time makes every comparison on it unknown, so such a row never qualifies; EXISTS is
never unknown, so neither is the sequence. The meaning is
:func:`segdsl.ir.semantics.sequence_holds`; how each engine adds seconds to an instant
and reads its clock as one are fields of the target (``instant_shift``, ``clock``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlglot import exp

from segdsl import ir
from segdsl.backends.sql.shared import Unsupported, unit_shift
from segdsl.backends.sql.storage import table_ref
from segdsl.diagnostics import error

if TYPE_CHECKING:
    from segdsl.backends.sql.builder import Builder

FIRST, THEN = "seq_first", "seq_then"
#: The last instant every engine stores, as SQLite keeps it (text).
_LAST_INSTANT = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def sequence_sql(b: Builder, node: ir.Sequence):
    first, then, seconds = node.first, node.then, node.seconds
    key = b.schema.key
    if not b.t.nested_correlation:
        raise Unsupported(error(
            "E0404", f"{b.t.dialect} cannot run an event sequence: its SQL is a correlated EXISTS holding "
            "another, which the engine does not support", node.span,
            help="compile the sequence for another target (postgres, duckdb, sqlite, mysql, bigquery, snowflake)"))

    def col(alias: str, name: str):
        return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(alias, quoted=True))

    def source(side: ir.Events, alias: str):
        t = table_ref(b.t, side.table)
        t.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        return t

    def rule(side: ir.Events, alias: str) -> list:
        if side.where is None:
            return []
        outer, b.qualifier = b.qualifier, alias
        try:
            return [exp.Paren(this=b.cond(ir.negation_normal_form(side.where)))]
        finally:
            b.qualifier = outer

    if b.as_of is not None:
        as_of = b.timestamp_literal(b.as_of)
        try:
            closed = b.timestamp_literal(b.as_of - dt.timedelta(seconds=seconds))
        except (OverflowError, ValueError):
            closed = None  # before the calendar: no first event's window has closed
    else:
        as_of = b.clock_instant(0, node.span)
        closed = shift(b, b.clock_instant(0, node.span), -seconds)
    if node.negated and closed is None:
        return exp.false()  # built before any parameter of the sides' rules is taken
    a_time, b_time = col(FIRST, first.time), col(THEN, then.time)
    inner = [
        exp.EQ(this=b.exact(key, col(THEN, then.entity_key)), expression=b.exact(key, col(FIRST, first.entity_key))),
        exp.GT(this=b_time, expression=a_time.copy()),
        exp.LTE(this=b_time.copy(), expression=shift(b, a_time.copy(), seconds)),
    ]
    if not node.negated:
        inner.append(exp.LTE(this=b_time.copy(), expression=as_of))
    then_exists = exp.Exists(this=_select(source(then, THEN), inner + rule(then, THEN)))
    outer_key = exp.Column(this=exp.to_identifier(key.column, quoted=True),
                           table=exp.to_identifier(b.outer_table, quoted=True))
    outer = [exp.EQ(this=b.exact(key, col(FIRST, first.entity_key)), expression=b.exact(key, outer_key))]
    if node.negated:
        outer.append(exp.LTE(this=a_time.copy(), expression=closed))
        outer += rule(first, FIRST)
        outer.append(exp.Not(this=then_exists))
    else:
        outer += rule(first, FIRST)
        outer.append(then_exists)
    return exp.Exists(this=_select(source(first, FIRST), outer))


def _select(table, conditions: list):
    where = conditions[0]
    for c in conditions[1:]:
        where = exp.And(this=where, expression=c)
    return exp.Select(expressions=[exp.Literal.number(1)], from_=exp.From(this=table), where=exp.Where(this=where))


def shift(b: Builder, instant, seconds: int):
    """``instant`` plus ``seconds`` (negative: minus), exact to the microsecond. Where the
    engine gives NULL past the calendar's end, the sum reads as the last instant, which
    every stored instant is at or before."""
    if b.t.shift_capped and seconds > 0:
        # min(t + n, last) as min(t, last - n) + n: the sum never passes the calendar.
        last = b.timestamp_literal(_LAST_INSTANT - dt.timedelta(seconds=seconds))
        instant = exp.Anonymous(this="LEAST", expressions=[instant, last])
    match b.t.instant_shift:
        case "text_datetime":
            # Whole seconds move the `YYYY-MM-DD HH:MM:SS` part; the fraction stays.
            head = exp.Substring(this=instant, start=exp.Literal.number(1), length=exp.Literal.number(19))
            moved = exp.Anonymous(this="datetime", expressions=[head, exp.Literal.string(f"{seconds:+d} seconds")])
            tail = exp.Substring(this=instant.copy(), start=exp.Literal.number(20))
            out = exp.DPipe(this=moved, expression=tail)
        case "timestamp_add" | "dateadd":
            out = unit_shift(b.t.instant_shift, instant, seconds, "SECOND")
        case _:
            interval = exp.Interval(this=exp.Literal.string(str(abs(seconds))), unit=exp.Var(this="SECOND"))
            out = (exp.Add if seconds >= 0 else exp.Sub)(this=instant, expression=interval)
    if b.t.shift_past_calendar_null and seconds > 0:
        out = exp.Coalesce(this=out, expressions=[b.timestamp_literal(_LAST_INSTANT)])
    return exp.Paren(this=out)
