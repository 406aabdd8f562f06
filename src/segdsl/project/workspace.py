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
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.check.checker import check_modules
from segdsl.check.ignore import LintConfig, apply_lint, read_lint_config
from segdsl.check.messages import with_schema_examples
from segdsl.diagnostics import Diagnostic, Severity, error
from segdsl.project.errors import UsageError
from segdsl.check.traits import load_schema
from segdsl.schema.model import Schema
from segdsl.syntax import ast
from segdsl.syntax.parser import parse_bytes
from segdsl.syntax.span import SourceFile, Span

CONFIG_NAME = "segdsl.toml"


@attrs.frozen
class Project:
    root: Path
    config: Path | None
    schema_path: Path
    data_dir: Path | None
    #: ``name`` in segdsl.toml: the project's identity in state stores and sync output,
    #: the same wherever the checkout lives (None when not set).
    name: str | None = None
    #: ``[lint]`` in segdsl.toml: warnings and notes turned off, opt-in notes turned on.
    lint: LintConfig = LintConfig()


@attrs.frozen
class Workspace:
    """One load of a project: its sources, parsed modules, checked segments and
    journeys, and every diagnostic. ``requested`` are the files the user asked about;
    the project's other files are loaded too, so references across files resolve."""

    project: Project | None
    schema: Schema | None
    sources: Mapping[str, SourceFile] = attrs.Factory(dict)
    modules: Mapping[str, ast.Module] = attrs.Factory(dict)
    segments: Mapping[str, ir.Segment] = attrs.Factory(dict)
    journeys: Mapping[str, ir.Journey] = attrs.Factory(dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    #: The files the user asked about; diagnostics elsewhere are not theirs to fix now.
    requested: tuple[str, ...] = ()
    splits: Mapping[str, ir.Split] = attrs.Factory(dict)
    holdouts: Mapping[str, ir.Holdout] = attrs.Factory(dict)

    @property
    def ok(self) -> bool:
        """No errors anywhere (warnings and notes allowed)."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def data_dir(self) -> Path | None:
        """The CSV data the project's segments are evaluated on in memory, if any."""
        return self.project.data_dir if self.project is not None else None

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

    def relevant(self, notes: bool = False) -> list[Diagnostic]:
        """Diagnostics for the files asked about, plus those with no file or in no
        loaded ``.seg`` source (schema, project file). Notes (``info``) only with ``notes``."""
        wanted = set(self.requested)
        return [
            d for d in self.diagnostics
            if (d.span is None or d.span.path in wanted or d.span.path not in self.sources
                or not d.span.path.endswith(".seg"))  # the other .seg files of the project are not asked about
            and (notes or d.severity is not Severity.INFO)
        ]

    def select(self, names: Iterable[str] = ()) -> list[ir.Segment]:
        """The segments of the requested files named in ``names`` (in that order), or
        all of them when ``names`` is empty. A name not among them is a
        :class:`~segdsl.project.errors.UsageError` with a did-you-mean hint."""
        segments = self.requested_segments()
        names = list(names)
        if not names:
            return segments
        by_name = {s.name: s for s in segments}
        chosen = []
        for name in names:
            if name not in by_name:
                from segdsl.check.suggest import did_you_mean

                hint = did_you_mean(name, by_name) or f"the segments are: {', '.join(by_name) or '(none)'}"
                raise UsageError(f"no segment `{name}` in the given files; {hint}", "segment")
            chosen.append(by_name[name])
        return chosen

    def with_expression(self, text: str, path: str = "<expr>") -> tuple[Workspace, ir.Node | None]:
        """This workspace with a bare rule added as the requested file ``path``, and the
        checked rule (``None`` when it has errors, which are in the new workspace's
        diagnostics). The rule may refer to every segment of the workspace."""
        from segdsl.check.checker import check_expression
        from segdsl.syntax.parser import parse_expression

        parsed = parse_expression(text, path)
        sources = dict(self.sources)
        if parsed.source is not None:
            sources[path] = parsed.source
        found = parsed.diagnostics
        if self.schema is not None:
            found = tuple(with_schema_examples(d, self.schema) for d in found)
        diagnostics = [*self.diagnostics, *found]
        rule = None
        if parsed.expr is not None and self.schema is not None:
            rule, diags = check_expression(parsed.expr, self.schema, self.segments, self.splits, self.holdouts)
            diagnostics.extend(apply_lint(diags, (), {}, self.project.lint if self.project else LintConfig()))
        ws = attrs.evolve(self, sources=sources, requested=(*self.requested, path), diagnostics=tuple(diagnostics))
        return ws, rule


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
    name = data.get("name")
    if name is not None and not (isinstance(name, str) and name.strip() == name and name
                                 and name.isprintable() and len(name) <= 200):
        return None, [error("E0303", "`name` must be the project's name: text of up to 200 printable characters, "
                                     "with no space at either end", where)]
    from segdsl.explanations import codes

    lint, problems = read_lint_config(data.get("lint"), codes())
    if problems:
        return None, [error("E0303", f"{CONFIG_NAME}: {p}", where) for p in problems]
    root = config.parent
    return Project(root, config, (root / schema).resolve(), (root / data_dir).resolve() if data_dir else None,
                   name, lint), []


def configured_name(root: Path) -> str | None:
    """``name`` in the segdsl.toml of the project at ``root``, if it is set and valid."""
    config = root / CONFIG_NAME
    if not config.is_file():
        return None
    project, _ = read_project(config)
    return project.name if project is not None else None


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
    return _load(project, diags, paths, schema_path, data_dir)


def load_project(start: Path, schema_path: Path | None = None, data_dir: Path | None = None) -> Workspace:
    """The project whose ``segdsl.toml`` is in ``start`` (a directory or a file) or
    above, with every ``.seg`` file of it requested."""
    start = Path(start)
    project, diags = find_project(start)
    if project is None:
        if not diags:
            diags = [error("E0304", f"no schema: no {CONFIG_NAME} in `{display_path(start)}` or above",
                           help=f"add a {CONFIG_NAME} with `schema = \"schema.toml\"` to the project's directory")]
        return Workspace(None, None, diagnostics=tuple(diags))
    return _load(project, diags, project_files(project), schema_path, data_dir)


def load_context(start: Path, schema_path: Path | None = None) -> Workspace:
    """The context of a bare rule (``--expr``) given in ``start`` (the working
    directory): the project around it, so the rule may refer to its segments, with no
    file requested and only the problems of the project itself (its ``segdsl.toml``,
    its schema) reported. Outside a project, just the schema at ``schema_path``."""
    project, diags = find_project(Path(start))
    if project is not None and project.config is not None:
        ws = load_workspace(project_files(project), schema_path or project.schema_path)
        kept = tuple(d for d in ws.diagnostics if d.span is None or d.code.startswith("E03"))
        return attrs.evolve(ws, requested=(), diagnostics=kept)
    if schema_path is None:
        missing = error("E0304", "no schema: pass --schema, or run inside a project with a segdsl.toml")
        return Workspace(project, None, diagnostics=(*diags, missing))
    schema, more = load_schema(schema_path)
    return Workspace(project, schema, diagnostics=(*diags, *more))


def _schema_source(diags: Iterable[Diagnostic]) -> dict[str, SourceFile]:
    """The schema file's text, when its problems point into it (to show their lines)."""
    paths = {d.span.path for d in diags if d.span is not None and d.span.end > d.span.start}
    out = {}
    for path in paths:
        try:
            out[path] = SourceFile(path, Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return out


def _refers_to(d: Diagnostic, broken: set[str], sources: dict[str, SourceFile]) -> bool:
    """Whether ``d`` is an unknown segment (split, holdout) that is only unknown because
    its declaration has a syntax error (reported already)."""
    if d.code not in ("E0108", "E0170") or d.span is None or not broken or d.span.path not in sources:
        return False
    return sources[d.span.path].text[d.span.start:d.span.end] in broken


def project_files(project: Project) -> list[Path]:
    """Every ``.seg`` file of ``project``, in path order, skipping hidden directories
    and what is not a file (a folder named ``exports.seg`` is not a source)."""
    return [
        p for p in sorted(project.root.rglob("*.seg"))
        if not any(part.startswith(".") for part in p.relative_to(project.root).parts) and p.is_file()
    ]


def project_modules(project: Project, exclude: Path | None = None) -> list[ast.Module]:
    """The parsed modules of ``project``'s ``.seg`` files (those that parse), except
    ``exclude``: what names a new file's segments must not take, and may refer to."""
    modules = []
    skip = exclude.resolve() if exclude is not None else None
    for p in project_files(project):
        if p.resolve() == skip:
            continue
        try:
            result = parse_bytes(display_path(p), p.read_bytes())
        except OSError:
            continue
        if result.module is not None:
            modules.append(result.module)
    return modules


def _load(
    project: Project | None, diags: list[Diagnostic], paths: list[Path], schema_path: Path | None,
    data_dir: Path | None,
) -> Workspace:
    if schema_path is None and project is not None:
        schema_path = project.schema_path
    if data_dir is not None and project is not None:
        project = attrs.evolve(project, data_dir=Path(data_dir).resolve())
    elif data_dir is not None:
        project = Project(Path.cwd(), None, schema_path or Path(), Path(data_dir).resolve())
    diagnostics = list(diags)
    if schema_path is None and any(d.is_error for d in diags):
        return Workspace(project, None, diagnostics=tuple(diagnostics))  # the project file is broken; that says it all
    if schema_path is None:
        first = display_path(paths[0]) if paths else "<input>"
        diagnostics.append(
            error("E0304", "no schema: this file is not in a segdsl project", Span(first, 0, 0),
                  help=f"add a {CONFIG_NAME} with `schema = \"schema.toml\"` beside it, or pass --schema")
        )
        return Workspace(project, None, diagnostics=tuple(diagnostics))
    schema, schema_diags = load_schema(schema_path)
    diagnostics.extend(schema_diags)
    schema_source = _schema_source(schema_diags)

    files: dict[Path, None] = {}
    for p in paths:
        files[p.resolve()] = None
    if project is not None and project.config is not None:
        for p in project_files(project):
            files.setdefault(p.resolve(), None)
    wanted = {p.resolve() for p in paths}
    requested: list[str] = []
    sources: dict[str, SourceFile] = dict(schema_source)
    modules: dict[str, ast.Module] = {}
    broken: set[str] = set()  # declarations that do not parse: their errors say it all
    for path in files:
        shown = display_path(path)
        if path in wanted:
            requested.append(shown)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            diagnostics.append(error("E0004", f"file `{shown}` does not exist", Span(shown, 0, 0)))
            continue
        except IsADirectoryError:
            diagnostics.append(error("E0004", f"`{shown}` is a directory, not a .seg file", Span(shown, 0, 0)))
            continue
        except OSError as exc:
            diagnostics.append(error("E0004", f"cannot read `{shown}`: {exc.strerror}", Span(shown, 0, 0)))
            continue
        result = parse_bytes(shown, data)
        if result.source is not None:
            sources[shown] = result.source
        diagnostics.extend(result.diagnostics)
        # A file with syntax errors still has its other declarations checked.
        module = result.module or result.partial
        if module is not None:
            modules[shown] = module
        broken.update(result.broken)
    if schema is None:
        return Workspace(project, None, sources, modules, diagnostics=tuple(diagnostics), requested=tuple(requested))
    diagnostics = [with_schema_examples(d, schema) for d in diagnostics]
    checked = check_modules(modules.values(), schema)
    diagnostics.extend(d for d in checked.diagnostics if not _refers_to(d, broken, sources))
    diagnostics = apply_lint(diagnostics, modules.values(), sources, project.lint if project else LintConfig())
    return Workspace(project, schema, sources, modules, dict(checked.segments), dict(checked.journeys),
                     tuple(diagnostics), tuple(requested), dict(checked.splits), dict(checked.holdouts))
