"""``segdsl fmt``: rewrite .seg files in the canonical layout (see docs/formatting.md).

Files that do not parse are reported like ``segdsl check`` reports them and left as
they are. A rewrite goes through a temporary file in the same directory, so a file is
never seen half-written.
"""

from __future__ import annotations

import click


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
    """
    if "-" in paths:
        if len(paths) != 1:
            raise click.UsageError("`-` (standard input) must be the only argument")
        raise SystemExit(_stdin(check, show_diff))
    from segdsl.diagnostics import render_all_text
    from segdsl.syntax.span import SourceFile
    from segdsl.data.files import write_atomic

    files, problems = _collect(paths or (".",))
    for diag in problems:
        click.echo(render_all_text([diag], {}) + "\n", err=True)
    changed = unchanged = 0
    failed = len(problems)
    for path in files:
        shown = str(path)
        outcome = _format_file(path, shown)
        if isinstance(outcome, _Failure):
            sources = {shown: SourceFile(shown, outcome.text)} if outcome.text is not None else {}
            click.echo(render_all_text(outcome.diagnostics, sources) + "\n", err=True)
            failed += 1
            continue
        old, new, data = outcome
        if new == old:
            unchanged += 1
            continue
        changed += 1
        if show_diff:
            click.echo(_diff(old, new, shown), nl=False)
        if check:
            click.echo(f"would reformat {shown}")
        if not (check or show_diff):
            try:
                write_atomic(path, data)
            except OSError as exc:
                click.echo(f"segdsl: cannot write {shown}: {exc.strerror or exc}", err=True)
                changed -= 1
                failed += 1
                continue
            click.echo(f"reformatted {shown}", err=True)
    dry = check or show_diff
    click.echo(_summary(changed, unchanged, failed, dry), err=True)
    raise SystemExit(1 if failed or (dry and changed) else 0)


class _Failure:
    def __init__(self, diagnostics, text: str | None):
        self.diagnostics = tuple(diagnostics)
        self.text = text


def _format_file(path, shown: str):
    """``(old text, new text, new bytes)``, or a :class:`_Failure`."""
    from segdsl.diagnostics import error
    from segdsl.syntax.span import Span

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _Failure([error("E0004", f"file `{shown}` does not exist", Span(shown, 0, 0))], None)
    except OSError as exc:
        return _Failure([error("E0004", f"cannot read `{shown}`: {exc.strerror or exc}", Span(shown, 0, 0))], None)
    return _format_bytes(data, shown)


def _format_bytes(data: bytes, shown: str):
    from segdsl.syntax.formatter import format_source
    from segdsl.syntax.source import decode_source

    src, diags = decode_source(shown, data)
    if diags or src is None:
        return _Failure(diags, src.text if src is not None else None)
    new, diags = format_source(src.text, shown)
    if new is None:
        return _Failure(diags, src.text)
    if diags:  # E0090: the formatter left the file alone
        return _Failure(diags, None)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    return src.text, new, bom + new.encode("utf-8")


def _stdin(check: bool, show_diff: bool) -> int:
    import sys

    from segdsl.diagnostics import render_all_text
    from segdsl.syntax.span import SourceFile

    data = sys.stdin.buffer.read()
    outcome = _format_bytes(data, "<stdin>")
    if isinstance(outcome, _Failure):
        sources = {"<stdin>": SourceFile("<stdin>", outcome.text)} if outcome.text is not None else {}
        click.echo(render_all_text(outcome.diagnostics, sources) + "\n", err=True)
        return 1
    old, new, out = outcome
    if show_diff:
        click.echo(_diff(old, new, "<stdin>"), nl=False)
    if check and new != old:
        click.echo("would reformat <stdin>")
    if check or show_diff:
        return 1 if new != old else 0
    sys.stdout.flush()
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


def _collect(paths):
    """The .seg files named or found under the directories named, in a stable order,
    and an E0004 for every name that does not exist."""
    from pathlib import Path

    from segdsl.diagnostics import error
    from segdsl.syntax.span import Span

    files: dict = {}
    problems = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            try:
                found_all = sorted(path.rglob("*.seg"))
            except OSError as exc:
                problems.append(error("E0004", f"cannot read `{name}`: {exc.strerror or exc}", Span(name, 0, 0)))
                continue
            for found in found_all:
                if found.is_file() and not any(part.startswith(".") for part in found.relative_to(path).parts):
                    files.setdefault(found, None)
        elif path.exists() or path.is_symlink():
            files.setdefault(path, None)
        else:
            problems.append(error("E0004", f"file `{name}` does not exist", Span(name, 0, 0)))
    return list(files), problems


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
