"""The library API: everything the ``segdsl`` command does, as Python calls.

Load a project, parse and check rules, compile them to SQL, evaluate members and sizes
in memory or on a database, render and explain diagnostics, format source. Every
command of the CLI is a thin shell over these functions (see ``docs/api.md``).

Problems in what a user wrote come back as :class:`~segdsl.diagnostics.Diagnostic`
values in each result's ``diagnostics``, never as exceptions; a call the API cannot
carry out as asked (an unknown segment name, dialect or form, an as-of that is no
date) raises :class:`~segdsl.project.errors.UsageError`. A database, data file or
state store that cannot be used raises ``EngineError``, ``DataError`` or ``StateError``.

Heavy modules (sqlglot, numpy, pyarrow, database drivers) are imported inside the
functions that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import attrs

from segdsl.frozen import Value, frozen
from segdsl.project.errors import UsageError

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.backends.sql import SqlResult, Target
    from segdsl.check.checker import CheckResult
    from segdsl.diagnostics import Diagnostic
    from segdsl.lifecycle.preview import RefreshPreview
    from segdsl.lifecycle.sizes import Overlap, Size
    from segdsl.project.workspace import Workspace
    from segdsl.schema.model import Schema
    from segdsl.syntax import ast
    from segdsl.syntax.parser import ExprResult, ParseResult
    from segdsl.syntax.span import SourceFile

#: A path as the API accepts it.
PathLike = Union[str, "os.PathLike[str]"]
#: An evaluation instant: an aware or naive (UTC) datetime, a date (its UTC midnight),
#: or text (``now``, ``YYYY-MM-DD``, an ISO timestamp).
AsOf = Union[dt.datetime, dt.date, str]
#: What can be compiled or evaluated: a segment's name (in the files loaded), a checked
#: segment, a checked rule, or the result of :func:`check_expression`.
RuleLike = Union[str, "ir.Segment", "ir.Node", "CheckedRule"]

FORMATS = ("text", "json", "github", "sarif")


# ------------------------------------------------------------------------- results


@frozen
class LoadedSchema(Value):
    """A schema file, loaded: the schema, or ``None`` and the reasons."""

    schema: Schema | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.schema is not None and not any(d.is_error for d in self.diagnostics)


@frozen
class CheckedRule(Value):
    """A bare rule checked against a schema: the typed rule, or ``None`` when there are
    errors. ``source`` is the rule's text, for rendering the diagnostics."""

    rule: ir.Node | None
    diagnostics: tuple[Diagnostic, ...] = ()
    source: SourceFile | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.rule is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def sources(self) -> dict[str, SourceFile]:
        return {self.source.path: self.source} if self.source is not None else {}


@frozen
class SizeReport(Value):
    """Exact sizes of segments at one instant, and, if asked, how many members each
    pair shares. Empty, with the reasons in ``diagnostics``, when they cannot be had."""

    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    sizes: tuple[Size, ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def counts(self) -> dict[str, int]:
        """Each segment's size by name."""
        return {s.segment.name: s.size for s in self.sizes}

    @property
    def total(self) -> int:
        """The number of profiles the segments are drawn from."""
        return self.sizes[0].total if self.sizes else 0


@frozen
class MemberReport(Value):
    """Each segment's member keys at one instant, in ascending order."""

    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    members: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@frozen
class Formatted(Value):
    """Source in the canonical layout: ``text`` (``None`` when it does not parse, the
    input unchanged with ``E0090`` should the layout ever change its meaning)."""

    text: str | None
    changed: bool
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.text is not None and not self.diagnostics


@frozen
class DatabaseLoad(Value):
    """What :func:`load_database` wrote: rows per table, on which engine family."""

    family: str
    rows: Mapping[str, int] = attrs.field(factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


# ------------------------------------------------------------------------- loading


def load_project(path: PathLike = ".", *, schema: PathLike | None = None, data: PathLike | None = None) -> Workspace:
    """Load the project whose ``segdsl.toml`` is in ``path`` (a directory or a file) or
    above: every ``.seg`` file of it, parsed and checked against its schema.

    ``schema`` and ``data`` override the project's schema file and CSV data directory.
    Problems (no project, a broken schema, errors in the files) are in
    ``Workspace.diagnostics``; ``Workspace.ok`` says whether there are errors.
    """
    from segdsl.project.workspace import load_project as load

    return load(Path(path), _path(schema), _path(data))


def load_files(
    paths: PathLike | Iterable[PathLike], *, schema: PathLike | None = None, data: PathLike | None = None
) -> Workspace:
    """Load ``paths``, ``.seg`` files of one project, checked together with the
    project's other files (so ``in segment x`` resolves across files); only the files
    named are *requested*: their segments are the ones compiled and sized by default.

    Files of several projects are a :class:`UsageError`; use :func:`load_workspaces`.
    """
    from segdsl.project.workspace import find_project, load_workspace

    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if schema is None:
        configs = {(find_project(p)[0] or _NO_PROJECT).config for p in files}
        if len(configs) > 1:
            raise UsageError("the files belong to different projects; load them with load_workspaces()", "paths")
    return load_workspace(files, _path(schema), _path(data))


def load_workspaces(
    paths: Iterable[PathLike], *, schema: PathLike | None = None, data: PathLike | None = None
) -> list[Workspace]:
    """As :func:`load_files`, one workspace per project among ``paths``, each checked
    against its own schema, in the order the projects are first named."""
    from segdsl.project.workspace import load_workspaces as load

    return load([Path(p) for p in paths], _path(schema), _path(data))


def load_schema(path: PathLike) -> LoadedSchema:
    """Read a schema file (its format is in ``docs/schema.md``)."""
    from segdsl.schema.model import load_schema as load

    schema, diagnostics = load(Path(path))
    return LoadedSchema(schema, tuple(diagnostics))


# ------------------------------------------------------------------- parse, check


def parse(text: str | bytes, path: str = "<input>") -> ParseResult:
    """Parse a ``.seg`` module: text, or a file's raw bytes (UTF-8, a BOM allowed).
    ``path`` is the name diagnostics give the source."""
    from segdsl.syntax.parser import parse_bytes, parse_source

    if isinstance(text, bytes):
        return parse_bytes(path, text)
    return parse_source(path, text)


def parse_expression(text: str, path: str = "<expr>") -> ExprResult:
    """Parse a bare rule: what follows ``where`` in a segment."""
    from segdsl.syntax.parser import parse_expression as parse_expr

    return parse_expr(text, path)


def check_modules(modules: ast.Module | ParseResult | Iterable[ast.Module | ParseResult],
                  schema: Schema | PathLike) -> CheckResult:
    """Check parsed modules together against ``schema`` (a :class:`Schema` or a schema
    file): segment references may cross modules. Parse results that failed contribute
    their diagnostics. Returns the checked segments and journeys and every diagnostic."""
    from segdsl.check.checker import CheckResult, check_modules as check
    from segdsl.syntax.parser import ParseResult

    items = [modules] if not isinstance(modules, Iterable) else list(modules)
    found, diagnostics = [], []
    for item in items:
        if isinstance(item, ParseResult):
            diagnostics.extend(item.diagnostics)
            if item.module is not None:
                found.append(item.module)
        else:
            found.append(item)
    resolved, more = _schema(schema)
    diagnostics.extend(more)
    if resolved is None:
        return CheckResult({}, tuple(diagnostics))
    result = check(found, resolved)
    return attrs.evolve(result, diagnostics=(*diagnostics, *result.diagnostics))


def check_expression(
    expr: str | ast.Expr | ExprResult,
    schema: Workspace | Schema | PathLike,
    *,
    segments: Mapping[str, ir.Segment] | None = None,
) -> CheckedRule:
    """Check a bare rule (text, or a parsed one) against a schema. With a
    :class:`Workspace`, its schema is used and the rule may refer to its segments;
    otherwise to ``segments``, if given."""
    from segdsl.check.checker import check_expression as check
    from segdsl.project.workspace import Workspace
    from segdsl.syntax.parser import ExprResult

    if isinstance(schema, Workspace):
        # The workspace's own problems stay its own, unless they leave it no schema.
        resolved = schema.schema
        diagnostics = [d for d in schema.relevant() if d.is_error] if resolved is None else []
        if segments is None:
            segments = schema.segments
    else:
        resolved, diagnostics = _schema(schema)
    parsed = parse_expression(expr) if isinstance(expr, str) else expr
    source = None
    if isinstance(parsed, ExprResult):
        source = parsed.source
        diagnostics.extend(parsed.diagnostics)
        parsed = parsed.expr
    if parsed is None or resolved is None:
        return CheckedRule(None, tuple(diagnostics), source)
    rule, more = check(parsed, resolved, segments)
    return CheckedRule(rule, (*diagnostics, *more), source)


# ------------------------------------------------------------------------- compile


def sql_target(name: str) -> Target:
    """The SQL target for a sqlglot dialect name (``postgres``, ``duckdb``, ``sqlite``,
    ``mysql``, ``bigquery`` ...); an unknown name is a :class:`UsageError`."""
    from segdsl.backends.sql import get_target

    target = get_target(name)
    if target is None:
        from segdsl.backends.sql.targets import dialect_names
        from segdsl.check.suggest import did_you_mean

        hint = did_you_mean(name, dialect_names()) or f"choose from: {', '.join(dialect_names())}"
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
    are bound parameters, returned in ``SqlResult.params``. A construct the target
    cannot express is a diagnostic in ``SqlResult.diagnostics``.
    """
    from segdsl import ir
    from segdsl.backends.sql import FORMS, SqlResult, compile_rule, compile_segment

    sql_target(target)
    if form not in FORMS:
        raise UsageError(f"unknown form `{form}`; use one of {', '.join(FORMS)}", "form")
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


def preview_refresh(
    workspace: Workspace,
    *,
    as_of: AsOf | None = None,
    state: str | None = None,
    dsn: str | None = None,
    data: PathLike | None = None,
) -> RefreshPreview:
    """What refreshing the requested segments at ``as_of`` (default: now) would change
    against their last snapshots (``segdsl plan``): per segment, the sizes before and
    after, who would enter and exit, and the journeys and syncs it reaches. Writes
    nothing. ``state`` is the store (a SQLite path or a Postgres DSN; default: the
    project's ``.segdsl/state.db``, or Postgres when ``dsn`` is one)."""
    from segdsl.lifecycle.preview import RefreshPreview, preview_refresh as preview

    instant = parse_as_of("now" if as_of is None else as_of)
    chosen = _chosen(workspace, None)
    if isinstance(chosen, tuple):
        entity = workspace.schema.entity if workspace.schema is not None else ""
        return RefreshPreview(entity, "none", instant, diagnostics=chosen)
    root = workspace.project.root if workspace.project and workspace.project.config else None
    folder = None if dsn else _data(workspace, data)
    return preview(chosen, workspace.journeys, workspace.schema, instant, root=root, state=state, dsn=dsn,
                   data_dir=folder)


def load_database(project: Workspace | PathLike, dsn: str, *, data: PathLike | None = None) -> DatabaseLoad:
    """Create the project's tables on the database at ``dsn`` and load its CSV data
    into them, replacing what was there. ``project`` is a loaded workspace or a path
    in a project."""
    from segdsl.backends.memory.profile import load_source
    from segdsl.data.engines import connect
    from segdsl.data.engines import load_project as load_tables
    from segdsl.data.tables import load_table
    from segdsl.project.workspace import Workspace, find_project
    from segdsl.schema.model import load_schema as read_schema

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


# --------------------------------------------------------------------- diagnostics


def render(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, SourceFile] | SourceFile | None = None,
    *,
    format: str = "text",  # noqa: A002 - the word users know from --format
) -> str:
    """Render diagnostics as ``text`` (rustc style: the source line and carets under
    the span), ``json``, ``github`` (workflow annotations) or ``sarif`` (SARIF 2.1.0).
    ``sources`` gives the text of the files the spans point into: a workspace's
    ``sources``, or one :class:`SourceFile`."""
    from segdsl import diagnostics as diag
    from segdsl.syntax.span import SourceFile

    if isinstance(sources, SourceFile):
        sources = {sources.path: sources}
    sources = sources or {}
    items = list(diagnostics)
    if format == "text":
        return diag.render_all_text(items, sources)
    if format == "json":
        return diag.render_json(items, sources)
    if format == "github":
        return diag.render_github(items, sources)
    if format == "sarif":
        return diag.render_sarif(items, sources, version())
    raise UsageError(f"unknown format `{format}`; use one of {', '.join(FORMATS)}", "format")


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    """``2 errors, 1 warning``, ``no problems (3 notes)``: what ``segdsl check`` prints last."""
    from segdsl.diagnostics import summary_line

    return summary_line(diagnostics)


def version() -> str:
    """The installed segdsl's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("segdsl")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


# ---------------------------------------------------------------------- formatting


def format_source(text: str, path: str = "<input>") -> Formatted:
    """``text`` (a ``.seg`` module) in the canonical layout, every comment kept
    (the rules are in ``docs/formatting.md``)."""
    from segdsl.syntax.formatter import format_source as layout

    out, diagnostics = layout(text, path)
    return Formatted(out, out is not None and out != text, tuple(diagnostics))


def format_expression(text: str, path: str = "<expr>") -> Formatted:
    """A bare rule in the canonical layout, from column 0, without a final newline."""
    from segdsl.syntax.formatter import format_expression as layout

    out, diagnostics = layout(text, path)
    return Formatted(out, out is not None and out != text, tuple(diagnostics))


# ------------------------------------------------------------------------- helpers


def parse_as_of(value: AsOf) -> dt.datetime:
    """An evaluation instant, in UTC: ``now``, a date (its UTC midnight), an ISO
    timestamp (UTC when it has no offset), or a datetime (likewise). Anything else is a
    :class:`UsageError`."""
    from segdsl.ir.semantics import UTC
    from segdsl.ir.semantics import parse_as_of as parse

    if isinstance(value, dt.datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
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


class _NoProject:
    config = None


_NO_PROJECT = _NoProject()


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None else None


def _schema(schema: Schema | PathLike) -> tuple[Schema | None, list[Diagnostic]]:
    from segdsl.schema.model import Schema
    from segdsl.schema.model import load_schema as read

    if isinstance(schema, Schema):
        return schema, []
    found, diagnostics = read(Path(schema))
    return found, list(diagnostics)


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
        errors = tuple(d for d in context.relevant() if d.is_error)
        if errors:
            return errors
        (segment,) = context.select([rule])
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
