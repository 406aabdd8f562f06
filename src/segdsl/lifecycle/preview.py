"""What a refresh would change, before doing it (``segdsl plan``).

Each segment is evaluated at the as-of instant, exactly as a refresh would evaluate it,
and compared with its last snapshot in the state store: who would enter, who would
exit, and which journeys and syncs the change reaches. Nothing is written, and a store
that does not exist yet is not created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.diagnostics import Diagnostic
from segdsl.lifecycle.cutoffs import CutoffError, RankCutoff
from segdsl.schema.model import Schema


@attrs.frozen
class SegmentChange:
    """One segment's planned refresh: ``create`` (never refreshed), ``update`` or
    ``no change``; sizes before (``None`` when new) and after, the entered and exited
    counts, and the journeys and sync consumers that read the segment."""

    segment: str
    action: str
    size_before: int | None
    size: int
    entered: int
    exited: int
    journeys: tuple[str, ...] = ()
    syncs: tuple[str, ...] = ()
    #: Where each ranking the segment's rule reaches was cut at the as-of.
    cutoffs: tuple[RankCutoff, ...] = ()


@attrs.frozen
class RefreshPreview:
    """The planned changes of one project's segments, against the store ``state``."""

    entity: str
    state: str
    as_of: dt.datetime
    segments: tuple[SegmentChange, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def changed(self) -> tuple[SegmentChange, ...]:
        return tuple(c for c in self.segments if c.action != "no change")


def preview_refresh(
    segments: Sequence[ir.Segment],
    journeys: Mapping[str, ir.Journey],
    schema: Schema,
    as_of: dt.datetime,
    *,
    root: Path | None = None,
    state: str | None = None,
    dsn: str | None = None,
    data_dir: Path | None = None,
) -> RefreshPreview:
    """Plan refreshing ``segments`` (those of the project at ``root``, whose
    ``journeys`` may act on them) at ``as_of``. ``state`` and ``dsn`` choose the store
    and the database as :func:`segdsl.lifecycle.refresh.open_project_store` does;
    members come from ``dsn`` when given, else from the CSV data in ``data_dir``."""
    from segdsl.lifecycle.refresh import (
        EvaluationError,
        members_in_memory,
        members_on_database,
        read_project_store,
        store_location,
    )
    from segdsl.lifecycle.state import StateError, shown_location

    if dsn:
        try:
            members = members_on_database(segments, schema, dsn, as_of)
            cutoffs = _cutoffs(segments, schema, as_of, dsn=dsn)
        except (EvaluationError, CutoffError) as exc:
            return RefreshPreview(schema.entity, "none", as_of, diagnostics=exc.diagnostics)
    elif data_dir is not None:
        members = members_in_memory(segments, schema, data_dir, as_of)
        cutoffs = _cutoffs(segments, schema, as_of, data_dir=data_dir)
    else:
        raise StateError("no data to evaluate on: pass a data directory or a database")
    try:
        location = shown_location(store_location(root, state, dsn)[0])
    except StateError:  # files in no project, and no --state: nothing to compare with
        location, store = "none", None
    else:
        store = read_project_store(root, state, dsn)
    journeys_of: dict[str, list[str]] = {}
    for j in journeys.values():
        for n in ir.walk(j.audience):
            if isinstance(n, ir.Member):
                journeys_of.setdefault(n.segment, [])
                if j.name not in journeys_of[n.segment]:
                    journeys_of[n.segment].append(j.name)
    changes = []
    try:
        for seg in segments:
            now = set(members[seg.name])
            head = store.head(seg.name) if store else None
            before = set(store.members(seg.name)) if head else set()
            entered, exited = len(now - before), len(before - now)
            action = "create" if head is None else ("update" if entered or exited else "no change")
            changes.append(SegmentChange(
                seg.name, action, len(before) if head else None, len(now), entered, exited,
                tuple(journeys_of.get(seg.name, [])), tuple(store.consumers(seg.name)) if store else (),
                cutoffs.get(seg.name, ()),
            ))
    finally:
        if store is not None:
            store.close()
    return RefreshPreview(schema.entity, location, as_of, tuple(changes))


def _cutoffs(segments: Sequence[ir.Segment], schema: Schema, as_of: dt.datetime, *, dsn: str | None = None,
             data_dir: Path | None = None) -> dict[str, tuple[RankCutoff, ...]]:
    """The cut-offs of the segments that rank (none read anything when none does)."""
    from segdsl.lifecycle.cutoffs import cutoffs_in_memory, cutoffs_on_database

    ranking = [s for s in segments if ir.rankings(s.rule)]
    if not ranking:
        return {}
    if dsn:
        from segdsl.data.loading import open_loaded

        with open_loaded(dsn, schema) as engine:
            return {s.name: cutoffs_on_database(s.rule, schema, engine, as_of) for s in ranking}
    from segdsl.backends.memory.profile import load_profile

    table = load_profile(schema, data_dir, [s.rule for s in ranking], as_of)
    return {s.name: cutoffs_in_memory(s.rule, table, as_of) for s in ranking}
