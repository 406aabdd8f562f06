"""What a refresh would change, before doing it (``segdsl plan``).

The segments a refresh with the same arguments would refresh are chosen by the same
decision (:func:`segdsl.lifecycle.refresh.plan`: cadence, manual segments, changed
definitions — a referenced segment's included); each is evaluated at the as-of instant,
exactly as a refresh would evaluate it, and compared with its last snapshot in the
state store: who would enter, who would exit, and which journeys and syncs the change
reaches. The others are listed with the reason they are skipped. Nothing is written,
and a store that does not exist yet is not created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.diagnostics import Diagnostic
from segdsl.lifecycle.cutoffs import CutoffError, RankCutoff
from segdsl.schema.model import Schema


#: The actions of a segment the refresh would store a snapshot of.
REFRESHED = ("create", "update", "no change")


@attrs.frozen
class SegmentChange:
    """One segment's planned refresh: ``create`` (never refreshed), ``update`` or
    ``no change``; or, for a segment the refresh would skip, why: ``not due``,
    ``manual``, ``already`` (refreshed at this as-of) or ``behind`` (refreshed at a
    later one), with ``reason`` in words. Sizes before (``None`` when new) and after (a
    skipped segment keeps its size), the entered and exited counts, and the journeys and
    sync consumers that read the segment."""

    segment: str
    action: str
    size_before: int | None
    size: int | None
    entered: int
    exited: int
    journeys: tuple[str, ...] = ()
    syncs: tuple[str, ...] = ()
    reason: str = ""
    #: Where each ranking the segment's rule reaches was cut at the as-of.
    cutoffs: tuple[RankCutoff, ...] = ()

    @property
    def refreshed(self) -> bool:
        """Whether the refresh would store a new snapshot of this segment."""
        return self.action in REFRESHED


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
        """The segments whose membership the refresh would change (or create)."""
        return tuple(c for c in self.segments if c.action in ("create", "update"))


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
    everything: bool = False,
    only: Collection[str] = (),
) -> RefreshPreview:
    """Plan refreshing ``segments`` (those of the project at ``root``, whose
    ``journeys`` may act on them) at ``as_of``, as ``refresh`` with ``everything``
    (``--all``) and ``only`` (``--segment``) would. ``state`` and ``dsn`` choose the
    store and the database as :func:`segdsl.lifecycle.refresh.open_project_store` does;
    members come from ``dsn`` when given, else from the CSV data in ``data_dir``."""
    from segdsl.lifecycle.refresh import (
        EvaluationError,
        members_in_memory,
        members_on_database,
        plan,
        read_project_store,
        store_location,
    )
    from segdsl.lifecycle.state import StateError, shown_location

    if not dsn and data_dir is None:
        raise StateError("no data to evaluate on: pass a data directory or a database")
    try:
        location = shown_location(store_location(root, state, dsn)[0])
    except StateError:  # files in no project, and no --state: nothing to compare with
        location, store = "none", None
    else:
        store = read_project_store(root, state, dsn)
    try:
        plans = plan(segments, store.heads() if store else {}, as_of, everything=everything, only=only)
        due = [p.segment for p in plans if p.due]
        if dsn:
            members = members_on_database(due, schema, dsn, as_of)
            cutoffs = _cutoffs(due, schema, as_of, dsn=dsn)
        else:
            members = members_in_memory(due, schema, data_dir, as_of)
            cutoffs = _cutoffs(due, schema, as_of, data_dir=data_dir)
    except (EvaluationError, CutoffError) as exc:
        if store is not None:
            store.close()
        return RefreshPreview(schema.entity, "none", as_of, diagnostics=exc.diagnostics)
    except BaseException:
        if store is not None:
            store.close()
        raise
    journeys_of: dict[str, list[str]] = {}
    for j in journeys.values():
        for n in ir.walk(j.audience):
            if isinstance(n, ir.Member):
                journeys_of.setdefault(n.segment, [])
                if j.name not in journeys_of[n.segment]:
                    journeys_of[n.segment].append(j.name)
    changes = []
    try:
        for p in plans:
            seg, head = p.segment, p.head
            syncs = tuple(store.consumers(seg.name)) if store else ()
            if not p.due:
                size = head.size if head is not None else None
                changes.append(SegmentChange(seg.name, p.status, size, size, 0, 0,
                                             tuple(journeys_of.get(seg.name, [])), syncs, p.reason))
                continue
            now = set(members[seg.name])
            before = set(store.members(seg.name)) if head else set()
            entered, exited = len(now - before), len(before - now)
            action = "create" if head is None else ("update" if entered or exited else "no change")
            changes.append(SegmentChange(
                seg.name, action, len(before) if head else None, len(now), entered, exited,
                tuple(journeys_of.get(seg.name, [])), syncs, p.reason, cutoffs.get(seg.name, ()),
            ))
    finally:
        if store is not None:
            store.close()
    return RefreshPreview(schema.entity, location, as_of, tuple(changes))


# --------------------------------------------------------- against a revision


@attrs.frozen
class DefinitionChange:
    """A segment whose definition differs between a git revision and the work tree:
    ``added``, ``removed`` or ``changed`` (its rule, or a rule it refers to), with its
    size under each (``None`` where it does not exist) and who would enter and exit."""

    segment: str
    change: str
    size_before: int | None
    size: int | None
    entered: int
    exited: int


@attrs.frozen
class RevisionPreview:
    """What the work tree's segments change against the revision ``base`` (``commit``),
    all evaluated on the same data at ``as_of``; ``unchanged`` counts the rest."""

    entity: str
    base: str
    commit: str
    as_of: dt.datetime
    evaluated: str
    segments: tuple[DefinitionChange, ...] = ()
    unchanged: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def preview_against(
    head: Sequence[ir.Segment], base: Mapping[str, ir.Segment], base_schema: Schema, schema: Schema,
    as_of: dt.datetime, *, base_name: str, commit: str, dsn: str | None = None, data_dir: Path | None = None,
) -> RevisionPreview:
    """Compare the segments ``head`` (the work tree's) with those of the same names in
    ``base`` (and those of ``base`` that ``head`` lacks, which are ``removed``): each
    whose definition differs (:func:`segdsl.lifecycle.refresh.definition_hash`, which
    takes in the rules it refers to) is evaluated both ways on the same data."""
    from segdsl.lifecycle.refresh import definition_hash, members_in_memory, members_on_database

    names = {s.name for s in head}
    now = {s.name: s for s in head}
    changes: list[tuple[str, str]] = []
    unchanged = 0
    for seg in head:
        old = base.get(seg.name)
        if old is None:
            changes.append((seg.name, "added"))
        elif definition_hash(old) != definition_hash(seg):
            changes.append((seg.name, "changed"))
        else:
            unchanged += 1
    changes += [(name, "removed") for name in base if name not in names]

    def evaluate(segments: list[ir.Segment], of: Schema) -> dict[str, set]:
        if not segments:
            return {}
        found = members_on_database(segments, of, dsn, as_of) if dsn else \
            members_in_memory(segments, of, data_dir, as_of)
        return {k: set(v) for k, v in found.items()}

    after = evaluate([now[n] for n, c in changes if c != "removed"], schema)
    before = evaluate([base[n] for n, c in changes if c != "added"], base_schema)
    out = []
    for name, change in changes:
        a, b = after.get(name), before.get(name)
        out.append(DefinitionChange(name, change, None if b is None else len(b), None if a is None else len(a),
                                    len((a or set()) - (b or set())), len((b or set()) - (a or set()))))
    return RevisionPreview(schema.entity, base_name, commit, as_of, "database" if dsn else "in memory", tuple(out),
                           unchanged)


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
