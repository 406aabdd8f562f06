"""``segdsl plan``: what refreshing the current files would change, before doing it."""

from __future__ import annotations

import json

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
    snapshot, and the journeys and syncs each change affects. Writes nothing.

    \b
    Examples:
      segdsl plan segments.seg --as-of 2026-11-02
    """
    from segdsl.api import preview_refresh
    from segdsl.cli.common import fail, fail_on_errors, load, parse_as_of, relevant
    from segdsl.lifecycle.state import StateError

    instant = parse_as_of(as_of)
    workspaces, _ = load(files, None)
    blocks = []
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
        if not dsn and ws.data_dir is None:
            raise click.UsageError("no data: set `data` in segdsl.toml or pass --dsn")
        try:
            preview = preview_refresh(ws, as_of=instant, state=state, dsn=dsn)
        except StateError as exc:
            fail(str(exc))
        fail_on_errors(ws, preview.diagnostics)
        rows = [{
            "segment": c.segment, "action": c.action, "size_before": c.size_before, "size": c.size,
            "entered": c.entered, "exited": c.exited, "journeys": list(c.journeys), "syncs": list(c.syncs),
            **({"cutoffs": [str(cut) for cut in c.cutoffs]} if c.cutoffs else {}),
        } for c in preview.segments]
        blocks.append({"entity": preview.entity, "state": preview.state, "segments": rows})
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
            for cut in r.get("cutoffs", []):
                click.echo(f"      {cut}")
        changed = [r for r in b["segments"] if r["action"] != "no change"]
        click.echo(f"Plan: {len(changed)} to refresh (+{sum(r['entered'] for r in changed):,} "
                   f"-{sum(r['exited'] for r in changed):,}), {len(b['segments']) - len(changed)} unchanged. "
                   "Nothing was written; `segdsl refresh` applies it.")
        click.echo("")
