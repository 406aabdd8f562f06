"""``segdsl explain``: what a diagnostic code means and how to fix it, from docs/diagnostics.md."""

from __future__ import annotations

import json

import click


@click.command("explain")
@click.argument("code", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(code: str | None, fmt: str) -> None:
    """Explain the diagnostic CODE (E0101, W0207 ...), as docs/diagnostics.md does.

    Without CODE, list every code with its severity and summary.
    """
    from segdsl.cli.common import usage
    from segdsl.explanations import codes
    from segdsl.explanations import explain as lookup
    from segdsl.project.errors import UsageError

    if code is None:
        entries = [lookup(c) for c in codes()]
        if fmt == "json":
            click.echo(json.dumps([{"code": e.code, "severity": e.severity.value, "summary": e.summary}
                                   for e in entries], indent=2, ensure_ascii=False))
            return
        for e in entries:
            click.echo(f"{e.code}  {e.severity.value:<7}  {e.summary}")
        return
    try:
        entry = lookup(code)
    except UsageError as exc:
        raise usage(exc, "CODE") from None
    if fmt == "json":
        click.echo(json.dumps({"code": entry.code, "severity": entry.severity.value, "summary": entry.summary,
                               "text": entry.text}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{entry.code} ({entry.severity.value}): {entry.summary}")
    click.echo("")
    click.echo(entry.text)
