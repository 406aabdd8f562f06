"""``segdsl model``: train the churn model, score, and show the saved report.

A thin shell over :mod:`segdsl.models`. The project (schema and data directory) comes
from the ``segdsl.toml`` in PROJECT_DIR or above; scores go to the data directory's
``model_scores.csv`` and the reports to its ``models/`` folder. See ``docs/models.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from segdsl.cli.common import echo_diagnostics

_TOP = 5


@click.group("model")
def model() -> None:
    """The models behind smart segments: churn risk and engagement scores.

    \b
    Examples:
      segdsl model train --as-of 2026-11-01
    """


_project_arg = click.argument("project_dir", required=False, default=".",
                              type=click.Path(exists=True, file_okay=False))
_data_opt = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                         help="CSV data directory, read and written (default: `data` in segdsl.toml).")
_as_of_opt = click.option(
    "--as-of", "as_of", metavar="WHEN",
    help="The instant the scores describe: a date (its UTC midnight), an ISO timestamp or `now`. "
    "Default: the UTC midnight after the newest row in the data. Training uses features "
    "at WHEN - 180 days and the 180 days after as labels.",
)


@model.command("train")
@_project_arg
@_as_of_opt
@_data_opt
def train(project_dir: str, as_of: str | None, data_dir: str | None) -> None:
    """Train the churn model, compute engagement, and write model_scores.csv.

    Prints the holdout quality (AUC, log loss) and the largest coefficients; the full
    report goes to models/churn.json and models/engagement.json in the data directory.

    \b
    Examples:
      segdsl model train --as-of 2026-11-01
    """
    from segdsl.models import train_models, write_run

    schema, folder = _project(project_dir, data_dir)
    run = _run(lambda: train_models(schema, folder, _instant(as_of)))
    paths = _run(lambda: write_run(schema, run, folder))
    click.echo(format_report(run.churn, run.engagement, top=_TOP))
    click.echo(f"wrote {_shown(paths[0])} ({run.scores.n_rows:,} rows), " + ", ".join(_shown(p) for p in paths[1:]))


@model.command("score")
@_project_arg
@_as_of_opt
@_data_opt
def score(project_dir: str, as_of: str | None, data_dir: str | None) -> None:
    """Score with the saved churn model (no retraining) and write model_scores.csv.

    \b
    Examples:
      segdsl model score --as-of 2026-11-01
    """
    from segdsl.models import read_reports, score_models, write_run

    schema, folder = _project(project_dir, data_dir)
    saved = _run(lambda: read_reports(folder))
    run = _run(lambda: score_models(schema, folder, saved["churn"], _instant(as_of)))
    paths = _run(lambda: write_run(schema, run, folder))
    click.echo(_scored_lines(run.churn, run.engagement))
    click.echo(f"wrote {_shown(paths[0])} ({run.scores.n_rows:,} rows)")


@model.command("report")
@_project_arg
@_data_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def report(project_dir: str, data_dir: str | None, fmt: str) -> None:
    """Print the saved model report: holdout AUC, log loss, base rate, coefficients.

    \b
    Examples:
      segdsl model report --format json
    """
    from segdsl.models import read_reports

    _, folder = _project(project_dir, data_dir, need_schema=False)
    saved = _run(lambda: read_reports(folder))
    if fmt == "json":
        click.echo(json.dumps(saved, indent=2, ensure_ascii=False))
    else:
        click.echo(format_report(saved["churn"], saved["engagement"], top=None))


# ------------------------------------------------------------------------ helpers


def _project(project_dir: str, data_dir: str | None, need_schema: bool = True):
    from segdsl.diagnostics import render_all_text
    from segdsl.project.workspace import find_project
    from segdsl.check.traits import load_schema

    project, diags = find_project(Path(project_dir))
    if project is None:
        if diags:
            echo_diagnostics(render_all_text(diags, {}), err=True)
            raise SystemExit(1)
        raise click.UsageError(f"no segdsl.toml in {project_dir} or above")
    folder = Path(data_dir) if data_dir else project.data_dir
    if folder is None:
        raise click.UsageError("no data: pass --data DIR or set `data` in segdsl.toml")
    if not folder.is_dir():
        raise click.ClickException(f"the data directory {_shown(folder)} does not exist")
    if not need_schema:
        return None, folder
    schema, more = load_schema(project.schema_path)
    if schema is None:
        echo_diagnostics(render_all_text([*diags, *more], {}), err=True)
        raise SystemExit(1)
    return schema, folder


def _instant(text: str | None):
    if text is None:
        return None
    from segdsl.ir.semantics import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--as-of'") from None


def _run(thunk):
    """Run a library call, turning expected failures into one-line errors."""
    from segdsl.data.tables import DataError
    from segdsl.models import ModelError

    try:
        return thunk()
    except (ModelError, DataError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{getattr(exc, 'filename', None) or 'file'}: {exc.strerror or exc}") from None


def _shown(path: Path) -> str:
    from segdsl.project.workspace import display_path

    return display_path(Path(path))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def format_report(churn: dict, engagement: dict, top: int | None) -> str:
    """The human summary of a churn report and an engagement report."""
    entity = churn.get("entity", "entity")
    train, hold = churn["train"], churn["holdout"]
    n = train["entities"] + hold["entities"]
    lines = [
        f"churn model for `{entity}`: {churn['kind']}",
        f"  features at   {churn['training_cutoff']}, labels from the {churn['horizon_days']} days after",
        f"  population    {n:,}: {churn['population']['doc']}",
        f"  label         churned = {churn['label']['doc']}",
        (f"  base rate     {100 * churn['base_rate']:.1f} % churned "
         f"(train {100 * train['base_rate']:.1f} %, holdout {100 * hold['base_rate']:.1f} %)"),
        f"  split         {train['entities']:,} train / {hold['entities']:,} holdout",
        (f"  holdout       AUC {hold['auc']:.4f}, log loss {hold['log_loss']:.4f} "
         f"(base rate alone: {hold['base_rate_log_loss']:.4f})"),
        f"  train         AUC {train['auc']:.4f}, log loss {train['log_loss']:.4f}",
    ]
    feats = sorted(churn["features"], key=lambda f: (-abs(f["coefficient"]), f["name"]))
    shown = feats if top is None else feats[:top]
    title = "coefficients" if top is None else f"top {len(shown)} coefficients"
    lines.append(f"  {title} (log-odds per standard deviation; intercept {churn['intercept']:+.4f}):")
    width = max((len(f["name"]) for f in shown), default=0)
    for f in shown:
        lines.append(f"    {f['name']:<{width}}  {f['coefficient']:+.4f}  {f['doc']}")
    lines.append(_scored_lines(churn, engagement))
    return "\n".join(lines)


def _scored_lines(churn: dict, engagement: dict) -> str:
    entity = churn.get("entity", "entity")
    c, e = churn["score"], engagement["score"]
    churn_line = (f"churn scores    {c['entities']:,} {entity}s at {c['scored_at']}: "
                  f"{c['at_least_70']:,} ({_pct(c['at_least_70'], c['entities'])}) at 70 or more")
    engagement_line = (f"engagement      {e['entities']:,} {entity}s at {e['scored_at']}: "
                       f"{e['at_least_50']:,} ({_pct(e['at_least_50'], e['entities'])}) at 50 or more, "
                       f"{e['at_least_70']:,} ({_pct(e['at_least_70'], e['entities'])}) at 70 or more")
    return churn_line + "\n" + engagement_line
