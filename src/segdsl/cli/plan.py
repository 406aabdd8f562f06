"""``segdsl plan``: what refreshing the current files would change, before doing it."""

from __future__ import annotations

import json

import click


@click.command("plan")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="The instant to plan for: `now`, a date or an ISO timestamp.")
@click.option("--all", "everything", is_flag=True, help="As `refresh --all`: every segment, due or not.")
@click.option("--segment", "-s", "segments", multiple=True, metavar="NAME",
              help="As `refresh --segment`: only this segment, due or not (repeatable).")
@click.option("--state", metavar="PATH|DSN", help="The membership store (default: <project>/.segdsl/state.db).")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL", help="Evaluate on a database instead of the CSV data.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="CSV data directory (default: from segdsl.toml).")
@click.option("--base", metavar="REV",
              help="Compare with a git revision instead of the state store: every segment whose definition "
              "differs from REV's (a branch, tag or commit, e.g. origin/main), sized both ways.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="markdown: a table for a pull request comment (with --base).")
def plan(files, as_of, everything, segments, state, dsn, data_dir, base, fmt):
    """Show what `segdsl refresh` with the same arguments would record: which segments
    it refreshes (by cadence; manual ones only with --all or --segment), each one's size
    and who would enter or exit it against its last snapshot, and the journeys and syncs
    each change affects; skipped segments with the reason. Writes nothing.

    With --base REV, compare the files with a git revision instead: each segment whose
    definition differs (or a rule it refers to), with its size under each and who would
    enter and exit, as text or as markdown for a pull request.

    \b
    Examples:
      segdsl plan segments.seg --as-of 2026-11-02
      segdsl plan segments.seg --all --format json
      segdsl plan *.seg --base origin/main --format markdown > plan.md
    """
    from segdsl.api import preview_refresh
    from segdsl.cli.common import fail, fail_on_errors, load, parse_as_of, relevant, usage
    from segdsl.lifecycle.state import StateError
    from segdsl.project.errors import UsageError

    instant = parse_as_of(as_of)
    if base is not None:
        if everything or segments or state:
            raise click.UsageError("--base compares definitions with a revision; --all, --segment and --state "
                                   "are for planning a refresh")
        return _against(files, base, instant, dsn, data_dir, fmt)
    if fmt == "markdown":
        raise click.UsageError("--format markdown is for --base REV")
    workspaces, _ = load(files, None)
    known = {s.name for ws in workspaces for s in ws.requested_segments()}
    for name in segments:
        if name not in known:
            from segdsl.check.suggest import did_you_mean

            hint = did_you_mean(name, sorted(known)) or f"the segments are: {', '.join(sorted(known)) or '(none)'}"
            raise click.BadParameter(f"no segment `{name}` in the given files; {hint}", param_hint="--segment")
    blocks = []
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
        if not dsn and data_dir is None and ws.data_dir is None:
            raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        mine = [n for n in segments if n in {s.name for s in ws.requested_segments()}]
        if segments and not mine:
            continue
        try:
            preview = preview_refresh(ws, as_of=instant, state=state, dsn=dsn, data=data_dir,
                                      everything=everything, segments=mine or None)
        except StateError as exc:
            fail(str(exc))
        except UsageError as exc:
            raise usage(exc) from None
        fail_on_errors(ws, preview.diagnostics)
        rows = [{
            "segment": c.segment, "action": c.action, "size_before": c.size_before, "size": c.size,
            "entered": c.entered, "exited": c.exited, "journeys": list(c.journeys), "syncs": list(c.syncs),
            "reason": c.reason,
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
            if r["action"] not in marks:  # skipped: the refresh leaves it as it is
                click.echo(f"  · {r['segment']:<28} {r['action']}: {r['reason']}")
                continue
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
        refreshed = [r for r in b["segments"] if r["action"] in marks]
        changed = [r for r in refreshed if r["action"] != "no change"]
        skipped = len(b["segments"]) - len(refreshed)
        click.echo(f"Plan: {len(refreshed)} to refresh, {len(changed)} changing "
                   f"(+{sum(r['entered'] for r in changed):,} -{sum(r['exited'] for r in changed):,}), "
                   f"{skipped} skipped. Nothing was written; `segdsl refresh` with the same arguments applies it.")
        click.echo("")


def _against(files, base: str, instant, dsn, data_dir, fmt: str) -> None:
    from segdsl.api import preview_against
    from segdsl.cli.common import fail_on_errors, load, relevant, stamp, usage
    from segdsl.project.errors import UsageError

    workspaces, _ = load(files, None)
    previews = []
    for ws in workspaces:
        fail_on_errors(ws, relevant(ws))
        if not dsn and data_dir is None and ws.data_dir is None:
            raise click.UsageError("no data: pass --data DIR or --dsn URL, or set `data` in segdsl.toml")
        try:
            preview = preview_against(ws, base, as_of=instant, dsn=dsn, data=data_dir)
        except UsageError as exc:
            raise usage(exc, "--base" if exc.param == "base" else None) from None
        if preview.diagnostics:
            click.echo(f"segdsl: the files at `{base}` do not check:", err=True)
        fail_on_errors(ws, preview.diagnostics)
        previews.append(preview)
    when = stamp(instant)
    if fmt == "json":
        click.echo(json.dumps({"as_of": when, "base": base, "results": [{
            "entity": p.entity, "commit": p.commit, "evaluated": p.evaluated, "unchanged": p.unchanged,
            "segments": [{"segment": c.segment, "change": c.change, "size_before": c.size_before, "size": c.size,
                          "entered": c.entered, "exited": c.exited} for c in p.segments]} for p in previews]},
            indent=2))
        return
    marks = {"added": "+", "changed": "~", "removed": "-"}

    def size(n):
        return "—" if n is None else f"{n:,}"

    for p in previews:
        where = f"{p.evaluated}, as of {when}"
        if fmt == "markdown":
            click.echo(f"### segdsl plan: {p.entity} segments against `{base}` ({p.commit[:12]})")
            click.echo("")
            if not p.segments:
                click.echo(f"No segment definition differs ({p.unchanged} unchanged; {where}).")
                click.echo("")
                continue
            click.echo("| | segment | before | after | entered | exited |")
            click.echo("|---|---|---:|---:|---:|---:|")
            for c in p.segments:
                click.echo(f"| {marks[c.change]} | `{c.segment}` ({c.change}) | {size(c.size_before)} | {size(c.size)} "
                           f"| +{c.entered:,} | −{c.exited:,} |")
            click.echo("")
            click.echo(f"{len(p.segments)} differ, {p.unchanged} unchanged; evaluated {where} on the same data "
                       "both ways. Nothing was written.")
            click.echo("")
            continue
        click.echo(f"{p.entity} segments against {base} ({p.commit[:12]}), {where}")
        for c in p.segments:
            click.echo(f"  {marks[c.change]} {c.segment:<28} {size(c.size_before):>7} -> {size(c.size):<7} "
                       f"+{c.entered:,} -{c.exited:,}")
        click.echo(f"{len(p.segments)} differ, {p.unchanged} unchanged. Nothing was written.")
        click.echo("")
