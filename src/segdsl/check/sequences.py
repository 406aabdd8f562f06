"""Event sequences: ``(A [where ...]) [not] followed by (B [where ...]) within N``.

Each side names an event source (a source that declares its ``time`` column, see
docs/schema.md); its rule is checked over that source's columns, as an aggregate's is.
The window is lowered to exact seconds by :func:`segdsl.ir.semantics.window_seconds`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segdsl import ir
from segdsl.check.predicates import MAX_DAYS
from segdsl.check.suggest import one_of
from segdsl.diagnostics import error
from segdsl.ir.semantics import UNIT_SECONDS, window_seconds
from segdsl.schema.model import Kind
from segdsl.syntax import ast

if TYPE_CHECKING:
    from segdsl.check.checker import Checker


def check_sequence(ck: Checker, e: ast.Sequence) -> ir.Node | None:
    """Type both sides and the window; None after a diagnostic."""
    if ck.schema.entity_key is not None:
        # A checker over a source's columns: an aggregate's or a sequence's own rule.
        ck.diags.append(
            error("E0151", "an event sequence cannot appear inside a source's rule", e.span,
                  label="inside a source's `where`",
                  help="test the sequence beside the aggregate, e.g. `count(...) >= 1 and (a) followed by (b) "
                  "within 7 days`")
        )
        return None
    first, then = side(ck, e.first), side(ck, e.then)
    seconds = window(ck, e.duration)
    if first is None or then is None or seconds is None:
        return None
    return ir.Sequence(first, then, seconds, e.negated, e.span)


def window(ck: Checker, d: ast.Duration) -> int | None:
    if d.unit not in UNIT_SECONDS:  # pragma: no cover - the grammar's units are all here
        ck.diags.append(error("E0151", f"a sequence's window cannot be measured in {d.unit}", d.span))
        return None
    seconds = window_seconds(d.amount, d.unit)
    if seconds > MAX_DAYS * UNIT_SECONDS["days"]:
        ck.diags.append(
            error("E0118", f"a window of {d.amount:,} {d.unit} is too long", d.span,
                  help=f"the longest span is {MAX_DAYS:,} days")
        )
        return None
    if seconds <= 0:
        ck.diags.append(
            error("E0151", "a sequence's window must be longer than zero", d.span, label="no time to follow",
                  help="`within 0 days` leaves no instant after the first event; give at least `within 1 day`")
        )
        return None
    return seconds


def side(ck: Checker, e: ast.Events) -> ir.Events | None:
    src = ck.source(e.source)
    if src is None:
        return None
    if src.time is None:
        stamps = [f.name for f in src.fields.values() if f.kind is Kind.TIMESTAMP]
        example = stamps[0] if stamps else "<timestamp column>"
        ck.diags.append(
            error("E0150", f"`{src.entity}` is not an event source: the schema declares no `time` for it",
                  e.source.span, label="no time column",
                  help=f'add `time = "{example}"` under `[sources.{src.entity}]` in the schema'
                  + (f" (its timestamp columns: {one_of(stamps)})" if len(stamps) > 1 else "")
                  if stamps else f"`{src.entity}` has no timestamp column; declare one and name it with `time`")
        )
        return None
    where = None
    if e.where is not None:
        inner = type(ck)(src)
        where = inner.expr(e.where)
        ck.diags.extend(inner.diags)
        if where is None or any(d.is_error for d in inner.diags):
            return None
    return ir.Events(src.entity, src.table, src.entity_key or "", src.time, where)
