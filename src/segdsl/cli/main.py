"""The ``segdsl`` command: a thin shell over the library API.

Exit status: 0 success, 1 problems found (diagnostics with errors, a failed query),
2 usage errors. Bad input is reported as diagnostics, never as a traceback. Heavy
modules (sqlglot, numpy, pyarrow, drivers) are imported only by the commands that
need them, so ``segdsl check`` starts fast.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

from segdsl.cli.common import (
    COLOR,
    as_of_option,
    echo_diagnostics,
    fail_on_errors,
    load,
    parse_as_of,
    relevant,
    report,
    select_segments,
    usage,
)
from segdsl.diagnostics import render_all_text, render_json, summary_line
from segdsl.data.dsn import DSN_FORMS
from segdsl.project.errors import UsageError


#: Commands kept in their own modules, imported only when run, so `segdsl check`
#: starts without loading them: name → "module:attribute".
LAZY_COMMANDS = {
    "fmt": "segdsl.cli.fmt:fmt",
    "import": "segdsl.cli.interchange:import_",
    "export": "segdsl.cli.interchange:export",
    "lsp": "segdsl.cli.lsp:lsp",
    "seed": "segdsl.cli.seed:seed",
    "model": "segdsl.cli.model:model",
    "journey": "segdsl.cli.journey:journey",
    "refresh": "segdsl.cli.lifecycle:refresh",
    "sync": "segdsl.cli.lifecycle:sync",
    "members": "segdsl.cli.lifecycle:members",
    "plan": "segdsl.cli.plan:plan",
    "explain": "segdsl.cli.explain:explain",
    "show": "segdsl.cli.inspect:show",
    "history": "segdsl.cli.inspect:history",
    "serve": "segdsl.cli.serve:serve",
}


class _Group(click.Group):
    """Turns expected failures into one-line messages, and anything else into a short
    report instead of a traceback (``SEGDSL_DEBUG=1`` shows the traceback). Also loads
    the commands of :data:`LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (`segdsl size ... | head`): stop quietly, as a program
            # ended by SIGPIPE does. Python would flush stdout again at exit, so it is
            # pointed at /dev/null first.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            from segdsl.data.tables import DataError
            from segdsl.data.engines import EngineError

            if isinstance(exc, (EngineError, DataError)):
                click.echo(f"segdsl: {exc}", err=True)
                sys.exit(1)
            if os.environ.get("SEGDSL_DEBUG"):
                raise
            click.echo(f"segdsl: internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("this is a bug in segdsl; rerun with SEGDSL_DEBUG=1 and report it", err=True)
            sys.exit(70)


def main() -> None:
    cli()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="segdsl")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour diagnostics: auto colours a terminal unless NO_COLOR is set.")
def cli(color: str) -> None:
    """segdsl: customer segments as code.

    Write segments as rules in .seg files, check them against the CRM schema,
    compile them to SQL for any database, and size them exactly.

    \b
    Examples:
      segdsl check                       # every .seg file of the project here
      segdsl size segments.seg --as-of 2026-11-01
      segdsl compile segments.seg --target duckdb
    """
    COLOR["mode"] = color


# -------------------------------------------------------------------------- check


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-e", "--expr", help="Check a bare rule instead of (or as well as) files.")
@click.option("--schema", type=click.Path(dir_okay=False), help="Schema file (default: from segdsl.toml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="github: workflow annotations; sarif: SARIF 2.1.0 for code scanning.")
@click.option("--strict", is_flag=True, help="Warnings fail the check too (exit 1).")
def check(files, expr, schema, fmt, strict):
    """Check .seg files against the schema; report every problem.

    FILES are files or directories (searched for *.seg); with none, every .seg
    file of the project in the current directory (its segdsl.toml) is checked.
    Exits 0 when clean (warnings allowed unless --strict), 1 when there are
    problems, 2 on usage errors.

    \b
    Examples:
      segdsl check
      segdsl check segments.seg --format json
      segdsl check -e 'days_since_booking >= 180'
    """
    from segdsl.api import version
    from segdsl.diagnostics import Severity, render_github, render_sarif

    workspaces, _ = load(files, schema, expr, project=True)
    diags = [d for ws in workspaces for d in relevant(ws, notes=True) + _assignment_changes(ws)]
    sources = {k: v for ws in workspaces for k, v in ws.sources.items()}
    if fmt == "json":
        click.echo(render_json(diags, sources))
    elif fmt == "github":
        if diags:
            click.echo(render_github(diags, sources))
    elif fmt == "sarif":
        click.echo(render_sarif(diags, sources, version()))
    else:
        if diags:
            echo_diagnostics(render_all_text(diags, sources))
            click.echo("")
        n = sum(len(ws.requested) for ws in workspaces)
        click.echo(f"checked {n} file{'s' if n != 1 else ''}: {summary_line(diags)}")
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    raise SystemExit(1 if any(d.severity in failing for d in diags) else 0)


def _assignment_changes(ws) -> list:
    """W0231 against the assignments the project's own state store recorded, if it
    has a store; nothing is created or written."""
    decls = [*ws.splits.values(), *ws.holdouts.values()]
    if not decls or ws.project is None or ws.project.config is None:
        return []
    from segdsl.check.splits import assignment_changes
    from segdsl.lifecycle.refresh import read_project_store, recorded_assignments
    from segdsl.lifecycle.state import StateError

    try:
        store = read_project_store(ws.project.root, None, None)
    except StateError:
        return []  # an unreadable store is `segdsl refresh`'s to report
    if store is None:
        return []
    with store:
        changes = assignment_changes(recorded_assignments(store, decls), decls)
    from segdsl.cli.common import apply_project_lint

    return [d for d in apply_project_lint(ws, changes) if d.span is None or d.span.path in ws.requested]


# ------------------------------------------------------------------------ compile


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-e", "--expr", help="Compile a bare rule instead of the files' segments.")
@click.option("--target", "-t", default="postgres", show_default=True, metavar="DIALECT",
              help="Any sqlglot dialect: postgres, duckdb, sqlite, mysql, bigquery, snowflake, trino, ...")
@click.option("--segment", "-s", "segments", multiple=True, metavar="NAME", help="Only this segment (repeatable).")
@click.option("--form", type=click.Choice(["select", "count", "view"]), default="select", show_default=True,
              help="select: the member keys; count: the size; view: CREATE OR REPLACE VIEW segment_<name>.")
@as_of_option("db", "; `db` (the default) uses the database's clock at query time")
@click.option("--params", is_flag=True, help="Emit values as bound parameters and print them as JSON.")
@click.option("--schema", type=click.Path(dir_okay=False), help="Schema file (default: from segdsl.toml).")
@click.option("--format", "fmt", type=click.Choice(["sql", "json"]), default="sql", show_default=True)
def compile(files, expr, target, segments, form, as_of, params, schema, fmt):  # noqa: A001 - the command's name
    """Compile segments to SQL for a target database.

    FILES are .seg files or directories (searched for *.seg); the segments of all
    of them are compiled, in order. Every segment that checks and that the target can
    express is printed; the diagnostics of the others go to stderr, and the exit
    status is then 1. SQL for a dialect no test runs on a real engine comes with a
    note on stderr saying so.

    \b
    Examples:
      segdsl compile segments.seg --target duckdb
      segdsl compile segments.seg -s high_value --form count --as-of 2026-11-01
      segdsl compile -e 'ltv >= 150_000' --target mssql
    """
    from segdsl.api import compile_sql, sql_target
    from segdsl.diagnostics import to_json_dict

    if not files and expr is None:
        raise click.UsageError("give one or more .seg files, or --expr")
    try:
        chosen_target = sql_target(target)
    except UsageError as exc:
        raise usage(exc) from None
    pinned = None if as_of == "db" else parse_as_of(as_of)
    workspaces, rule = load(files, schema, expr)
    if expr is not None:
        fail_on_errors(workspaces[0], relevant(workspaces[0]))  # a bare rule compiles whole or not at all
    jobs, problems, declared, reports = [], [], [], []
    for ws in workspaces[:1] if expr is not None else workspaces:  # a rule is compiled once
        checked = relevant(ws)  # errors of segments that did not check, and warnings
        names = [d.name for path in ws.requested if path in ws.modules for d in ws.modules[path].segments]
        if expr is not None:
            chosen = [("expr", rule)]
        else:
            try:
                chosen = [(s.name, s) for s in ws.select(segments)]
            except UsageError as exc:
                if any(n in names for n in segments):
                    fail_on_errors(ws, checked)  # a segment asked for by name did not check
                raise usage(exc) from None
        try:
            compiled = [(name, compile_sql(ws, what, target=target, form=form, as_of=pinned, params=params))
                        for name, what in chosen]
        except UsageError as exc:  # --params on a target without named markers
            raise usage(exc) from None
        refused = [d for _, r in compiled for d in r.diagnostics]
        reports.append((ws, checked + refused))
        jobs += [(ws, name, r) for name, r in compiled]
        problems += checked + refused
        # Segments that did not check (or refer to one that did not) are not chosen at all.
        declared += [n for n, _ in chosen] if segments or expr is not None else names
    if not chosen_target.verified:
        click.echo(f"segdsl: note: no test runs {chosen_target.dialect} SQL on a real engine; review it before use "
                   "(see docs/engines.md)", err=True)
    for ws, diags in reports:
        report(ws, diags)  # on stderr, beside the SQL of the segments that compiled
    if fmt == "json":
        out = []
        for ws, name, r in jobs:
            if not r.ok:
                out.append({"segment": name, "sql": None,
                            "diagnostics": [to_json_dict(d, ws.sources) for d in r.diagnostics]})
                continue
            out.append({"segment": name, "sql": r.sql, "params": _jsonable(r.params),
                        **({"functions": list(r.functions)} if r.functions else {})})
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for i, (_, name, r) in enumerate([j for j in jobs if j[2].ok]):
            if i:
                click.echo("")
            click.echo(f"-- segment: {name}")
            for fn in r.functions:
                # The names are segdsl's own constants, never user text.
                click.echo(f"-- note: calls {fn}(text), which the connection must register "
                           "(see docs/language.md, Splits and holdouts)")
            click.echo(r.sql + ";")
            if params:
                # json.dumps escapes newlines, so user text cannot leave this comment.
                click.echo("-- params: " + json.dumps(_jsonable(r.params), ensure_ascii=True))
    if any(d.is_error for d in problems):
        done = {name for _, name, r in jobs if r.ok}
        missing = list(dict.fromkeys(n for n in declared if n not in done))
        total = len(done) + len(missing)
        counts = "" if expr is not None else (
            f"; {len(done)} of {total} segment{'s' if total != 1 else ''} compiled"
            + (f" (not compiled: {', '.join(missing)})" if missing else ""))
        click.echo(f"segdsl: {summary_line(problems)}{counts}", err=True)
        raise SystemExit(1)


def _jsonable(params: dict) -> dict:
    def conv(v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, (list, tuple, frozenset, set)):
            return [conv(x) for x in v]
        if isinstance(v, (int, float, str, bool)) or v is None:
            return v
        return str(v)

    return {k: conv(v) for k, v in params.items()}


# --------------------------------------------------------------------------- size


@cli.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-e", "--expr", help="Size a bare rule instead of the files' segments.")
@click.option("--segment", "-s", "segments", multiple=True, metavar="NAME", help="Only this segment (repeatable).")
@as_of_option("now")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help=f"Size on a database: {DSN_FORMS} (env: SEGDSL_DSN). "
              "Default: in memory, on the project's CSV data.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--schema", type=click.Path(dir_okay=False), help="Schema file (default: from segdsl.toml).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--overlap", is_flag=True, help="Also show how many members each pair of segments shares.")
def size(files, expr, segments, as_of, dsn, data_dir, schema, fmt, overlap):
    """Compute exact segment sizes, in memory or on a database.

    \b
    Examples:
      segdsl size segments.seg --as-of 2026-11-01
      segdsl size . --overlap
      segdsl size segments.seg --dsn duckdb:crm.duckdb
    """
    from segdsl.api import sizes

    if not files and expr is None:
        raise click.UsageError("give one or more .seg files, or --expr")
    instant = parse_as_of(as_of)
    workspaces, rule = load(files, schema, expr)
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
    reports = []
    for ws in workspaces:
        report(ws, relevant(ws))  # warnings
        chosen = [rule] if expr is not None else select_segments(ws, segments)
        if not dsn and data_dir is None and ws.data_dir is None:
            raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        found = sizes(ws, chosen, as_of=instant, dsn=dsn, data=data_dir, overlap=overlap)
        fail_on_errors(ws, found.diagnostics)
        reports.append((ws.schema, found))
    _print_sizes(reports, instant, fmt)


def _cutoff_json(c) -> dict:
    """A ranking's cut-off (lifecycle/cutoffs.py) as JSON: numbers exact, as text."""
    value = c.value if c.value is None or isinstance(c.value, (int, float)) else str(c.value)
    return {"ranking": c.ranking, "ranked": c.ranked, "value": value, "key": c.key, "rank": c.rank, "n": c.n,
            "members": c.members, "text": str(c)}


def _print_sizes(blocks, instant: dt.datetime, fmt: str) -> None:
    stamp = instant.isoformat().replace("+00:00", "Z")
    tables = []
    for schema, found in blocks:
        results, where, pairs = found.sizes, found.evaluated, found.overlaps
        rows = [
            {
                "segment": r.segment.name,
                "title": r.segment.title,
                "type": r.segment.kind,
                "refresh": r.segment.refresh,
                "size": r.size,
                "total": r.total,
                "share": round(r.share, 6),
                **({"cutoffs": [_cutoff_json(c) for c in r.cutoffs]} if r.cutoffs else {}),
            }
            for r in results
        ]
        block = {"entity": schema.entity, "table": schema.table, "evaluated": where, "segments": rows}
        if pairs:
            block["overlaps"] = [
                {"a": p.a.name, "b": p.b.name, "both": p.both, "jaccard": round(p.jaccard, 6)} for p in pairs
            ]
        tables.append(block)
    if fmt == "json":
        click.echo(json.dumps({"as_of": stamp, "results": tables}, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        if any("overlaps" in t for t in tables):
            w.writerow(["entity", "a", "b", "both", "jaccard"])
            for t in tables:
                for o in t.get("overlaps", []):
                    w.writerow([t["entity"], o["a"], o["b"], o["both"], f"{o['jaccard']:.6f}"])
            return
        w.writerow(["entity", "segment", "type", "refresh", "size", "total", "share"])
        for t in tables:
            for r in t["segments"]:
                w.writerow([t["entity"], r["segment"], r["type"], r["refresh"], r["size"], r["total"], f"{r['share']:.6f}"])
        return
    for i, t in enumerate(tables):
        rows = t["segments"]
        header = ("segment", "type", "refresh", "size", "share")
        body = [(r["segment"], r["type"], r["refresh"], f"{r['size']:,}", f"{r['share'] * 100:.1f}%") for r in rows]
        widths = [max([len(h)] + [len(b[j]) for b in body]) for j, h in enumerate(header)]

        def line(cells, widths=widths):
            return "  ".join(
                c.rjust(w) if j >= 3 else c.ljust(w) for j, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        total = rows[0]["total"] if rows else 0
        if i:
            click.echo("")
        click.echo(f"{t['entity']} segments as of {stamp}, {t['evaluated']}, {total:,} profiles in {t['table']}")
        click.echo(line(header))
        click.echo(line(tuple("-" * w for w in widths)))
        for b in body:
            click.echo(line(b))
        cuts = [(r["segment"], c["text"]) for r in rows for c in r.get("cutoffs", [])]
        if cuts:
            click.echo("")
            click.echo("rankings, cut at the as-of:")
            for name, text in cuts:
                click.echo(f"  {name}: {text}")
        if "overlaps" in t:
            _print_overlap_matrix(rows, t["overlaps"])


def _print_overlap_matrix(rows: list[dict], overlaps: list[dict]) -> None:
    """Members shared by each pair: a lower-triangular matrix, columns numbered."""
    names = [r["segment"] for r in rows]
    both = {(o["a"], o["b"]): o["both"] for o in overlaps}
    both.update({(b, a): n for (a, b), n in list(both.items())})
    width = max(len(n) for n in names) + 4
    cells = [[f"{both.get((a, b), r['size']) if a != b else r['size']:,}" for b in names[: i + 1]]
             for i, (a, r) in enumerate(zip(names, rows))]
    # As wide as the widest number and the widest column label, so labels never touch.
    cell = max(max(len(c) for row in cells for c in row), len(f"({len(names)})")) + 2
    click.echo("")
    click.echo("members shared by each pair (the diagonal is the segment's size)")
    click.echo(" " * width + "".join(f"{f'({j + 1})':>{cell}}" for j in range(len(names))))
    for i, (name, row) in enumerate(zip(names, cells)):
        click.echo(f"{f'({i + 1}) {name}':<{width}}" + "".join(f"{c:>{cell}}" for c in row))


# ----------------------------------------------------------------------------- db


@cli.group()
def db() -> None:
    """Work with a SQL database holding the profile table.

    \b
    Examples:
      segdsl db load --dsn postgresql://postgres@127.0.0.1/crm
    """


@db.command("load")
@click.argument("project_dir", required=False, default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--dsn", envvar="SEGDSL_DSN", required=True, metavar="URL",
              help=f"The database: {DSN_FORMS} (env: SEGDSL_DSN).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
def db_load(project_dir, dsn, data_dir):
    """Create the project's tables and load its CSV data, replacing them as one unit:
    readers see the previous load or this one, never a mix, even if the load is killed.

    \b
    Examples:
      segdsl db load --dsn postgresql://postgres@127.0.0.1/crm
      segdsl db load examples/golf --dsn duckdb:golf.duckdb
    """
    from segdsl.api import load_database

    try:
        loaded = load_database(project_dir, dsn, data=data_dir)
    except UsageError as exc:
        if exc.param == "data":
            raise click.UsageError("no data: pass --data DIR or set `data` in segdsl.toml") from None
        raise usage(exc) from None
    if not loaded.ok:
        echo_diagnostics(render_all_text(loaded.diagnostics, {}), err=True)
        raise SystemExit(1)
    tables = ", ".join(f"{table} {n:,}" for table, n in loaded.rows.items())
    click.echo(f"loaded {sum(loaded.rows.values()):,} rows ({tables}) on {loaded.family}")
