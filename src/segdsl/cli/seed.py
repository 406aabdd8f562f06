"""``segdsl seed generate``: write the synthetic CRM's raw tables as seed CSVs.

A thin shell over :func:`segdsl.data.synth.generate`. The defaults regenerate the committed
``seeds/`` (see ``seeds/README.md``); ``--scale`` makes bigger data for benchmarks.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

_DOMAINS = ("hospitality", "golf")


@click.group("seed")
def seed() -> None:
    """Synthetic CRM data for the example projects (no real people).

    \b
    Examples:
      segdsl seed generate --domain golf --scale 1000 --out seeds
    """


@seed.command("generate")
@click.option("--domain", type=click.Choice(_DOMAINS + ("all",)), default="all", show_default=True,
              help="Which seed domain to write.")
@click.option("--scale", type=click.IntRange(min=1), metavar="N",
              help="Entities per domain (guests, members). Default: the committed size, "
              "3,000 guests and 1,500 members.")
@click.option("--seed", "seed_value", type=int, default=7, show_default=True,
              help="Random seed; the same seed, scale and as-of give byte-identical files.")
@click.option("--as-of", "as_of", default="2026-11-01", show_default=True, metavar="WHEN",
              help="The instant the data describes: a date (its UTC midnight) or an ISO timestamp. "
              "Nothing in the data lies after it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("seeds"),
              show_default=True, help="Root directory; each domain's tables go to OUT/<domain>/<table>.csv.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Worker processes (0: one per CPU). The files are the same for any N.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar on stderr (default: when stderr is a terminal).")
def generate(domain: str, scale: int | None, seed_value: int, as_of: str, out: Path,
             jobs: int, progress: bool | None) -> None:
    """Write the raw tables of the seed domains as CSV.

    \b
    hospitality: guests, bookings, loyalty_accounts, point_transactions,
                 consents, engagement_events
    golf:        members, tee_times, handicaps, tournament_entries,
                 dues_payments, consents, engagement_events

    With no options this regenerates the committed seeds/ exactly.

    \b
    Examples:
      segdsl seed generate --domain golf --scale 1000 --out seeds
    """
    from segdsl.data import synth
    from segdsl.ir.semantics import parse_as_of

    if as_of.strip().lower() == "now":
        raise click.BadParameter("use a fixed date or timestamp, so the data can be reproduced",
                                 param_hint="'--as-of'")
    try:
        instant = parse_as_of(as_of)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--as-of'") from None
    if progress is None:
        progress = sys.stderr.isatty()
    if jobs == 0:
        jobs = os.cpu_count() or 1
    for name in _DOMAINS if domain == "all" else (domain,):
        n = scale if scale is not None else synth.DEFAULT_N[name]
        target = out / name
        started = time.monotonic()
        try:
            if progress:
                with click.progressbar(length=n, label=f"{name:<11}", file=sys.stderr,
                                       show_pos=True, show_eta=True) as bar:
                    counts = synth.generate(name, target, n=n, seed=seed_value, as_of=instant, jobs=jobs,
                                            progress=bar.update)
            else:
                counts = synth.generate(name, target, n=n, seed=seed_value, as_of=instant, jobs=jobs)
        except OSError as exc:
            raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--as-of'") from None
        elapsed = time.monotonic() - started
        for table, rows in counts.items():
            click.echo(f"{target / (table + '.csv')}: {rows:,} rows")
        click.echo(f"{name}: {n:,} {'guests' if name == 'hospitality' else 'members'} "
                   f"in {elapsed:.1f} s", err=True)


if __name__ == "__main__":  # `python -m segdsl.cli.seed generate`
    seed(prog_name="segdsl seed")
