"""The API for source: loading projects, parsing, checking, rendering diagnostics and
formatting. None of it needs sqlglot, numpy or a database driver."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from segdsl.api.results import CheckedRule, Formatted, LoadedSchema, PathLike
from segdsl.project.errors import UsageError

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.check.checker import CheckResult
    from segdsl.diagnostics import Diagnostic
    from segdsl.project.workspace import Workspace
    from segdsl.schema.model import Schema
    from segdsl.syntax import ast
    from segdsl.syntax.parser import ExprResult, ParseResult
    from segdsl.syntax.span import SourceFile

FORMATS = ("text", "json", "github", "sarif")


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
    from segdsl.check.traits import load_schema as load

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
    broken: set[str] = set()
    for item in items:
        if isinstance(item, ParseResult):
            diagnostics.extend(item.diagnostics)
            # A module with syntax errors still has its other declarations checked.
            if (item.module or item.partial) is not None:
                found.append(item.module or item.partial)
            broken.update(item.broken)
        else:
            found.append(item)
    resolved, more = _schema(schema)
    diagnostics.extend(more)
    if resolved is None:
        return CheckResult({}, tuple(diagnostics))
    result = check(found, resolved)
    # A reference to a declaration that did not parse is no second error.
    kept = [d for d in result.diagnostics
            if not (d.code in ("E0108", "E0170")
                    and any(d.message == f"unknown {what} `{n}`" for n in broken
                            for what in ("segment", "split", "holdout")))]
    return attrs.evolve(result, diagnostics=(*diagnostics, *kept))


def check_expression(
    expr: str | ast.Expr | ExprResult,
    schema: Workspace | Schema | PathLike,
    *,
    segments: Mapping[str, ir.Segment] | None = None,
) -> CheckedRule:
    """Check a bare rule (text, or a parsed one) against a schema. With a
    :class:`Workspace`, its schema is used and the rule may refer to its segments,
    splits and holdouts; otherwise to ``segments``, if given."""
    from segdsl.check.checker import check_expression as check
    from segdsl.project.workspace import Workspace
    from segdsl.syntax.parser import ExprResult

    splits = holdouts = None
    if isinstance(schema, Workspace):
        # The workspace's own problems stay its own, unless they leave it no schema.
        resolved, splits, holdouts = schema.schema, schema.splits, schema.holdouts
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
    rule, more = check(parsed, resolved, segments, splits, holdouts)
    return CheckedRule(rule, (*diagnostics, *more), source)


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


class _NoProject:
    config = None


_NO_PROJECT = _NoProject()


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None else None


def _schema(schema: Schema | PathLike) -> tuple[Schema | None, list[Diagnostic]]:
    from segdsl.schema.model import Schema
    from segdsl.check.traits import load_schema as read

    if isinstance(schema, Schema):
        return schema, []
    found, diagnostics = read(Path(schema))
    return found, list(diagnostics)
