"""``segdsl explain``: what a diagnostic code means and how to fix it, from
docs/diagnostics.md (``segdsl explain E0102``); or why an entity is or is not in a
segment (``segdsl explain FILE --segment NAME --key K``)."""

from __future__ import annotations

import json
import os
import re

import click

from segdsl.data.dsn import DSN_FORMS

#: What a diagnostic code looks like; with no --segment/--key such an argument is one.
CODE = re.compile(r"^[EWIewi]\d{4}$")


@click.command("explain", epilog="""\b
Examples:
  segdsl explain E0102
  segdsl explain segments.seg --segment win_back --key 1003 --as-of 2026-11-01
  segdsl explain segments.seg -s win_back -k 1003 --format json""")
@click.argument("what", metavar="[CODE|FILE]", required=False)
@click.option("--segment", "-s", metavar="NAME", help="Explain membership of this segment (with --key).")
@click.option("--key", "-k", metavar="KEY", help="The entity whose membership to explain (with --segment).")
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="The evaluation instant: `now`, a date (its UTC midnight) or an ISO timestamp.")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help=f"Explain on a database: {DSN_FORMS} "
              "(env: SEGDSL_DSN). Default: in memory, on the project's CSV data.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(what: str | None, segment, key, as_of, dsn, data_dir, fmt: str) -> None:
    """Explain a diagnostic CODE (E0101, W0207 ...) as docs/diagnostics.md does, or why
    the entity --key is or is not in the segment --segment of FILE.

    Without an argument, list every code with its severity and summary. For a
    membership, the rule is shown as a tree, each node true, false or unknown for that
    entity, with the values behind it (fields, aggregates and the rows they counted,
    time windows, referenced segments).
    """
    if segment is not None or key is not None:
        if what is None or segment is None or key is None:
            raise click.UsageError("explaining a membership needs FILE, --segment NAME and --key KEY")
        return _membership(what, segment, key, as_of, dsn, data_dir, fmt)
    if what is not None and not CODE.match(what) and (what.endswith(".seg") or os.path.isfile(what)):
        raise click.UsageError(f"to explain a membership of {what}, add --segment NAME and --key KEY")
    _code(what, fmt)


def _code(code: str | None, fmt: str) -> None:
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


def _membership(file: str, segment: str, key: str, as_of: str, dsn, data_dir, fmt: str) -> None:
    from segdsl.api.inspect import explain_member
    from segdsl.cli.common import fail_on_errors, load, parse_as_of, relevant, usage
    from segdsl.project.errors import UsageError

    instant = parse_as_of(as_of)
    (ws,), _ = load([file], None)
    fail_on_errors(ws, relevant(ws))
    if not dsn and data_dir is None and ws.data_dir is None:
        raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
    try:
        trace = explain_member(ws, segment, key, dsn=dsn, as_of=instant, data=data_dir)
    except UsageError as exc:
        raise usage(exc, "--key" if exc.param == "key" else None) from None
    fail_on_errors(ws, trace.diagnostics)
    if fmt == "json":
        click.echo(json.dumps(trace.to_dict(), indent=2, ensure_ascii=False))
        return
    entity = ws.schema.entity
    stamp = trace.as_of.isoformat().replace("+00:00", "Z")
    verdict = "is a member of" if trace.member else "is not a member of"
    why = "" if trace.member else f" (the rule is {trace.verdict})"
    click.echo(f"{entity} {trace.key} {verdict} {segment}{why}, as of {stamp}, {trace.evaluated}")
    click.echo("")
    _tree(trace.root, "", "")


def _tree(node, lead: str, more: str) -> None:
    click.echo(f"{node.verdict:<8}{lead}{node.text}")
    for line in _details(node):
        click.echo(f"{'':<8}{more}{'│  ' if node.children else '   '}· {line}")
    for i, child in enumerate(node.children):
        last = i == len(node.children) - 1
        _tree(child, more + ("└─ " if last else "├─ "), more + ("   " if last else "│  "))


def _details(node) -> list[str]:
    from segdsl.cli.inspect import cell

    d = node.details
    out = []
    if "segment" in d:
        out.append(f"segment {d['segment']}: {'member' if d['member'] else 'not a member'}")
    if "field" in d:
        value = d["value"]
        value = "NULL" if value is None else f"[{', '.join(sorted(value))}]" if isinstance(value, frozenset) \
            else cell(value)
        line = f"{d['field']} = {value}"
        agg = d.get("aggregate")
        if agg is not None:
            counted = f", {agg['counted']} of {agg['rows']} rows counted" if "rows" in agg else ""
            line += f"  ({agg['fn']} over {agg['source']}{counted})"
        out.append(line)
    if "windows" in d:
        parts = []
        for lo, hi in d["windows"]:
            parts.append(f"[{cell(lo) if lo is not None else '…'}, {cell(hi) if hi is not None else '…'})")
        out.append(f"day {cell(d['day'])} ({d['op']}): true within {' or '.join(parts) or 'no day'}")
    if "in_population" in d:
        if not d["in_population"]:
            out.append("not in the population ranked")
        elif "cut_off" in d:
            tie = f", ties to keys up to {cell(d['cut_off_key'])}" if "cut_off_key" in d else ""
            out.append(f"in the population; cut at {cell(d['cut_off'])}{tie} (rank {d['cut_off_rank']:,} "
                       f"of {d['ranked']:,} ranked)")
        else:
            out.append("in the population; nothing ranked")
    return out
