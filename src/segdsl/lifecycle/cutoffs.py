"""Where each ranking of a segment was cut at an as-of (``plan`` and ``size`` print it):
the worst value still in, its rank, and how many were ranked, found from the ranked
values of the population in memory or on a database by the one rule of
:func:`segdsl.ir.semantics.rank_cutoff`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from segdsl import ir
from segdsl.ir.semantics import Cutoff, as_of_date, rank_cutoff
from segdsl.schema.model import Kind


@attrs.frozen
class RankCutoff:
    """One ranking's cut-off: ``ranking`` as written, the ``ranked`` value's name, the
    worst ``value`` still in (for ``days_since``, a number of days), for top N the
    ``key`` that won the tie at it, that value's ``rank``, how many entities were
    ``ranked`` (N) and how many made it (``members``). ``value`` and ``rank`` are None
    when no entity of the population has a value."""

    ranking: str
    ranked: str
    value: Any
    key: Any
    rank: int | None
    n: int
    members: int
    days: bool = False
    top: bool = False

    def __str__(self) -> str:
        if self.rank is None:
            return f"{self.ranking}: nothing ranked (no entity of the population has a {self.ranked})"
        # Better is greater, and for days_since more days: either way the cut-off is a floor.
        key = f'"{self.key}"' if isinstance(self.key, str) else str(self.key)
        tie = f", ties at it to keys ≤ {key}" if self.top else ""
        return (f"{self.ranking}: cut-off {self.ranked} ≥ {_shown(self.value)}{tie} "
                f"(rank {self.rank:,} of {self.n:,})")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, Decimal)):
        return format(value, ",")
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def describe(rank: ir.Rank, cut: Cutoff | None, as_of: dt.datetime) -> RankCutoff:
    ranked = f"days_since({rank.field.name})" if rank.days else rank.field.name
    text = rank.text or ranked
    if cut is None:
        return RankCutoff(text, ranked, None, None, None, 0, 0, rank.days, rank.limit is not None)
    value = cut.value
    if rank.days:  # the earliest day still in, as the days since it
        value = (as_of_date(as_of) - value).days
    return RankCutoff(text, ranked, value, cut.key, cut.rank, cut.n, cut.members, rank.days, rank.limit is not None)


def _pairs(rank: ir.Rank, rows: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(value as ranked, key) of rows of (key, value) whose value is not NULL."""
    day = rank.days and rank.field.kind is Kind.TIMESTAMP
    return [(as_of_date(v) if day else v, k) for k, v in rows if v is not None]


def cutoffs_in_memory(rule: ir.Node, table, as_of: dt.datetime) -> tuple[RankCutoff, ...]:
    """The cut-offs of the rankings ``rule`` reaches, over a profile ``Table``."""
    import numpy as np

    from segdsl.backends.memory.columnar import evaluate

    out = []
    key = table.schema.key.column
    for rank in ir.rankings(rule):
        rows = table.iter_rows([key, rank.field.column])
        if rank.population is not None:
            inside = evaluate(rank.population, table, as_of)
            at = set(np.flatnonzero(inside).tolist())
            rows = (r for i, r in enumerate(rows) if i in at)
        out.append(describe(rank, rank_cutoff(_pairs(rank, rows), rank), as_of))
    return tuple(out)


def cutoffs_on_database(rule: ir.Node, schema, engine, as_of: dt.datetime) -> tuple[RankCutoff, ...]:
    """The same, with the population and the values read from a database."""
    from segdsl.backends.sql import compile_ranked
    from segdsl.backends.sql.storage import python_value
    from segdsl.backends.sql.targets import get_target

    target = get_target(engine.dialect)
    out = []
    for rank in ir.rankings(rule):
        compiled = compile_ranked(rank, schema, target=engine.dialect, as_of=as_of,
                                  params=engine.binds_named_params)
        if not compiled.ok:
            raise CutoffError(compiled.diagnostics)
        f = rank.field
        rows = ((k, python_value(target, f, v))
                for k, v in engine.execute(compiled.sql, compiled.params))
        out.append(describe(rank, rank_cutoff(_pairs(rank, rows), rank), as_of))
    return tuple(out)


def resolved_on_database(rule: ir.Node, schema, engine, as_of: dt.datetime) -> dict:
    """Each ranking ``rule`` reaches, resolved on a database as the row evaluator
    resolves it over a table (``segdsl.backends.memory.row.Resolved``, by ranking id):
    the population's keys, and the cut-off of its ranked values."""
    from segdsl.backends.memory.row import Resolved
    from segdsl.backends.sql import compile_ranked, compile_rule
    from segdsl.backends.sql.storage import python_value
    from segdsl.backends.sql.targets import get_target
    from segdsl.data.engines import fetch_keys

    target = get_target(engine.dialect)
    out = {}
    for rank in ir.rankings(rule):
        population = compile_rule(rank.population if rank.population is not None else ir.Const(True), schema,
                                  target=engine.dialect, as_of=as_of, params=engine.binds_named_params, pretty=False)
        ranked = compile_ranked(rank, schema, target=engine.dialect, as_of=as_of, params=engine.binds_named_params)
        for compiled in (population, ranked):
            if not compiled.ok:
                raise CutoffError(compiled.diagnostics)
        keys = frozenset(fetch_keys(engine, population.sql, population.params))
        f = rank.field
        rows = ((k, python_value(target, f, v)) for k, v in engine.execute(ranked.sql, ranked.params))
        out[id(rank)] = Resolved(schema.key.column, keys, rank_cutoff(_pairs(rank, rows), rank))
    return out


class CutoffError(Exception):
    def __init__(self, diagnostics: Sequence):
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.diagnostics[0].message if self.diagnostics else "cannot find a cut-off")
