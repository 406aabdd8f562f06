"""``segdsl journey run``: enrol a journey's audience and simulate its sends."""

from __future__ import annotations

import json

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
    from segdsl.api import run_journey
    from segdsl.cli.common import fail_on_errors, load, parse_as_of, relevant, usage
    from segdsl.lifecycle.journeys import SIMULATED_NOTE, JourneyError, funnel_html
    from segdsl.project.errors import UsageError

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
    try:
        report = run_journey(ws, name, as_of=instant, seed=seed, rates=rates, dsn=dsn)
    except UsageError as exc:
        if exc.param == "journey":
            raise click.BadParameter(str(exc), param_hint="--journey") from None
        raise usage(exc) from None
    except JourneyError as exc:
        raise click.ClickException(str(exc)) from None
    fail_on_errors(ws, report.diagnostics)
    target, result, holdouts = ws.journeys[name], report.run, report.holdouts
    if chart:
        from segdsl.data.files import write_atomic

        try:
            write_atomic(chart, funnel_html(result, target.title, tuple(holdouts)).encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {chart}: {exc.strerror or exc}") from None
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
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
