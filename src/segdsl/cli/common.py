"""What the commands share: the ``--as-of`` option, loading the files asked about, and
reporting diagnostics and usage errors the same way in every command.

Loading and selecting are the library's (:mod:`segdsl.api`, :mod:`segdsl.project`);
this module only turns their results into output and exit statuses: 1 for problems
found, 2 for usage errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from segdsl.diagnostics import Diagnostic, render_all_text, render_json, summary_line
from segdsl.project.errors import UsageError

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.project.workspace import Workspace

#: The command-line spelling of each API argument a UsageError can name.
OPTION_OF = {"segment": "--segment", "target": "--target", "as_of": "--as-of", "column": "--column",
             "keys": "KEYS", "format": "--format", "form": "--form", "params": "--params"}


def as_of_option(default: str, extra: str = ""):
    return click.option(
        "--as-of",
        "as_of",
        default=default,
        show_default=True,
        metavar="WHEN",
        help="The evaluation instant: `now`, a date (YYYY-MM-DD, its UTC midnight) or an ISO timestamp"
        + extra
        + ". Relative time (`within 30 days`, `days_since`) counts UTC calendar days from it.",
    )


def usage(exc: UsageError, hint: str | None = None) -> click.UsageError:
    """The click error for a misuse the library reported: a bad parameter when it names
    an option, a plain usage error otherwise (both exit 2)."""
    hint = hint or OPTION_OF.get(exc.param or "")
    if hint is None:
        return click.UsageError(exc.message)
    return click.BadParameter(exc.message, param_hint=hint)


def parse_as_of(value: str, hint: str = "--as-of") -> dt.datetime:
    """``--as-of``'s instant; a usage error when it is no date or timestamp."""
    from segdsl.api import parse_as_of as parse

    try:
        return parse(value)
    except UsageError as exc:
        raise usage(exc, hint) from None


def seg_paths(paths: Sequence[str]) -> list[str]:
    """FILES as given, each directory replaced by the ``.seg`` files under it (hidden
    ones skipped, as ``fmt`` finds them); a directory without any is a usage error."""
    from segdsl.project.sources import find_seg_files

    out: list[str] = []
    for name in paths:
        if not Path(name).is_dir():
            out.append(name)
            continue
        found, _, _ = find_seg_files([name])
        if not found:
            raise click.BadParameter(f"no .seg files under `{name}`", param_hint="FILES")
        out.extend(str(f) for f in found)
    return out


def load(files: Sequence[str], schema: str | None, expr: str | None = None, *,
         project: bool = False) -> tuple[list[Workspace], ir.Node | None]:
    """Workspaces for FILES (directories searched for ``.seg`` files), one per project;
    with no files, the project around the working directory: every file of it
    (``project``) or as the context of ``expr``. With ``expr``, its checked rule too
    (``None`` when it has errors, which are then in the first workspace)."""
    from segdsl.api import load_project, load_workspaces
    from segdsl.project.workspace import load_context

    if files:
        workspaces = load_workspaces(seg_paths(files), schema=schema)
    elif project and expr is None:
        from segdsl.project.workspace import find_project

        found, problems = find_project(Path.cwd())
        if found is None and not problems:
            raise click.UsageError("nothing to check: give .seg files or directories, or --expr, "
                                   "or run inside a project (a directory with a segdsl.toml)")
        workspaces = [load_project(Path.cwd(), schema=schema)]
    else:
        workspaces = [load_context(Path.cwd(), Path(schema) if schema else None)]
    rule = None
    if expr is not None:
        workspaces[0], rule = workspaces[0].with_expression(expr)
    return workspaces, rule


def relevant(ws: Workspace, notes: bool = False) -> list[Diagnostic]:
    """Diagnostics for the files asked about, plus anything with no file (schema, config).
    Notes (info) are for `segdsl check`; other commands report errors and warnings."""
    return ws.relevant(notes)


def report(ws: Workspace, diags: list[Diagnostic], fmt: str = "text") -> None:
    """Diagnostics as JSON on stdout, or as text on stderr (warnings beside output)."""
    if fmt == "json":
        click.echo(render_json(diags, ws.sources))
        return
    if diags:
        echo_diagnostics(render_all_text(diags, ws.sources), err=True)
        click.echo("", err=True)


def fail_on_errors(ws: Workspace, diags: Sequence[Diagnostic]) -> None:
    """Report and exit 1 if any of ``diags`` is an error."""
    diags = list(diags)
    if any(d.is_error for d in diags):
        report(ws, diags)
        click.echo(f"segdsl: {summary_line(diags)}", err=True)
        raise SystemExit(1)


def fail(message: str) -> None:
    """One line on stderr, exit 1: something the user can fix but not a usage error."""
    click.echo(f"segdsl: {message}", err=True)
    raise SystemExit(1)


def select_segments(ws: Workspace, names: Sequence[str]) -> list[ir.Segment]:
    """The segments of the requested files named by ``--segment``, or all of them."""
    try:
        return ws.select(names)
    except UsageError as exc:
        raise usage(exc) from None


def stamp(instant: dt.datetime | None) -> str | None:
    """An instant as the commands print it: ISO 8601 with ``Z`` for UTC."""
    return instant.isoformat().replace("+00:00", "Z") if instant is not None else None


# ---------------------------------------------------------------------- colour

#: `--color` as given to `segdsl` (auto: on a terminal, unless NO_COLOR is set).
COLOR = {"mode": "auto"}

_SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def color_enabled() -> bool | None:
    """What to pass click.echo as ``color``: True (always), False (never, or NO_COLOR set
    under auto), None (auto: click colours a terminal and strips colour from a pipe)."""
    import os

    mode = COLOR["mode"]
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    return None


def colorize(text: str) -> str:
    """Rendered diagnostics with colour: the header by severity, locations and gutters
    blue, carets in the severity's colour, help green. Source lines are left as they are."""
    import re

    out = []
    colour = "red"
    for line in text.split("\n"):
        header = re.match(r"^(error|warning|info)(\[\w+\]): (.*)$", line)
        gutter = re.match(r"^( *\d* \|)(.*)$", line)
        if header:
            colour = _SEVERITY_COLOURS[header.group(1)]
            line = (click.style(header.group(1) + header.group(2), fg=colour, bold=True)
                    + click.style(": " + header.group(3), bold=True))
        elif re.match(r"^ *--> ", line):
            arrow, _, rest = line.partition("-->")
            line = arrow + click.style("-->", fg="blue", bold=True) + rest
        elif carets := re.match(r"^( +\|)( *\^+)(.*)$", line):  # a caret line has no line number
            line = (click.style(carets.group(1), fg="blue", bold=True) + click.style(carets.group(2), fg=colour, bold=True)
                    + click.style(carets.group(3), fg=colour))
        elif gutter:
            line = click.style(gutter.group(1), fg="blue", bold=True) + gutter.group(2)
        elif re.match(r"^ *= help:", line):
            head, _, rest = line.partition("help:")
            line = head + click.style("help:", fg="green", bold=True) + rest
        elif re.match(r"^ *= note:", line):
            head, _, rest = line.partition("note:")
            line = head + click.style("note:", fg="blue", bold=True) + rest
        out.append(line)
    return "\n".join(out)


def echo_diagnostics(text: str, err: bool = False) -> None:
    """Rendered diagnostics on stdout (or stderr), in colour where colour is wanted."""
    colour = color_enabled()
    click.echo(colorize(text) if colour is not False else text, err=err, color=colour)


def apply_project_lint(ws, diags: list) -> list:
    """``diags`` without the warnings the project's `[lint]` and ignore comments turn off."""
    from segdsl.check.ignore import LintConfig, apply_lint

    config = ws.project.lint if ws.project is not None else LintConfig()
    return apply_lint(diags, ws.modules.values(), ws.sources, config)
