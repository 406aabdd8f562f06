"""``segdsl show`` and ``segdsl history``: who is in a segment, and who entered and left
it when. (``segdsl explain FILE`` — why one entity is in it — is in ``cli/explain.py``.)"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

import click

from segdsl.data.dsn import DSN_FORMS
from segdsl.cli.common import as_of_option, fail, fail_on_errors, load, parse_as_of, relevant, usage

DSN_HELP = (f"A database to read: {DSN_FORMS} "
            "(env: SEGDSL_DSN). Default: in memory, on the project's CSV data.")

#: Rows the table format measures its column widths on (it streams the rest).
TABLE_SAMPLE = 1_000


def cell(value: Any) -> str:
    """A value as show and history print it in a table or CSV: NULL empty, instants in
    UTC with `Z`, tags sorted and joined by `;`."""
    match value:
        case None:
            return ""
        case bool():
            return "true" if value else "false"
        case dt.datetime():
            return value.isoformat().replace("+00:00", "Z")
        case dt.date() | Decimal():
            return str(value)
        case frozenset() | set():
            return ";".join(sorted(value))
    return str(value)


def json_value(value: Any) -> Any:
    match value:
        case bool() | int() | float() | str() | None:
            return value
        case frozenset() | set():
            return sorted(value)
    return cell(value)


def write_rows(columns: list[str], rows, fmt: str) -> int:
    """Write ``rows`` as they come (a table measures its first rows); the number written."""
    out = sys.stdout
    n = 0
    if fmt == "csv":
        import csv

        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([cell(v) for v in row])
            n += 1
        return n
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if n else "") + "\n  " + json.dumps(dict(zip(columns, map(json_value, row))),
                                                             ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
        return n
    head: list[list[str]] = []
    it = iter(rows)
    for row in it:
        head.append([cell(v) for v in row])
        if len(head) >= TABLE_SAMPLE:
            break
    widths = [max([len(c)] + [len(r[j]) for r in head]) for j, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    click.echo(line(columns))
    click.echo(line(["-" * w for w in widths]))
    for r in head:
        click.echo(line(r))
        n += 1
    for row in it:
        click.echo(line([cell(v) for v in row]))
        n += 1
    return n


@click.command("show", epilog="""\b
Examples:
  segdsl show segments.seg --segment win_back --as-of 2026-11-01 --limit 10
  segdsl show segments.seg -s high_value --columns ltv,email --format csv > high_value.csv
  segdsl show segments.seg -s lapsed --all-columns --dsn duckdb:crm.duckdb""")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--segment", "-s", required=True, metavar="NAME", help="The segment whose members to list.")
@as_of_option("now")
@click.option("--limit", type=click.IntRange(min=0), metavar="N", help="Only the first N members (in key order).")
@click.option("--columns", metavar="A,B", help="These fields after the key (default: the fields the rule reads).")
@click.option("--all-columns", is_flag=True, help="Every field of the schema after the key.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL", help=DSN_HELP)
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--schema", type=click.Path(dir_okay=False), help="Schema file (default: from segdsl.toml).")
def show(file, segment, as_of, limit, columns, all_columns, fmt, dsn, data_dir, schema):
    """List a segment's members, key first, with the fields its rule reads.

    In key order; in memory on the project's CSV data, or on a database with --dsn.
    Rows are written as they are read, so a large segment streams to CSV or JSON.
    """
    from segdsl.api.inspect import show as show_members
    from segdsl.project.errors import UsageError

    if columns is not None and all_columns:
        raise click.UsageError("give --columns or --all-columns, not both")
    instant = parse_as_of(as_of)
    (ws,), _ = load([file], schema)
    fail_on_errors(ws, relevant(ws))
    if not dsn and data_dir is None and ws.data_dir is None:
        raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns is not None else None
    try:
        result = show_members(ws, segment, dsn=dsn, as_of=instant, columns=names, all_columns=all_columns,
                              limit=limit, data=data_dir)
    except UsageError as exc:
        raise usage(exc, "--columns" if exc.param == "column" else None) from None
    fail_on_errors(ws, result.diagnostics)
    write_rows(result.columns, result, fmt)


@click.command("history", epilog="""\b
Examples:
  segdsl history segments.seg
  segdsl history segments.seg --segment win_back --since 2026-10-01
  segdsl history segments.seg --key 1003 --format json""")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--segment", "-s", metavar="NAME", help="Only this segment's changes.")
@click.option("--key", "-k", metavar="KEY", help="Only this entity's changes.")
@click.option("--since", metavar="WHEN", help="Only changes of refreshes at or after WHEN (a date or timestamp).")
@click.option("--state", metavar="PATH|DSN", help="The membership store (default: <project>/.segdsl/state.db).")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help="The database refresh evaluated on; a Postgres one also holds the store.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def history(files, segment, key, since, state, dsn, fmt):
    """Show who entered and left each segment, and when: the changes `segdsl refresh`
    recorded, oldest first. Writes nothing."""
    from segdsl.api.inspect import history as read_history
    from segdsl.lifecycle.state import StateError
    from segdsl.project.errors import UsageError

    instant = parse_as_of(since, "--since") if since is not None else None
    workspaces, _ = load(files, None)
    events = []
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
        try:
            events += read_history(ws, segment=segment, key=key, since=instant, state=state, dsn=dsn)
        except UsageError as exc:
            raise usage(exc, "--key" if exc.param == "key" else None) from None
        except StateError as exc:
            fail(str(exc))
    if not events and fmt == "table":
        click.echo("no changes recorded" + (" (has `segdsl refresh` run?)" if segment is None and key is None
                                           and since is None else ""))
        return
    write_rows(["as_of", "segment", "key", "change"], ((e.instant, e.segment, e.key, e.change) for e in events), fmt)
