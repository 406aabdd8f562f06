"""``segdsl plan``: what refreshing the current files would change, before doing it."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("plan")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="The instant to plan for: `now`, a date or an ISO timestamp.")
@click.option("--state", metavar="PATH|DSN", help="The membership store (default: <project>/.segdsl/state.db).")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL", help="Evaluate on a database instead of the CSV data.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def plan(files, as_of, state, dsn, fmt):
    """Show each segment's size and who would enter or exit it against its last
    snapshot, and the journeys and syncs each change affects. Writes nothing."""
    from segdsl import ir
    from segdsl.api import members as evaluate
    from segdsl.cli.common import fail_on_errors, load, parse_as_of, relevant
    from segdsl.lifecycle.refresh import open_project_store

    instant = parse_as_of(as_of)
    workspaces, _ = load(files, None)
    blocks = []
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
        segments = ws.requested_segments()
        root = ws.project.root if ws.project and ws.project.config else None
        if not dsn and ws.data_dir is None:
            raise click.UsageError("no data: set `data` in segdsl.toml or pass --dsn")
        found = evaluate(ws, segments, as_of=instant, dsn=dsn)
        fail_on_errors(ws, found.diagnostics)
        members = found.members
        store_path = Path(state) if state and "://" not in state else None
        has_store = state or dsn or (root is not None and (root / ".segdsl" / "state.db").exists())
        store = open_project_store(root, state, dsn, create=False) if has_store else None
        journeys_of: dict[str, list[str]] = {}
        for j in ws.journeys.values():
            for n in ir.walk(j.audience):
                if isinstance(n, ir.Member):
                    journeys_of.setdefault(n.segment, [])
                    if j.name not in journeys_of[n.segment]:
                        journeys_of[n.segment].append(j.name)
        rows = []
        try:
            for seg in segments:
                now = set(members[seg.name])
                head = store.head(seg.name) if store else None
                before = set(store.members(seg.name)) if head else set()
                entered, exited = len(now - before), len(before - now)
                action = "create" if head is None else ("update" if entered or exited else "no change")
                rows.append({
                    "segment": seg.name, "action": action, "size_before": len(before) if head else None,
                    "size": len(now), "entered": entered, "exited": exited,
                    "journeys": journeys_of.get(seg.name, []),
                    "syncs": store.consumers(seg.name) if store else [],
                })
        finally:
            if store is not None:
                store.close()
        blocks.append({"entity": ws.schema.entity, "state": str(store_path or state or dsn or
                       (root / ".segdsl" / "state.db" if root else "none")), "segments": rows})
    stamp = instant.isoformat().replace("+00:00", "Z")
    if fmt == "json":
        click.echo(json.dumps({"as_of": stamp, "results": blocks}, indent=2))
        return
    marks = {"create": "+", "update": "~", "no change": "="}
    for b in blocks:
        click.echo(f"{b['entity']} segments as of {stamp}, against {b['state']}")
        for r in b["segments"]:
            before = "new" if r["size_before"] is None else f"{r['size_before']:,}"
            change = f"+{r['entered']:,} -{r['exited']:,}" if r["action"] != "no change" else "no change"
            affects = []
            if r["journeys"] and r["action"] != "no change":
                affects.append("journeys: " + ", ".join(r["journeys"]))
            if r["syncs"] and r["action"] != "no change":
                affects.append("sync: " + ", ".join(r["syncs"]))
            click.echo(f"  {marks[r['action']]} {r['segment']:<28} {before:>7} -> {r['size']:<7,} {change:<16} "
                       + "; ".join(affects))
        changed = [r for r in b["segments"] if r["action"] != "no change"]
        click.echo(f"Plan: {len(changed)} to refresh (+{sum(r['entered'] for r in changed):,} "
                   f"-{sum(r['exited'] for r in changed):,}), {len(b['segments']) - len(changed)} unchanged. "
                   "Nothing was written; `segdsl refresh` applies it.")
        click.echo("")
