"""Projects and workspaces: which schema and data a ``.seg`` file is checked against.

A project is a directory with a ``segdsl.toml`` (format in ``docs/schema.md``) naming
its schema and, optionally, the CSV data the embedded engine sizes segments on. Every
``.seg`` file under the project directory belongs to it, so ``in segment x`` resolves
across files. A :class:`Workspace` is one load of a project: sources, parsed modules,
the checked segments and all diagnostics.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path

import attrs

from segdsl.syntax import ast
from segdsl import ir
from segdsl.check.checker import check_modules
from segdsl.diagnostics import Diagnostic, error
from segdsl.syntax.parser import parse_bytes
from segdsl.schema.model import Schema, load_schema
from segdsl.syntax.span import SourceFile, Span

CONFIG_NAME = "segdsl.toml"


@attrs.frozen
class Project:
    root: Path
    config: Path | None
    schema_path: Path
    data_dir: Path | None


@attrs.define
class Workspace:
    project: Project | None
    schema: Schema | None
    sources: dict[str, SourceFile] = attrs.Factory(dict)
    modules: dict[str, ast.Module] = attrs.Factory(dict)
    segments: dict[str, ir.Segment] = attrs.Factory(dict)
    journeys: dict[str, ir.Journey] = attrs.Factory(dict)
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    #: The files the user asked about; diagnostics elsewhere are not theirs to fix now.
    requested: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def segments_in(self, path: str) -> list[ir.Segment]:
        module = self.modules.get(path)
        if module is None:
            return []
        return [self.segments[s.name] for s in module.segments if s.name in self.segments]

    def requested_segments(self) -> list[ir.Segment]:
        out: list[ir.Segment] = []
        for path in self.requested:
            out.extend(self.segments_in(path))
        return out


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - different drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def find_project(start: Path) -> tuple[Project | None, list[Diagnostic]]:
    start = start.resolve()
    for folder in [start if start.is_dir() else start.parent, *(start if start.is_dir() else start.parent).parents]:
        config = folder / CONFIG_NAME
        if config.is_file():
            return read_project(config)
    return None, []


def read_project(config: Path) -> tuple[Project | None, list[Diagnostic]]:
    where = Span(display_path(config), 0, 0)
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [error("E0303", f"{CONFIG_NAME} is not valid TOML: {exc}", where)]
    schema = data.get("schema")
    if not isinstance(schema, str):
        return None, [error("E0303", f"{CONFIG_NAME} needs `schema = \"path/to/schema.toml\"`", where)]
    data_dir = data.get("data")
    if data_dir is not None and not isinstance(data_dir, str):
        return None, [error("E0303", "`data` must be a path to a directory of CSV files", where)]
    root = config.parent
    return Project(root, config, (root / schema).resolve(), (root / data_dir).resolve() if data_dir else None), []


def load_workspaces(
    paths: Iterable[Path], schema_path: Path | None = None, data_dir: Path | None = None
) -> list[Workspace]:
    """One workspace per project among ``paths`` (files of different projects are
    checked against their own schemas), in the order the projects are first named."""
    groups: dict[Path | None, list[Path]] = {}
    for p in map(Path, paths):
        config = None
        if schema_path is None:
            project, _ = find_project(p)
            config = project.config if project is not None else None
        groups.setdefault(config, []).append(p)
    return [load_workspace(group, schema_path, data_dir) for group in groups.values()]


def load_workspace(
    paths: Iterable[Path],
    schema_path: Path | None = None,
    data_dir: Path | None = None,
) -> Workspace:
    """Parse and check ``paths`` with every other ``.seg`` file of their project."""
    paths = [Path(p) for p in paths]
    project: Project | None = None
    diags: list[Diagnostic] = []
    if paths:
        project, diags = find_project(paths[0])
    if schema_path is None and project is not None:
        schema_path = project.schema_path
    if data_dir is not None and project is not None:
        project = attrs.evolve(project, data_dir=data_dir.resolve())
    elif data_dir is not None:
        project = Project(Path.cwd(), None, schema_path or Path(), data_dir.resolve())
    ws = Workspace(project, None, diagnostics=diags)
    if schema_path is None and any(d.is_error for d in diags):
        return ws  # the project file itself is broken; that error says it all
    if schema_path is None:
        first = display_path(paths[0]) if paths else "<input>"
        ws.diagnostics.append(
            error("E0304", "no schema: this file is not in a segdsl project", Span(first, 0, 0),
                  help=f"add a {CONFIG_NAME} with `schema = \"schema.toml\"` beside it, or pass --schema")
        )
        return ws
    ws.schema, schema_diags = load_schema(schema_path)
    ws.diagnostics.extend(schema_diags)

    files: dict[Path, None] = {}
    for p in paths:
        files[p.resolve()] = None
    if project is not None and project.config is not None:
        for p in sorted(project.root.rglob("*.seg")):
            if not any(part.startswith(".") for part in p.relative_to(project.root).parts):
                files.setdefault(p.resolve(), None)
    requested = {p.resolve() for p in paths}
    for path in files:
        shown = display_path(path)
        if path in requested:
            ws.requested.append(shown)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            ws.diagnostics.append(error("E0004", f"file `{shown}` does not exist", Span(shown, 0, 0)))
            continue
        except IsADirectoryError:
            ws.diagnostics.append(error("E0004", f"`{shown}` is a directory, not a .seg file", Span(shown, 0, 0)))
            continue
        except OSError as exc:
            ws.diagnostics.append(error("E0004", f"cannot read `{shown}`: {exc.strerror}", Span(shown, 0, 0)))
            continue
        result = parse_bytes(shown, data)
        if result.source is not None:
            ws.sources[shown] = result.source
        ws.diagnostics.extend(result.diagnostics)
        if result.module is not None:
            ws.modules[shown] = result.module
    if ws.schema is None:
        return ws
    checked = check_modules(ws.modules.values(), ws.schema)
    ws.segments = dict(checked.segments)
    ws.journeys = dict(checked.journeys)
    ws.diagnostics.extend(checked.diagnostics)
    return ws
