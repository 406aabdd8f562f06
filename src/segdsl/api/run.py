"""The API for running rules: SQL for any target, members and sizes in memory or on a
database, a refresh's plan, and loading a database with the project's data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from segdsl.api.results import (
    AsOf,
    CheckedRule,
    DatabaseLoad,
    JourneyReport,
    MemberReport,
    PathLike,
    RuleLike,
    SizeReport,
)
from segdsl.project.errors import UsageError

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.backends.sql import SqlResult, Target
    from segdsl.diagnostics import Diagnostic
    from segdsl.lifecycle.preview import RefreshPreview, RevisionPreview
    from segdsl.project.workspace import Workspace
    from segdsl.schema.model import Schema


# ------------------------------------------------------------------------- compile


def sql_target(name: str) -> Target:
    """The SQL target for a sqlglot dialect name (``postgres``, ``duckdb``, ``sqlite``,
    ``mysql``, ``bigquery`` ...); an unknown name is a :class:`UsageError`."""
    from segdsl.backends.sql import get_target

    target = get_target(name)
    if target is None:
        from segdsl.backends.sql.targets import DIALECT_ALIASES, dialect_name, dialect_names
        from segdsl.check.suggest import closest

        # Suggested from the real names and the aliases, always as the real name.
        best = closest(name.lower(), [*dialect_names(), *DIALECT_ALIASES])
        hint = (f"did you mean `{dialect_name(best[0])}`?" if best
                else f"choose from: {', '.join(dialect_names())}")
        raise UsageError(f"unknown dialect `{name}`; {hint}", "target")
    return target


def compile_sql(
    context: Workspace | Schema,
    rule: RuleLike,
    *,
    target: str = "postgres",
    form: str = "select",
    as_of: AsOf | None = None,
    params: bool = False,
    pretty: bool = True,
) -> SqlResult:
    """Compile a segment or rule to SQL for ``target`` (any sqlglot dialect).

    ``form`` is ``select`` (the member keys, in key order), ``count`` (the size) or
    ``view`` (``CREATE OR REPLACE VIEW segment_<name>``). ``as_of`` pins the evaluation
    instant; ``None`` uses the database's clock at query time. With ``params`` values
    are bound parameters, returned in ``SqlResult.params`` (not on Snowflake and Trino,
    whose clients bind positional markers: a :class:`UsageError`). A construct the target
    cannot express is a diagnostic in ``SqlResult.diagnostics``. A segment named in a
    workspace compiles when it checked, whatever errors other segments have; one that
    did not check gives back the errors of the files.
    """
    from segdsl import ir
    from segdsl.backends.sql import FORMS, SqlResult, compile_rule, compile_segment

    tgt = sql_target(target)
    if form not in FORMS:
        raise UsageError(f"unknown form `{form}`; use one of {', '.join(FORMS)}", "form")
    if params and not tgt.named_markers:
        raise UsageError(f"{tgt.dialect}: segdsl writes no parameter markers its clients bind by name; "
                         "compile without parameters (values are then literals, quoted safely)", "params")
    instant = None if as_of is None else parse_as_of(as_of)
    resolved = _resolve(context, rule)
    if isinstance(resolved, tuple):  # the diagnostics of a rule that did not check
        return SqlResult((), {}, resolved)
    schema = _schema_of(context)
    options = dict(target=target, form=form, as_of=instant, params=params, pretty=pretty)
    if isinstance(resolved, ir.Segment):
        return compile_segment(resolved, schema, **options)
    return compile_rule(resolved, schema, **options)


# ------------------------------------------------------------------------ evaluate


def sizes(
    workspace: Workspace,
    segments: RuleLike | Iterable[RuleLike] | None = None,
    *,
    as_of: AsOf | None = None,
    dsn: str | None = None,
    data: PathLike | None = None,
    overlap: bool = False,
) -> SizeReport:
    """Exact sizes of ``segments`` (default: every segment of the files loaded) at
    ``as_of`` (default: now): in memory on the project's CSV data (or ``data``), or on
    the database at ``dsn`` (a Postgres URL, ``duckdb:PATH``, ``sqlite:PATH``,
    ``mysql://...``). With ``overlap``, also how many members each pair shares."""
    from segdsl.lifecycle import sizes as sizing

    instant = parse_as_of("now" if as_of is None else as_of)
    where = "database" if dsn else "in memory"
    chosen = _chosen(workspace, segments)
    if isinstance(chosen, tuple):
        return SizeReport(instant, where, diagnostics=chosen)
    try:
        if dsn:
            found = sizing.sizes_on_database(chosen, workspace.schema, dsn, instant)
            pairs = sizing.overlaps_on_database(chosen, workspace.schema, dsn, instant) if overlap else []
        else:
            folder = _data(workspace, data)
            found = sizing.sizes_in_memory(chosen, workspace.schema, folder, instant)
            pairs = sizing.overlaps_in_memory(chosen, workspace.schema, folder, instant) if overlap else []
    except sizing.SizeError as exc:
        return SizeReport(instant, where, diagnostics=exc.diagnostics)
    return SizeReport(instant, where, tuple(found), tuple(pairs))


def members(
    workspace: Workspace,
    segments: RuleLike | Iterable[RuleLike] | None = None,
    *,
    as_of: AsOf | None = None,
    dsn: str | None = None,
    data: PathLike | None = None,
) -> MemberReport:
    """Each segment's member keys at ``as_of`` (default: now), in ascending order:
    in memory on the project's CSV data (or ``data``), or on the database at ``dsn``."""
    from segdsl.lifecycle.refresh import EvaluationError, members_in_memory, members_on_database

    instant = parse_as_of("now" if as_of is None else as_of)
    where = "database" if dsn else "in memory"
    chosen = _chosen(workspace, segments)
    if isinstance(chosen, tuple):
        return MemberReport(instant, where, diagnostics=chosen)
    try:
        if dsn:
            found = members_on_database(chosen, workspace.schema, dsn, instant)
        else:
            found = members_in_memory(chosen, workspace.schema, _data(workspace, data), instant)
    except EvaluationError as exc:
        return MemberReport(instant, where, diagnostics=exc.diagnostics)
    return MemberReport(instant, where, {name: tuple(sorted(keys)) for name, keys in found.items()})


def run_journey(
    workspace: Workspace,
    journey: str,
    *,
    as_of: AsOf | None = None,
    seed: int = 7,
    rates: PathLike | None = None,
    dsn: str | None = None,
) -> JourneyReport:
    """Enrol ``journey``'s audience at ``as_of`` and simulate its sends (``segdsl journey
    run``): each send reaches the enrolled contacts ``segdsl sync`` would list on its
    channel; each declared holdout's members who would otherwise be in the audience are
    compared with the treated audience. ``rates``: a TOML file of response rates.
    Raises :class:`~segdsl.lifecycle.journeys.JourneyError` (bad rates, or contacts that
    cannot be read) and :class:`UsageError` (no such journey, no data)."""
    import numpy as np

    from segdsl import ir
    from segdsl.lifecycle.journeys import JourneyError, load_rates, reachable_contacts, simulate, simulate_holdout
    from segdsl.lifecycle.sync import SyncError

    instant = parse_as_of("now" if as_of is None else as_of)
    target = workspace.journeys.get(journey)
    if target is None:
        from segdsl.check.suggest import did_you_mean

        known = workspace.journeys
        hint = did_you_mean(journey, known) or f"the journeys are: {', '.join(known) or '(none)'}"
        raise UsageError(f"no journey `{journey}`; {hint}", param="journey")
    if not dsn and workspace.data_dir is None:
        raise UsageError("no data: set `data` in segdsl.toml or pass a database", param="dsn")

    def keys(rule: ir.Node) -> np.ndarray | tuple[Diagnostic, ...]:
        found = members(workspace, [expression_segment(rule, "audience")], as_of=instant, dsn=dsn)
        return found.diagnostics if not found.ok else np.asarray(found.members["audience"])

    audience = keys(target.audience)
    if isinstance(audience, tuple):
        return JourneyReport(journey, instant, diagnostics=audience)
    table = load_rates(Path(rates) if rates else None)
    channels = {s.channel for s in target.steps if isinstance(s, ir.SendStep)}
    try:
        reach = reachable_contacts(workspace.schema, np.sort(audience), channels, instant,
                                   data_dir=None if dsn else workspace.data_dir, dsn=dsn)
    except SyncError as exc:
        raise JourneyError(str(exc)) from None
    run = simulate(target, audience, instant, seed=seed, rates=table, reachable=reach)
    compared = []
    for h in workspace.holdouts.values():
        # The holdout's members who would be in the audience had it not excluded them.
        held = keys(ir.And((ir.without_exclusion(target.audience, h.salt, 0, h.buckets),
                            ir.Bucket(workspace.schema.key, h.salt, 0, h.buckets, f"holdout {h.name}"))))
        if isinstance(held, tuple):
            return JourneyReport(journey, instant, diagnostics=held)
        compared.append(simulate_holdout(run, h.name, held, rates=table))
    return JourneyReport(journey, instant, run, tuple(compared))


def preview_refresh(
    workspace: Workspace,
    *,
    as_of: AsOf | None = None,
    state: str | None = None,
    dsn: str | None = None,
    data: PathLike | None = None,
    everything: bool = False,
    segments: Iterable[str] | None = None,
) -> RefreshPreview:
    """What ``segdsl refresh`` with the same arguments would record at ``as_of``
    (default: now), against the segments' last snapshots (``segdsl plan``): which
    segments it refreshes (by cadence; manual ones only with ``everything`` or when
    named in ``segments``, as ``--all`` and ``--segment`` do), and for each the sizes
    before and after, who would enter and exit, and the journeys and syncs it reaches;
    the others with the reason they are skipped. Writes nothing. ``state`` is the store
    (a SQLite path or a Postgres DSN; default: the project's ``.segdsl/state.db``, or
    Postgres when ``dsn`` is one)."""
    from segdsl.lifecycle.preview import RefreshPreview, preview_refresh as preview

    instant = parse_as_of("now" if as_of is None else as_of)
    only = [segments] if isinstance(segments, str) else list(segments or ())
    chosen = _chosen(workspace, only or None)
    if isinstance(chosen, tuple):
        entity = workspace.schema.entity if workspace.schema is not None else ""
        return RefreshPreview(entity, "none", instant, diagnostics=chosen)
    root = workspace.project.root if workspace.project and workspace.project.config else None
    folder = None if dsn else _data(workspace, data)
    return preview(chosen, workspace.journeys, workspace.schema, instant, root=root, state=state, dsn=dsn,
                   data_dir=folder, everything=everything, only=set(only))


def preview_against(
    workspace: Workspace,
    base: str,
    *,
    as_of: AsOf | None = None,
    dsn: str | None = None,
    data: PathLike | None = None,
) -> RevisionPreview:
    """``segdsl plan --base REV``: every segment of the requested files whose definition
    differs from the git revision ``base`` (a branch, tag or commit; a change to a rule
    it refers to counts), and the segments ``base`` had there that are gone, each
    evaluated both ways on the same data at ``as_of`` (default: now): sizes, who would
    enter and who would exit. The revision's files are read with ``git show``; nothing
    is checked out or written. Not a git work tree, or an unknown revision, is a
    :class:`UsageError`; the revision's own errors are its ``diagnostics``."""
    from segdsl.lifecycle.preview import RevisionPreview
    from segdsl.lifecycle.preview import preview_against as compare
    from segdsl.project.revision import read_revision

    instant = parse_as_of("now" if as_of is None else as_of)
    chosen = _chosen(workspace, None)
    if isinstance(chosen, tuple):
        return RevisionPreview(workspace.schema.entity if workspace.schema else "", base, "", instant, "none",
                               diagnostics=chosen)
    if workspace.project is None or workspace.project.config is None:
        raise UsageError("--base compares a project's files with a revision: these files are in no project "
                         "(no segdsl.toml)", "base")
    root = workspace.project.root
    revision = read_revision(root, workspace.project.schema_path, base)
    errors = tuple(d for d in revision.diagnostics if d.is_error)
    if errors or revision.schema is None:
        return RevisionPreview(workspace.schema.entity, base, revision.commit, instant, "none", diagnostics=errors)
    requested = {Path(p).resolve() for p in workspace.requested}
    names = {s.name for s in chosen}
    at_base = {name: seg for name, seg in revision.segments.items()
               if name in names or (root / revision.files.get(name, "")).resolve() in requested}
    folder = None if dsn else _data(workspace, data)
    return compare(chosen, at_base, revision.schema, workspace.schema, instant, base_name=base,
                   commit=revision.commit, dsn=dsn, data_dir=folder)


def load_database(project: Workspace | PathLike, dsn: str, *, data: PathLike | None = None) -> DatabaseLoad:
    """Create the project's tables on the database at ``dsn`` and load its CSV data
    into them, replacing what was there. ``project`` is a loaded workspace or a path
    in a project."""
    from segdsl.backends.memory.profile import load_source
    from segdsl.data.engines import connect
    from segdsl.data.loading import load_project as load_tables
    from segdsl.data.tables import load_table
    from segdsl.project.workspace import Workspace, find_project
    from segdsl.check.traits import load_schema as read_schema

    if isinstance(project, Workspace):
        schema, diagnostics, folder = project.schema, [d for d in project.diagnostics if d.span is None], \
            project.data_dir
    else:
        found, diagnostics = find_project(Path(project))
        if found is None:
            if diagnostics:
                return DatabaseLoad("", diagnostics=tuple(diagnostics))
            raise UsageError(f"no segdsl.toml in {project} or above", "project")
        schema, more = read_schema(found.schema_path)
        diagnostics, folder = [*diagnostics, *more], found.data_dir
    if schema is None:
        return DatabaseLoad("", diagnostics=tuple(diagnostics))
    folder = Path(data) if data is not None else folder
    if folder is None:
        raise UsageError("no data: pass data=DIR or set `data` in segdsl.toml", "data")
    # Tables, not records: loading streams their rows, so memory stays near the size
    # of the typed columns however many rows there are.
    tables = {schema.table: load_table(schema, folder)}
    for source in schema.sources.values():
        tables[source.table] = load_source(source, folder, missing_ok=True)
    with connect(dsn) as engine:
        counts = load_tables(engine, schema, tables)
    return DatabaseLoad(engine.family, dict(counts), tuple(diagnostics))


def parse_as_of(value: AsOf) -> dt.datetime:
    """An evaluation instant, in UTC: ``now``, a date (its UTC midnight), an ISO
    timestamp (UTC when it has no offset), or a datetime (likewise). Anything else is a
    :class:`UsageError`."""
    from segdsl.ir.semantics import UTC, utc_instant
    from segdsl.ir.semantics import parse_as_of as parse

    if isinstance(value, dt.datetime):
        try:
            return utc_instant(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
        except ValueError as exc:
            raise UsageError(str(exc), "as_of") from None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise UsageError(f"an as-of is a datetime, a date or text, not {type(value).__name__}", "as_of")
    try:
        return parse(value)
    except ValueError as exc:
        raise UsageError(str(exc), "as_of") from None


def expression_segment(rule: ir.Node, name: str = "expr") -> ir.Segment:
    """A bare rule as a segment named ``name``, to size or evaluate beside others."""
    from segdsl import ir

    return ir.Segment(name, "dynamic", None, None, "manual", rule, "<expr>")


def _schema_of(context: Workspace | Schema) -> Schema:
    from segdsl.project.workspace import Workspace

    if isinstance(context, Workspace):
        if context.schema is None:
            raise UsageError("the workspace has no schema; see its diagnostics", "context")
        return context.schema
    return context


def _resolve(context: Workspace | Schema, rule: RuleLike) -> ir.Segment | ir.Node | tuple[Diagnostic, ...]:
    """``rule`` as a checked segment or rule, or the errors that keep it from being one
    (a workspace without a schema has them too)."""
    from segdsl import ir
    from segdsl.project.workspace import Workspace

    if isinstance(context, Workspace) and context.schema is None:
        return tuple(d for d in context.relevant() if d.is_error)
    if isinstance(rule, CheckedRule):
        if not rule.ok:
            return tuple(rule.diagnostics)
        rule = rule.rule
    if isinstance(rule, ir.Segment):
        return rule
    if isinstance(rule, str):
        if not isinstance(context, Workspace):
            raise UsageError(f"segment `{rule}` named without a workspace to find it in; pass the workspace",
                             "rule")
        try:
            (segment,) = context.select([rule])
        except UsageError:
            # A segment of the files that did not check: the files' errors say why.
            declared = {d.name for path in context.requested if path in context.modules
                        for d in context.modules[path].segments}
            errors = tuple(d for d in context.relevant() if d.is_error)
            if errors and rule in declared:
                return errors
            raise
        return segment
    if isinstance(rule, ir.Node):
        return rule
    raise UsageError(f"cannot compile or evaluate a {type(rule).__name__}", "rule")


def _chosen(workspace: Workspace, segments) -> list[ir.Segment] | tuple[Diagnostic, ...]:
    from segdsl import ir

    if workspace.schema is None or any(d.is_error for d in workspace.relevant()):
        return tuple(d for d in workspace.relevant() if d.is_error)
    if segments is None:
        return workspace.requested_segments()
    items = [segments] if isinstance(segments, (str, CheckedRule)) or not isinstance(segments, Iterable) \
        else list(segments)
    chosen = []
    for item in items:
        resolved = _resolve(workspace, item)
        if isinstance(resolved, tuple):
            return resolved
        chosen.append(resolved if isinstance(resolved, ir.Segment) else expression_segment(resolved))
    return chosen


def _data(workspace: Workspace, data: PathLike | None) -> Path:
    folder = Path(data) if data is not None else workspace.data_dir
    if folder is None:
        raise UsageError("no data: pass data=DIR or dsn=URL, or set `data` in segdsl.toml", "data")
    return folder


def data_folder(workspace: Workspace, data: PathLike | None) -> Path:
    """The CSV data to evaluate on: ``data``, else the project's; a
    :class:`UsageError` when there is none."""
    return _data(workspace, data)
