"""``segdsl import`` and ``segdsl export``: JSON rule formats of no-code UIs ↔ `.seg`.

Thin shells over :mod:`segdsl.interchange`. Exit status: 0 success, 1 diagnostics with
errors, 2 usage errors. Diagnostics are rendered, never tracebacks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segdsl.cli.common import echo_diagnostics

from segdsl.diagnostics import (
    Diagnostic,
    error,
    render_all_text,
    render_json,
    summary_line,
)

IMPORT_FORMATS = ("auto", "segdsl", "rqb")
EXPORT_FORMATS = ("segdsl", "rqb")


def _fail(diags: list[Diagnostic], sources: dict, message_format: str = "text") -> None:
    if message_format == "json":
        click.echo(render_json(diags, sources))
    else:
        echo_diagnostics(render_all_text(diags, sources), err=True)
        click.echo("", err=True)
        click.echo(f"segdsl: {summary_line(diags)}", err=True)
    raise SystemExit(1)


def _project_for(starts: list[Path]):
    """The first project found around ``starts``, with any problem of its config."""
    from segdsl.project.workspace import find_project

    for start in starts:
        project, diags = find_project(start)
        if diags or project is not None:
            return project, diags
    return None, []


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True,
              help="segdsl: the golf seed's segment objects; rqb: a react-querybuilder query; auto: tell by shape.")
@click.option("--schema", type=click.Path(dir_okay=False),
              help="Schema file (default: the segdsl.toml project around OUT, the working directory or FILE).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="OUT.seg",
              help="Write the .seg text here instead of standard output.")
@click.option("--name", metavar="IDENT",
              help="Identifier of the imported segment (default: from the JSON, or the file name).")
@click.option("--message-format", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="How problems are reported: rustc-style text on stderr, or JSON on stdout.")
def import_(file, fmt, schema, output, name, message_format):
    """Convert a JSON rule file (FILE, or - for stdin) into .seg text.

    Values are converted by the schema's field types, camelCase field names are read as
    the schema's snake_case ones, and the result is checked before it is written:
    exit 1 with diagnostics pointing into the JSON when anything cannot be converted.

    \b
    Examples:
      segdsl import rules.json -o imported.seg
    """
    from segdsl.interchange import import_json
    from segdsl.project.workspace import display_path, project_modules
    from segdsl.check.traits import load_schema
    from segdsl.syntax.source import decode_source

    if file == "-":
        data, shown = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            data, shown = Path(file).read_bytes(), display_path(Path(file))
        except OSError as exc:
            _fail([error("E0004", f"cannot read `{file}`: {exc.strerror}")], {}, message_format)
    starts = ([Path(output)] if output else []) + [Path.cwd()] + ([Path(file)] if file != "-" else [])
    project, diags = _project_for(starts)
    if diags:
        _fail(diags, {}, message_format)
    if schema is None and project is None:
        _fail([error("E0304", "no schema: pass --schema, or run inside a project with a segdsl.toml",
                     help="the schema says which fields the rules may use and their types")], {}, message_format)
    schema_path = Path(schema) if schema else project.schema_path
    loaded, diags = load_schema(schema_path)
    if loaded is None:
        _fail(diags, {}, message_format)
    same_schema = project is not None and schema_path.resolve() == project.schema_path
    known = project_modules(project, Path(output) if output else None) if same_schema else []
    text, diags = import_json(data, shown, loaded, fmt, name=name, known=known)
    src, _ = decode_source(shown, data)
    sources = {shown: src} if src is not None else {}
    if text is None:
        _fail(list(diags), sources, message_format)
    if diags:
        if message_format == "json":
            click.echo(render_json(list(diags), sources), err=True)
        else:
            echo_diagnostics(render_all_text(list(diags), sources) + "\n", err=True)
    if output:
        from segdsl.data.files import write_atomic

        try:
            write_atomic(output, text.encode("utf-8"))
        except OSError as exc:
            click.echo(f"segdsl: cannot write `{output}`: {exc.strerror or exc}", err=True)
            raise SystemExit(1) from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.command("export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--segment", "-s", "names", multiple=True, metavar="NAME", help="Only this segment (repeatable).")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="segdsl", show_default=True,
              help="segdsl: the golf seed's segment objects; rqb: one react-querybuilder query.")
@click.option("--schema", type=click.Path(dir_okay=False), help="Schema file (default: from segdsl.toml).")
def export(file, names, fmt, schema):
    """Print the segments of FILE as JSON rules.

    The file is checked first when a schema is found (its project's, or --schema), so
    only valid segments are exported. segdsl-json carries everything; react-querybuilder
    carries one rule only, and constructs it cannot express are reported (exit 1).

    \b
    Examples:
      segdsl export segments.seg --format rqb -s high_value
    """
    from segdsl.interchange import export_json
    from segdsl.project.workspace import display_path, find_project, load_workspace
    from segdsl.check.suggest import did_you_mean

    path = Path(file)
    shown = display_path(path)
    project, diags = find_project(path)
    if schema is not None or project is not None:
        ws = load_workspace([path], Path(schema) if schema else None)
        relevant = ws.relevant(notes=True)
        if any(d.is_error for d in relevant):
            _fail(relevant, ws.sources)
        module, sources = ws.modules.get(shown), ws.sources
    else:
        from segdsl.syntax.parser import parse_bytes

        result = parse_bytes(shown, path.read_bytes())
        sources = {shown: result.source} if result.source is not None else {}
        if result.module is None:
            _fail(list(result.diagnostics), sources)
        module = result.module
    if module is None:  # pragma: no cover - a readable file always yields a module or errors
        _fail([error("E0004", f"cannot read `{shown}`")], {})
    by_name = {s.name: s for s in module.segments}
    chosen = []
    for name in names:
        if name not in by_name:
            hint = did_you_mean(name, by_name) or f"the segments are: {', '.join(by_name) or '(none)'}"
            raise click.BadParameter(f"no segment `{name}` in {shown}; {hint}", param_hint="--segment")
        chosen.append(by_name[name])
    if not names:
        chosen = list(module.segments)
    if fmt == "rqb" and len(chosen) != 1:
        listing = ", ".join(by_name) or "(none)"
        raise click.UsageError(f"a react-querybuilder query holds one rule; pick one with --segment ({listing})")
    if not chosen:
        raise click.UsageError(f"{shown} declares no segments")
    item = chosen[0] if len(chosen) == 1 and (names or fmt == "rqb" or len(module.segments) == 1) else chosen
    text, diags = export_json(item, fmt)
    if text is None:
        _fail(list(diags), sources)
    click.echo(text, nl=False)
