"""``segdsl journey run``: enrol a journey's audience and simulate its sends."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("journey")
def journey() -> None:
    """Lifecycle journeys: enrol an audience, simulate the sends, read the funnel.

    Sends are simulated; no message is ever sent (see docs/language.md, "Journeys").

    \b
    Examples:
      segdsl journey run journeys.seg -j win_back_offer --as-of 2026-11-01
    """


@journey.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--journey", "-j", "name", metavar="NAME", help="The journey to run (default: the file's only one).")
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="When the audience is enrolled: `now`, a date or an ISO timestamp.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulated responses.")
@click.option("--rates", type=click.Path(dir_okay=False, exists=True),
              help="TOML file of response rates per channel ([email] opened = 0.3, clicked = 0.1, converted = 0.2).")
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL", help="Enrol from a database instead of the CSV data.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--chart", type=click.Path(dir_okay=False), metavar="PATH.html",
              help="Also write the funnel as an HTML page with a chart.")
def run(file, name, as_of, seed, rates, dsn, fmt, chart):
    """Enrol the audience of a journey in FILE and simulate its steps.

    \b
    Examples:
      segdsl journey run journeys.seg -j win_back_offer --as-of 2026-11-01
    """
    from segdsl.cli.common import fail_on_errors, load, parse_as_of, relevant
    import numpy as np

    from segdsl import ir
    from segdsl.lifecycle.journeys import (
        SIMULATED_NOTE,
        JourneyError,
        funnel_html,
        load_rates,
        reachable_contacts,
        simulate,
        simulate_holdout,
    )
    from segdsl.lifecycle.sync import SyncError

    instant = parse_as_of(as_of)
    (ws,), _ = load([file], None)
    fail_on_errors(ws, relevant(ws))
    declared = [j.name for path in ws.requested for j in ws.modules[path].journeys] if ws.requested else []
    if name is None:
        if len(declared) != 1:
            raise click.UsageError(
                f"{file} declares {len(declared)} journeys; choose one with --journey ({', '.join(declared) or 'none'})"
            )
        name = declared[0]
    target = ws.journeys.get(name)
    if target is None:
        from segdsl.check.suggest import did_you_mean

        hint = did_you_mean(name, ws.journeys) or f"the journeys are: {', '.join(ws.journeys) or '(none)'}"
        raise click.BadParameter(f"no journey `{name}`; {hint}", param_hint="--journey")
    try:
        members = _audience(ws, target, instant, dsn)
        channels = {s.channel for s in target.steps if isinstance(s, ir.SendStep)}
        reach = reachable_contacts(ws.schema, np.sort(members), channels, instant,
                                   data_dir=None if dsn else ws.data_dir, dsn=dsn)
        rate_table = load_rates(Path(rates) if rates else None)
        result = simulate(target, members, instant, seed=seed, rates=rate_table, reachable=reach)
        holdouts = [simulate_holdout(result, h.name, _holdout_audience(ws, target, h, instant, dsn), rates=rate_table)
                    for h in ws.holdouts.values()]
    except (JourneyError, SyncError) as exc:
        raise click.ClickException(str(exc)) from None
    if chart:
        from segdsl.data.files import write_atomic

        try:
            write_atomic(chart, funnel_html(result, target.title, tuple(holdouts)).encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {chart}: {exc.strerror or exc}") from None
    if fmt == "json":
        out = result.to_json()
        if holdouts:
            out["holdouts"] = [h.to_json() for h in holdouts]
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"journey {target.name}" + (f" — {target.title}" if target.title else ""))
    click.echo(SIMULATED_NOTE)
    click.echo(f"as of {instant.isoformat().replace('+00:00', 'Z')}, seed {seed}")
    click.echo("")
    top = result.enrolled or 1
    for stage, count in result.funnel:
        what = "  contacts reached by at least one message" if stage == "sent" else ""
        click.echo(f"  {stage:<10} {count:>9,}  {100 * count / top:5.1f}%{what}")
    click.echo(f"  {'messages':<10} {result.messages:>9,}         messages sent, all steps")
    click.echo("")
    click.echo(f"  {'step':<5} {'channel':<8} {'template':<26} {'condition':<16} {'sent':>8} {'opened':>8} "
               f"{'clicked':>8} {'unreachable':>12}")
    for s in result.steps:
        if s.kind == "wait":
            click.echo(f"  {s.index:<5} wait {s.condition}")
            continue
        click.echo(f"  {s.index:<5} {s.channel:<8} {s.template:<26} {s.condition or '':<16} "
                   f"{s.sent:>8,} {s.opened:>8,} {s.clicked:>8,} {s.unreachable:>12,}")
    click.echo("")
    click.echo("  unreachable: enrolled, but without consent or an address for the channel (as `segdsl sync`)")
    if holdouts:
        click.echo("")
        click.echo("  SIMULATED holdout comparison (the holdout is sent nothing)")
        click.echo(f"  {'group':<26} {'contacts':>9} {'converted':>9} {'rate':>7}")
        h0 = holdouts[0]
        click.echo(f"  {'treated audience':<26} {h0.treated:>9,} {h0.treated_converted:>9,} "
                   f"{100 * h0.treated_rate:6.2f}%")
        for h in holdouts:
            click.echo(f"  {'holdout ' + h.holdout:<26} {h.size:>9,} {h.converted:>9,} {100 * h.rate:6.2f}%"
                       f"   lift {h.lift:+.2f} points")
    if chart:
        click.echo(f"\nchart: {chart}")


def _holdout_audience(ws, target, holdout, instant, dsn):
    """The members of ``holdout`` who would be in the audience had it not excluded them."""
    from segdsl import ir

    rule = ir.And((ir.without_exclusion(target.audience, holdout.salt, 0, holdout.buckets),
                   ir.Bucket(ws.schema.key, holdout.salt, 0, holdout.buckets, f"holdout {holdout.name}")))
    return _members(ws, rule, instant, dsn)


def _audience(ws, target, instant, dsn):
    """The keys of the journey's audience at ``instant``, in ascending order."""
    return _members(ws, target.audience, instant, dsn)


def _members(ws, rule, instant, dsn):
    """The keys of the entities ``rule`` holds for at ``instant``, in ascending order."""
    import numpy as np

    from segdsl.api import expression_segment, members
    from segdsl.cli.common import fail_on_errors

    if not dsn and ws.data_dir is None:
        raise click.UsageError("no data: set `data` in segdsl.toml or pass --dsn")
    found = members(ws, [expression_segment(rule, "audience")], as_of=instant, dsn=dsn)
    fail_on_errors(ws, found.diagnostics)
    return np.asarray(found.members["audience"])
