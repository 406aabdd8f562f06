"""Refresh: which segments are due by their cadence, their members at one as-of
instant, and the snapshot + entered/exited events committed in one transaction.

A segment is due when it was never refreshed, when its cadence has elapsed since its
last refresh (hourly 1 h, daily 1 day, weekly 7 days, measured between as-of instants),
or when its definition changed since; ``manual`` segments only when asked for
(``--all`` or ``--segment``). Members come from the in-memory evaluator on the
project's CSV data or from the database, exactly as ``segdsl size`` counts them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from segdsl import ir
from segdsl.project.workspace import configured_name
from segdsl.schema.model import Field, Schema
from segdsl.lifecycle.state import Run, Snapshot, StateError, Store, is_postgres_dsn

PERIODS = {"hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
STATE_DIR = ".segdsl"
STATE_FILE = "state.db"


# ------------------------------------------------------------------- due-ness


@attrs.frozen
class Plan:
    segment: ir.Segment
    status: str  # due | not due | manual | already | behind
    reason: str
    head: Run | None
    next_due: dt.datetime | None = None

    @property
    def due(self) -> bool:
        return self.status == "due"


def definition_hash(segment: ir.Segment) -> str:
    """A fingerprint of what decides membership: the kind and the checked rule, with
    referenced segments' rules (as fingerprints of their own, each computed once) and
    traits' definitions inlined, spans and docs left out."""
    return _digest([segment.kind, _canon(segment.rule, {})])


def _digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _canon(value: Any, seen: dict[int, str]) -> Any:
    if isinstance(value, Field):
        return ["field", value.name, value.column, str(value.type), value.derive_text, value.days_since]
    if isinstance(value, ir.Member):
        # The referenced rule is shared by every reference: fingerprinted once, not
        # written out at each (a chain of segments each testing the last twice).
        if id(value.rule) not in seen:
            seen[id(value.rule)] = _digest(_canon(value.rule, seen))
        return ["Member", value.segment, seen[id(value.rule)]]
    if attrs.has(type(value)):
        return [type(value).__name__,
                *(_canon(getattr(value, a.name), seen) for a in attrs.fields(type(value)) if a.name != "span")]
    if isinstance(value, (tuple, list)):
        return [_canon(v, seen) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canon(v, seen) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{type(value).__name__}:{value.isoformat()}"
    return f"{type(value).__name__}:{value}"


def plan(
    segments: Sequence[ir.Segment], heads: Mapping[str, Run], as_of: dt.datetime, *,
    everything: bool = False, only: Collection[str] = (),
) -> list[Plan]:
    """Decide, for each segment, whether it is refreshed at ``as_of`` and why."""
    out = []
    for seg in segments:
        head = heads.get(seg.name)
        changed = head is not None and head.definition_hash != definition_hash(seg)
        if head is not None and as_of < head.as_of:
            out.append(Plan(seg, "behind", f"already refreshed at the later {_stamp(head.as_of)}", head))
        elif head is not None and as_of == head.as_of:
            out.append(Plan(seg, "already", "already refreshed at this as-of", head))
        elif everything or seg.name in only:
            out.append(Plan(seg, "due", "--all" if everything else "--segment", head))
        elif seg.refresh == "manual":
            why = "refresh with --segment NAME or --all"
            if changed:
                why = f"definition changed since {_stamp(head.as_of)}: refresh with --segment {seg.name}"
            out.append(Plan(seg, "manual", why, head))
        elif head is None:
            out.append(Plan(seg, "due", "never refreshed", head))
        elif changed:
            out.append(Plan(seg, "due", f"definition changed since {_stamp(head.as_of)}", head))
        else:
            next_due = head.as_of + PERIODS[seg.refresh]
            if as_of >= next_due:
                out.append(Plan(seg, "due", f"{seg.refresh}, last refreshed {_stamp(head.as_of)}", head, next_due))
            else:
                out.append(Plan(seg, "not due", f"{seg.refresh}, next due {_stamp(next_due)}", head, next_due))
    return out


def _stamp(instant: dt.datetime) -> str:
    return instant.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------- members


class EvaluationError(Exception):
    def __init__(self, diagnostics):
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.diagnostics[0].message if self.diagnostics else "cannot evaluate")


def members_in_memory(
    segments: Sequence[ir.Segment], schema: Schema, data_dir: Path, as_of: dt.datetime
) -> dict[str, list]:
    """Each segment's member keys, evaluated on the project's CSV data."""
    return {name: keys.tolist() for name, keys in member_arrays_in_memory(segments, schema, data_dir, as_of).items()}


def member_arrays_in_memory(
    segments: Sequence[ir.Segment], schema: Schema, data_dir: Path, as_of: dt.datetime
) -> dict[str, Any]:
    """As :func:`members_in_memory`, each segment's keys as a numpy array: 8 bytes a key
    rather than about 60 for a Python int in a set, which matters at millions of members."""
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile

    if not segments:
        return {}
    table = load_profile(schema, data_dir, [s.rule for s in segments], as_of)
    keys = table.columns[schema.key.column].values
    return {s.name: keys[evaluate(s.rule, table, as_of)] for s in segments}


def members_on_database(
    segments: Sequence[ir.Segment], schema: Schema, dsn: str, as_of: dt.datetime
) -> dict[str, list]:
    """Each segment's member keys, selected by the database with the compiled rule."""
    from segdsl.data.engines import fetch_keys
    from segdsl.data.loading import open_loaded
    from segdsl.backends.sql import compile_rule

    if not segments:
        return {}
    out = {}
    with open_loaded(dsn, schema) as engine:
        for s in segments:
            compiled = compile_rule(s.rule, schema, target=engine.dialect, form="select", as_of=as_of,
                                    params=engine.binds_named_params)
            if not compiled.ok:
                raise EvaluationError(compiled.diagnostics)
            out[s.name] = fetch_keys(engine, compiled.sql, compiled.params)
    return out


# ------------------------------------------------------------------- refresh


@attrs.frozen
class Outcome:
    """What one refresh did for one segment."""

    segment: ir.Segment
    refreshed: bool
    status: str  # refreshed | not due | manual | already | behind
    reason: str
    size: int | None
    entered: int = 0
    exited: int = 0
    next_due: dt.datetime | None = None


def refresh(
    store: Store, segments: Sequence[ir.Segment], schema: Schema, as_of: dt.datetime, *,
    everything: bool = False, only: Collection[str] = (), data_dir: Path | None = None, dsn: str | None = None,
    splits: Collection[ir.Split | ir.Holdout] = (),
) -> list[Outcome]:
    """Refresh the due segments among ``segments`` at ``as_of``: evaluate them all at
    that one instant, then store every snapshot and its events in one transaction.
    ``splits``: the project's splits and holdouts; the assignment of each one a
    refreshed segment reads is recorded the first time (see :func:`recorded_assignments`)."""
    plans = plan(segments, store.heads(), as_of, everything=everything, only=only)
    due = [p.segment for p in plans if p.due]
    if dsn is not None:
        found = members_on_database(due, schema, dsn, as_of)
    elif due:
        if data_dir is None:
            raise StateError("no data to evaluate on: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        found = member_arrays_in_memory(due, schema, data_dir, as_of)
    else:
        found = {}
    snapshots = [Snapshot(s.name, found.pop(s.name), definition_hash(s)) for s in due]
    committed = {c.segment: c for c in (store.commit(as_of, snapshots) if snapshots else [])}
    _record_assignments(store, [s for s in due if s.name in committed], splits)
    out = []
    for p in plans:
        c = committed.get(p.segment.name)
        if c is None:
            size = p.head.size if p.head is not None else None
            out.append(Outcome(p.segment, False, p.status, p.reason, size, next_due=p.next_due))
        elif c.status == "refreshed":
            out.append(Outcome(p.segment, True, "refreshed", p.reason, c.run.size, c.entered, c.exited,
                               _next_due(p.segment, as_of)))
        else:  # a concurrent refresh committed this as-of (or a later one) first
            reason = "already refreshed at this as-of" if c.status == "already" else \
                f"already refreshed at the later {_stamp(c.run.as_of)}"
            out.append(Outcome(p.segment, False, c.status, reason, c.run.size))
    return out


def _record_assignments(store: Store, refreshed: Sequence[ir.Segment],
                        decls: Collection[ir.Split | ir.Holdout]) -> None:
    """Record, once, the assignment of each split and holdout the refreshed segments'
    rules read (by its salt): the baseline W0231 compares later declarations with."""
    if not decls or not refreshed:
        return
    from segdsl.check.splits import assignment_name, assignment_text

    salts = {n.salt for seg in refreshed for n in ir.walk(seg.rule) if n.__class__ is ir.Bucket}
    for decl in decls:
        if decl.salt in salts:
            store.remember(assignment_name(decl), assignment_text(decl))


def recorded_assignments(store: Store, decls: Collection[ir.Split | ir.Holdout]) -> dict[str, str]:
    """The assignments the store recorded for ``decls``, by name (none for those never
    read by a refreshed segment)."""
    from segdsl.check.splits import assignment_name

    out = {}
    for decl in decls:
        value = store.meta(assignment_name(decl))
        if value is not None:
            out[assignment_name(decl)] = value
    return out


def _next_due(segment: ir.Segment, as_of: dt.datetime) -> dt.datetime | None:
    period = PERIODS.get(segment.refresh)
    return as_of + period if period else None


# ------------------------------------------------------------------- projects


def project_name(root: Path) -> str:
    """The project's name in its own store: ``name`` in segdsl.toml, else its
    directory's name (which that store then keeps, see :func:`open_project_store`)."""
    return configured_name(root) or root.resolve().name


def default_state_path(root: Path) -> Path:
    return root / STATE_DIR / STATE_FILE


def store_location(root: Path | None, state: str | None, dsn: str | None) -> tuple[str | Path, bool]:
    """Where the project at ``root`` keeps its state, and whether that is the
    project's own store (``<root>/.segdsl/state.db``, in its checkout) rather than one
    that other checkouts and projects may share (Postgres, or ``--state PATH``)."""
    if state:
        own = root is not None and not is_postgres_dsn(state) and \
            Path(state).resolve() == default_state_path(root).resolve()
        return state, own
    if dsn and is_postgres_dsn(dsn):
        return dsn, False
    if root is None:
        raise StateError("these files are in no project (no segdsl.toml), so there is no default state "
                         "store; pass --state PATH")
    return default_state_path(root), True


def _shared_store_name(root: Path, location: str | Path, timeout: float | None) -> str:
    """A shared store needs the name in segdsl.toml: a directory's name differs between
    checkouts, and under another name every member would enter again, with new
    idempotency keys a receiver cannot recognise."""
    from segdsl.lifecycle.state import read_store, shown_location

    name = configured_name(root)
    if name is not None:
        return name
    held: list[str] = []
    store = read_store(location, "", timeout=timeout)
    if store is not None:
        with store:
            held = store.projects()
    guess = root.resolve().name
    message = (f"{root / 'segdsl.toml'} has no `name`; the state store {shown_location(location)} may be shared "
               "by other checkouts and projects, which know this project by its name (the same in every "
               f"checkout, unlike its directory's): add `name = \"{guess}\"` to segdsl.toml")
    if guess in held:
        message += f" (the store holds history for `{guess}`, which that name continues)"
    elif held:
        message += f" (the store holds history for: {', '.join(f'`{p}`' for p in held)})"
    raise StateError(message)


def _pin_name(store: Store, root: Path) -> None:
    """The project's own store keeps the name it was first written under, so renaming
    the directory does not make every segment look new (and re-enter everyone). A
    ``name`` set later takes over only if the store holds no history under the old one."""
    configured = configured_name(root)
    name = configured or root.resolve().name
    pinned = store.remember("project", name)
    if pinned == name or configured is None:
        store.project = pinned
        return
    if pinned in store.projects():
        raise StateError(f"the state store {store.location} holds this project's history as `{pinned}`, but "
                         f"segdsl.toml names it `{configured}`: set `name = \"{pinned}\"` to continue that "
                         "history, or move the store aside to start afresh")
    store.project = store.remember("project", name, replace=True)


def open_project_store(
    root: Path | None, state: str | None, dsn: str | None, *, create: bool = True, timeout: float | None = None
) -> Store:
    """The store for the project at ``root``: ``state`` (a path or a Postgres DSN) if
    given; else Postgres when ``dsn`` is a Postgres DSN; else ``<root>/.segdsl/state.db``.
    A store other than the project's own needs ``name`` in segdsl.toml."""
    from segdsl.lifecycle.state import open_store, prepare_state_dir

    location, own = store_location(root, state, dsn)
    if root is None:
        return open_store(location, "default", create=create, timeout=timeout)
    if not own:
        return open_store(location, _shared_store_name(root, location, timeout), create=create, timeout=timeout)
    if create:
        prepare_state_dir(Path(location).parent)
    store = open_store(location, project_name(root), create=create, timeout=timeout)
    try:
        _pin_name(store, root)
    except BaseException:
        store.close()
        raise
    return store


def read_project_store(
    root: Path | None, state: str | None, dsn: str | None, *, timeout: float | None = None
) -> Store | None:
    """As :func:`open_project_store`, opened for reading only; None when the store does
    not exist yet (no file, no tables), which is "no previous state". Nothing is
    written: no file, table or directory is created."""
    from segdsl.lifecycle.state import read_store

    location, own = store_location(root, state, dsn)
    if root is None:
        return read_store(location, "default", timeout=timeout)
    if not own:
        return read_store(location, _shared_store_name(root, location, timeout), timeout=timeout)
    store = read_store(location, project_name(root), timeout=timeout)
    if store is not None:
        try:
            _pin_name(store, root)
        except BaseException:
            store.close()
            raise
    return store
