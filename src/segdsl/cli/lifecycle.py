"""``segdsl refresh``, ``segdsl sync`` and ``segdsl members``: membership over time.

Thin shells over :mod:`segdsl.lifecycle.refresh`, :mod:`segdsl.lifecycle.sync` and :mod:`segdsl.lifecycle.state`
(see docs/lifecycle.md). ``members`` edits a static segment's ``members [...]`` list in
its .seg file through :mod:`segdsl.project.members`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from segdsl.cli.common import echo_diagnostics, fail, fail_on_errors, load, parse_as_of, relevant, report, stamp, usage
from segdsl.data.dsn import DSN_FORMS
from segdsl.project.errors import UsageError

_STATE_HELP = ("The state store: a SQLite file path or a Postgres DSN. Default: Postgres when --dsn is a "
               "Postgres DSN, else <project>/.segdsl/state.db.")


def _workspaces(files):
    workspaces, _ = load(files, None)
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
    for ws in workspaces:
        report(ws, relevant(ws))  # warnings
    return workspaces


def _chosen(workspaces, names: tuple[str, ...]):
    """Per workspace, the requested segments, or only those named (each name must be
    in at least one of the files)."""
    from segdsl.check.suggest import did_you_mean

    everything = [s for ws in workspaces for s in ws.requested_segments()]
    known = {s.name for s in everything}
    for name in names:
        if name not in known:
            hint = did_you_mean(name, sorted(known)) or f"the segments are: {', '.join(sorted(known)) or '(none)'}"
            raise click.BadParameter(f"no segment `{name}` in the given files; {hint}", param_hint="--segment")
    return [[s for s in ws.requested_segments() if not names or s.name in names] for ws in workspaces]


def _data_dir(ws, data_dir: str | None) -> Path | None:
    return Path(data_dir) if data_dir else ws.data_dir


def _shown(location) -> str:
    from segdsl.project.workspace import display_path
    from segdsl.lifecycle.state import is_postgres_dsn

    text = str(location)
    return text if is_postgres_dsn(text) else display_path(Path(text))


# ------------------------------------------------------------------- refresh


@click.command("refresh")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="The one instant every due segment is evaluated at: `now`, a date (its UTC midnight) or an "
              "ISO timestamp. Due-ness is measured from the last refresh's as-of to this one.")
@click.option("--all", "everything", is_flag=True, help="Refresh every segment, due or not, manual included.")
@click.option("--segment", "-s", "segments", multiple=True, metavar="NAME",
              help="Refresh only this segment, due or not, manual included (repeatable).")
@click.option("--state", metavar="PATH|DSN", help=_STATE_HELP)
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help=f"Evaluate on a database ({DSN_FORMS}; env: SEGDSL_DSN). "
              "A Postgres DSN also holds the state. Default: in memory, on the project's CSV data.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def refresh(files, as_of, everything, segments, state, dsn, data_dir, fmt):
    """Refresh the segments that are due and record who entered and who exited.

    Each segment's cadence (manual, hourly, daily, weekly) says when it is due; all
    due segments are evaluated at one as-of instant and stored, with their entered /
    exited events, in one transaction. Re-running a refresh at the same as-of
    records nothing new. Exits 0 on success, 1 when the data or the state store
    cannot be used, 2 on usage errors.

    \b
    Examples:
      segdsl refresh segments.seg --as-of 2026-11-01
      segdsl refresh segments.seg -s lapsed
    """
    from segdsl.lifecycle.refresh import EvaluationError, open_project_store
    from segdsl.lifecycle.refresh import refresh as run_refresh
    from segdsl.lifecycle.state import StateError

    instant = parse_as_of(as_of)
    workspaces = _workspaces(files)
    chosen = _chosen(workspaces, segments)
    blocks = []
    for ws, segs in zip(workspaces, chosen):
        root = ws.project.root if ws.project is not None and ws.project.config is not None else None
        folder = _data_dir(ws, data_dir)
        if dsn is None and folder is None:
            raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        try:
            with open_project_store(root, state, dsn) as store:
                decls = [*ws.splits.values(), *ws.holdouts.values()]
                if decls:
                    from segdsl.check.splits import assignment_changes
                    from segdsl.lifecycle.refresh import recorded_assignments

                    from segdsl.cli.common import apply_project_lint

                    report(ws, apply_project_lint(ws, assignment_changes(recorded_assignments(store, decls), decls)))
                outcomes = run_refresh(store, segs, ws.schema, instant, everything=everything, only=set(segments),
                                       data_dir=folder, dsn=dsn, splits=decls)
                blocks.append((store.project, store.location, "database" if dsn else "in memory", outcomes))
        except StateError as exc:
            fail(str(exc))
        except EvaluationError as exc:
            fail_on_errors(ws, exc.diagnostics)
    _print_refresh(blocks, instant, fmt)


def _print_refresh(blocks, instant, fmt: str) -> None:
    rows = [
        {
            "project": project,
            "segment": o.segment.name,
            "refresh": o.segment.refresh,
            "size": o.size,
            "entered": o.entered,
            "exited": o.exited,
            "refreshed": o.refreshed,
            "status": o.status,
            "reason": o.reason,
            "next_due": stamp(o.next_due),
        }
        for project, _, _, outcomes in blocks
        for o in outcomes
    ]
    if fmt == "json":
        state = [{"project": p, "store": _shown(loc), "evaluated": where} for p, loc, where, _ in blocks]
        click.echo(json.dumps({"as_of": stamp(instant), "segments": rows, "state": state}, indent=2,
                              ensure_ascii=False))
        return
    for i, (project, location, where, outcomes) in enumerate(blocks):
        done = sum(o.refreshed for o in outcomes)
        if i:
            click.echo("")
        click.echo(f"{project}: refreshed {done} of {len(outcomes)} segments as of {stamp(instant)}, {where}; "
                   f"state in {_shown(location)}")
        header = ("segment", "refresh", "status", "size", "entered", "exited", "why")
        body = [
            (o.segment.name, o.segment.refresh, o.status, "-" if o.size is None else f"{o.size:,}",
             f"{o.entered:,}" if o.refreshed else "-", f"{o.exited:,}" if o.refreshed else "-", o.reason)
            for o in outcomes
        ]
        _table(header, body, right={3, 4, 5})


def _table(header, body, right=frozenset()) -> None:
    widths = [max([len(h)] + [len(b[j]) for b in body]) for j, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.rjust(w) if j in right else c.ljust(w)
                         for j, (c, w) in enumerate(zip(cells, widths))).rstrip()

    click.echo(line(header))
    click.echo(line(tuple("-" * w for w in widths)))
    for b in body:
        click.echo(line(b))


# ------------------------------------------------------------------- sync


@click.command("sync")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--segment", "-s", "segments", multiple=True, metavar="NAME", help="Only this segment (repeatable).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(["email", "sms", "push"]),
              help="Sync only these channels (repeatable). Default: every channel the project has.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output directory; each segment's files go to OUT/<segment>/. "
              "Default: <project>/.segdsl/sync/<consumer>.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "table"]), default="jsonl", show_default=True,
              help="table: rows in the state store's segdsl_sync_contacts / segdsl_sync_changes tables, "
              "written in the transaction that advances the cursor.")
@click.option("--consumer", default="messaging", show_default=True, metavar="NAME",
              help="The receiver these changes are for; each consumer has its own cursor.")
@click.option("--state", metavar="PATH|DSN", help=_STATE_HELP)
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help="Read contact data from a database (env: SEGDSL_DSN); a Postgres DSN also holds the state.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--report", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to print the summary.")
def sync(files, segments, channels, out_dir, fmt, consumer, state, dsn, data_dir, report):
    """Write each segment's contact list and its changes since the last sync.

    Per segment: contacts (key, email, phone, consent flags, channels), one list per
    channel, and the entered / exited changes since this consumer's last sync, each
    with an idempotency key. A contact is on a channel's list only with TRUE consent
    for it (and an address). Sync reads the snapshot of the last `segdsl refresh`.

    \b
    Examples:
      segdsl sync segments.seg --out exports
      segdsl sync segments.seg -s high_value --channel email --format csv --out exports
    """
    from segdsl.lifecycle.refresh import open_project_store
    from segdsl.lifecycle.state import StateError
    from segdsl.lifecycle.sync import SyncError, project_channels
    from segdsl.lifecycle.sync import sync as run_sync

    from segdsl.data.files import PLAIN_NAME

    if not PLAIN_NAME.fullmatch(consumer):  # it names a folder in <project>/.segdsl/sync
        raise click.BadParameter("a consumer is a plain name: letters, digits, `_`, `-` and `.`, starting with a "
                                 "letter, digit or `_`, at most 100 characters", param_hint="--consumer")
    workspaces = _workspaces(files)
    if out_dir and len(workspaces) > 1:
        raise click.UsageError("--out takes the files of one project at a time")
    chosen = _chosen(workspaces, segments)
    blocks = []
    for ws, segs in zip(workspaces, chosen):
        root = ws.project.root if ws.project is not None and ws.project.config is not None else None
        available = project_channels(ws.schema)
        missing = [c for c in channels if c not in available]
        if missing:
            raise click.BadParameter(
                f"the `{ws.schema.entity}` schema declares no {missing[0]} channel; add [channels.{missing[0]}] "
                f"(its consent field, and address field if any) to {_shown(ws.schema.path) or 'the schema'}",
                param_hint="--channel")
        selected = set(channels) if channels else set(available)
        target = Path(out_dir) if out_dir else (root / ".segdsl" / "sync" / consumer if root is not None else None)
        if fmt != "table" and target is None:
            raise click.UsageError("these files are in no project; pass --out DIR")
        folder = _data_dir(ws, data_dir)
        if dsn is None and folder is None:
            raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        try:
            with open_project_store(root, state, dsn, create=False) as store:
                results = run_sync(store, segs, ws.schema, available, selected=selected,
                                   consumer=consumer, fmt=fmt, out_dir=target, data_dir=folder, dsn=dsn)
                blocks.append((store.project, store.location, target, results))
        except (StateError, SyncError) as exc:
            fail(str(exc))
    _print_sync(blocks, fmt, consumer, report)


def _print_sync(blocks, fmt, consumer, report) -> None:
    rows = [
        {
            "project": project, "segment": r.segment, "status": r.status, "as_of": stamp(r.as_of), "size": r.size,
            "entered": r.entered, "exited": r.exited, "cursor": r.cursor, "lists": dict(r.lists),
            "files": [_shown(f) for f in r.files],
        }
        for project, _, _, results in blocks
        for r in results
    ]
    if report == "json":
        click.echo(json.dumps({"consumer": consumer, "format": fmt, "segments": rows}, indent=2, ensure_ascii=False))
        return
    for i, (project, location, target, results) in enumerate(blocks):
        if i:
            click.echo("")
        where = "the state store's outbox tables" if fmt == "table" else _shown(target)
        click.echo(f"{project}: synced {sum(r.status == 'synced' for r in results)} segments for `{consumer}` "
                   f"to {where}; state in {_shown(location)}")
        header = ("segment", "status", "size", "entered", "exited", "email", "sms", "push")
        body = [
            (r.segment, r.status, f"{r.size:,}", f"{r.entered:,}", f"{r.exited:,}",
             *(f"{r.lists[c]:,}" if c in r.lists else "-" for c in ("email", "sms", "push")))
            for r in results
        ]
        _table(header, body, right={2, 3, 4, 5, 6, 7})


# ------------------------------------------------------------------- members


@click.group("members")
def members() -> None:
    """Edit a static segment's member list in its .seg file.

    \b
    Examples:
      segdsl members add segments.seg board_members 1004 1005
    """


@members.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("segment")
@click.argument("keys", nargs=-1, required=True)
def members_add(file, segment, keys):
    """Add KEYS to static SEGMENT in FILE.

    \b
    Examples:
      segdsl members add segments.seg board_members 1004 1005
    """
    _edit(file, segment, add=keys)


@members.command("remove")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("segment")
@click.argument("keys", nargs=-1, required=True)
def members_remove(file, segment, keys):
    """Remove KEYS from static SEGMENT in FILE.

    \b
    Examples:
      segdsl members remove segments.seg board_members 1004
    """
    _edit(file, segment, remove=keys)


@members.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("segment")
@click.argument("csv_file", metavar="CSV", type=click.Path(dir_okay=False))
@click.option("--column", metavar="NAME",
              help="The column holding the keys. Default: the schema's key column, else `key`, else the only column.")
@click.option("--replace", is_flag=True, help="Make the list exactly the CSV's keys (default: add them).")
def members_import(file, segment, csv_file, column, replace):
    """Add the keys in a CSV file (with a header row) to static SEGMENT in FILE.

    \b
    Examples:
      segdsl members import segments.seg board_members keys.csv --column guest_id
    """
    from segdsl.project.members import MemberEditError, key_field, read_csv_keys

    try:
        keys = read_csv_keys(Path(csv_file), key_field(file), column)
    except UsageError as exc:
        raise usage(exc) from None
    except MemberEditError as exc:
        fail(exc.message)
    if replace:
        _edit(file, segment, replace=keys, typed=True)
    else:
        _edit(file, segment, add=keys, typed=True)


def _edit(file: str, segment: str, *, add=(), remove=(), replace=None, typed: bool = False) -> None:
    from segdsl.diagnostics import render_all_text
    from segdsl.project.members import MemberEditError, edit_member_file

    try:
        edit = edit_member_file(file, segment, add=add, remove=remove, replace=replace, typed=typed)
    except UsageError as exc:
        raise usage(exc) if exc.param == "keys" else click.UsageError(exc.message) from None
    except MemberEditError as exc:
        if exc.diagnostics:
            echo_diagnostics(render_all_text(exc.diagnostics, exc.sources), err=True)
            raise SystemExit(1) from None
        fail(exc.message)
    for k in edit.already:
        click.echo(f"segdsl: `{k}` is already a member of `{segment}`", err=True)
    for k in edit.missing:
        click.echo(f"segdsl: `{k}` is not a member of `{segment}`", err=True)
    click.echo(f"{segment}: {len(edit.added)} added, {len(edit.removed)} removed, {edit.size:,} members in {file}")
    if edit.added or edit.removed:
        click.echo(f"record the change with: segdsl refresh {file} --segment {segment}", err=True)
