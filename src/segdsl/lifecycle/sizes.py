"""Exact segment sizes, in memory on a project's CSV data or on a SQL database.

Both paths evaluate the same checked rules at one pinned as-of instant, so the same
data gives the same sizes; every size is computed, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.lifecycle.cutoffs import CutoffError, RankCutoff, cutoffs_in_memory, cutoffs_on_database
from segdsl.schema.model import Schema


@attrs.frozen
class Size:
    segment: ir.Segment
    size: int
    total: int
    #: Where each ranking the segment's rule reaches was cut (see lifecycle/cutoffs.py).
    cutoffs: tuple[RankCutoff, ...] = ()

    @property
    def share(self) -> float:
        return self.size / self.total if self.total else 0.0


def sizes_in_memory(
    segments: Sequence[ir.Segment], schema: Schema, data_dir: Path, as_of: dt.datetime
) -> list[Size]:
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile

    table = load_profile(schema, data_dir, [s.rule for s in segments], as_of)
    return [Size(s, int(evaluate(s.rule, table, as_of).sum()), table.n_rows, cutoffs_in_memory(s.rule, table, as_of))
            for s in segments]


def sizes_on_database(
    segments: Sequence[ir.Segment], schema: Schema, dsn: str, as_of: dt.datetime
) -> list[Size]:
    from segdsl.data.engines import fetch_count
    from segdsl.data.loading import open_loaded
    from segdsl.backends.sql import compile_rule

    with open_loaded(dsn, schema) as engine:
        total_sql = compile_rule(ir.Const(True), schema, target=engine.dialect, form="count").sql
        total = fetch_count(engine, total_sql)
        out = []
        for s in segments:
            compiled = compile_rule(
                s.rule, schema, target=engine.dialect, form="count", as_of=as_of, params=engine.binds_named_params,
                pretty=False,
            )
            if not compiled.ok:
                raise SizeError(compiled.diagnostics)
            try:
                cuts = cutoffs_on_database(s.rule, schema, engine, as_of)
            except CutoffError as exc:
                raise SizeError(exc.diagnostics) from None
            out.append(Size(s, fetch_count(engine, compiled.sql, compiled.params), total, cuts))
        return out


class SizeError(Exception):
    def __init__(self, diagnostics):
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.diagnostics[0].message if self.diagnostics else "cannot size")


@attrs.frozen
class Overlap:
    a: ir.Segment
    b: ir.Segment
    both: int
    size_a: int
    size_b: int

    @property
    def jaccard(self) -> float:
        union = self.size_a + self.size_b - self.both
        return self.both / union if union else 0.0


def overlaps_in_memory(
    segments: Sequence[ir.Segment], schema: Schema, data_dir: Path, as_of: dt.datetime
) -> list[Overlap]:
    """How many members each pair of segments shares, from the members' masks."""
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile

    table = load_profile(schema, data_dir, [s.rule for s in segments], as_of)
    masks = [evaluate(s.rule, table, as_of) for s in segments]
    sizes = [int(m.sum()) for m in masks]
    return [
        Overlap(segments[i], segments[j], int((masks[i] & masks[j]).sum()), sizes[i], sizes[j])
        for i in range(len(segments))
        for j in range(i + 1, len(segments))
    ]


def overlaps_on_database(
    segments: Sequence[ir.Segment], schema: Schema, dsn: str, as_of: dt.datetime
) -> list[Overlap]:
    """The same, counted by the database: membership of both, as one rule per pair."""
    from segdsl.data.engines import fetch_count
    from segdsl.data.loading import open_loaded
    from segdsl.backends.sql import compile_rule

    def count(engine, rule: ir.Node) -> int:
        compiled = compile_rule(rule, schema, target=engine.dialect, form="count", as_of=as_of,
                                params=engine.binds_named_params, pretty=False)
        if not compiled.ok:
            raise SizeError(compiled.diagnostics)
        return fetch_count(engine, compiled.sql, compiled.params)

    with open_loaded(dsn, schema) as engine:
        sizes = [count(engine, s.rule) for s in segments]
        out = []
        for i in range(len(segments)):
            for j in range(i + 1, len(segments)):
                a, b = segments[i], segments[j]
                both = count(engine, ir.And((ir.Member(a.name, a.rule), ir.Member(b.name, b.rule))))
                out.append(Overlap(a, b, both, sizes[i], sizes[j]))
        return out
