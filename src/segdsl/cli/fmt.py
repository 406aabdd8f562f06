"""``segdsl fmt``: rewrite .seg files in the canonical layout (see docs/formatting.md).

Files that do not parse are reported like ``segdsl check`` reports them and left as
they are. A file is read, formatted and replaced under its lock, through a temporary
file in the same directory (:mod:`segdsl.data.files`), so it is never seen half-written
and an edit another segdsl command makes meanwhile is not lost. Read-only files, and
links out of a directory given, are left alone.
"""

from __future__ import annotations

import click

from segdsl.cli.common import echo_diagnostics


@click.command("fmt")
@click.argument("paths", nargs=-1, metavar="[FILES]...")
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change and exit 1 if any would.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of the changes and exit 1 if any.")
def fmt(paths: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Rewrite .seg files in the canonical layout, keeping every comment.

    FILES are files or directories (searched for *.seg, hidden ones skipped); the
    default is the current directory. `-` formats standard input to standard output.
    Exits 0 when every file is formatted (or, with --check/--diff, already was), 1 when
    a file would change (--check/--diff) or cannot be read or parsed.

    \b
    Examples:
      segdsl fmt .
      segdsl fmt --check segments.seg
    """
    if "-" in paths:
        if len(paths) != 1:
            raise click.UsageError("`-` (standard input) must be the only argument")
        raise SystemExit(_stdin(check, show_diff))
    from segdsl.diagnostics import render_all_text
    from segdsl.project.sources import find_seg_files

    files, problems, outside = find_seg_files(paths or (".",))
    for diag in problems:
        echo_diagnostics(render_all_text([diag], {}) + "\n", err=True)
    for link, real in outside:
        click.echo(f"segdsl: skipped {link}: a symbolic link to {real}, outside the directory given "
                   "(name it on its own to format it)", err=True)
    dry = check or show_diff
    changed = unchanged = 0
    failed = len(problems)
    for path in files:
        shown = str(path)
        outcome = _format(path, shown, dry)
        if isinstance(outcome, str):  # not written: why
            click.echo(f"segdsl: cannot write {shown}: {outcome}", err=True)
            failed += 1
            continue
        if not outcome.ok:
            echo_diagnostics(render_all_text(outcome.diagnostics, _sources(outcome)) + "\n", err=True)
            failed += 1
            continue
        if not outcome.changed:
            unchanged += 1
            continue
        changed += 1
        if show_diff:
            click.echo(_diff(outcome.before, outcome.after, shown), nl=False)
        if check:
            click.echo(f"would reformat {shown}")
        if not dry:
            click.echo(f"reformatted {shown}", err=True)
    click.echo(_summary(changed, unchanged, failed, dry), err=True)
    raise SystemExit(1 if failed or (dry and changed) else 0)


def _format(path, shown: str, dry: bool):
    """The file formatted, and written unless ``dry``; or why it could not be written.
    The file is read, formatted and replaced under its lock, so a `segdsl members`
    edit made meanwhile is never overwritten with the text from before it."""
    from segdsl.data.files import locked, write_atomic
    from segdsl.project.sources import format_file

    if dry or not path.exists():  # nothing to write; a missing file is reported as such
        return format_file(path, shown)
    try:
        with locked(path):
            outcome = format_file(path, shown)
            if outcome.changed:
                write_atomic(path, outcome.data)
    except OSError as exc:
        return exc.strerror or str(exc)
    return outcome


def _sources(outcome) -> dict:
    """The failed file's text, to show the diagnostics' source lines."""
    from segdsl.syntax.span import SourceFile

    if outcome.before is None:
        return {}
    return {outcome.path: SourceFile(outcome.path, outcome.before)}


def _stdin(check: bool, show_diff: bool) -> int:
    import sys

    from segdsl.diagnostics import render_all_text
    from segdsl.project.sources import format_bytes

    outcome = format_bytes(sys.stdin.buffer.read(), "<stdin>")
    if not outcome.ok:
        echo_diagnostics(render_all_text(outcome.diagnostics, _sources(outcome)) + "\n", err=True)
        return 1
    old, new = outcome.before, outcome.after
    if show_diff:
        click.echo(_diff(old, new, "<stdin>"), nl=False)
    if check and new != old:
        click.echo("would reformat <stdin>")
    if check or show_diff:
        return 1 if new != old else 0
    sys.stdout.flush()
    sys.stdout.buffer.write(outcome.data)
    sys.stdout.buffer.flush()
    return 0


def _diff(old: str, new: str, shown: str) -> str:
    import difflib

    def lines(text: str) -> list[str]:
        # Split on line feeds only: str.splitlines would also split at U+2028 or a
        # form feed inside a comment, and the diff would no longer apply.
        parts = text.split("\n")
        out = [p + "\n" for p in parts[:-1]]
        return out + ([parts[-1]] if parts[-1] else [])

    out = []
    for line in difflib.unified_diff(lines(old), lines(new), shown, shown):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)



def _summary(changed: int, unchanged: int, failed: int, dry: bool) -> str:
    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    if changed + unchanged + failed == 0:
        return "no .seg files found"
    head = f"{files(changed)} would be reformatted" if dry else f"reformatted {files(changed)}"
    text = f"{head}, {unchanged} unchanged"
    if failed:
        text += f", {failed} could not be formatted"
    return text
