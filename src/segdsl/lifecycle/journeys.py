"""Running a journey: enrol its audience and simulate the sends, step by step.

The membership is real (the audience rule, evaluated like any segment); the delivery is
not. No message is ever sent: each contact's response to each send is drawn from
representative, configurable rates with a seeded generator, so a run is reproducible,
and every result carries ``simulated = True`` and says so when printed.

Per contact: a send goes to every enrolled contact who is reachable on its channel —
consent TRUE and an address, exactly as ``segdsl sync`` lists contacts
(:func:`segdsl.lifecycle.sync.load_contacts`) — and whose condition on the previous
send holds (``if not opened``); the others are counted as unreachable. A send is opened
with the channel's open rate and, once opened, clicked with its click rate; a click
converts with the conversion rate within the journey's goal window. The funnel counts
contacts: enrolled → sent (reached by at least one message) → opened → clicked →
converted, in total and per step; ``messages`` counts the messages sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path

import attrs
import numpy as np

from segdsl import ir

#: Representative response rates per channel (share of contacts sent to that open,
#: share of openers that click) and the share of clickers that convert. Industry
#: averages, not measurements of any real audience; override with a rates file.
DEFAULT_RATES: dict[str, dict[str, float]] = {
    "email": {"opened": 0.32, "clicked": 0.12, "converted": 0.18},
    "sms": {"opened": 0.85, "clicked": 0.09, "converted": 0.15},
    "push": {"opened": 0.14, "clicked": 0.30, "converted": 0.10},
}

SIMULATED_NOTE = "SIMULATED: no message was sent; response rates are representative, not measured."

#: The share of a holdout's contacts (who get nothing) that convert on their own within
#: the goal window: representative, not measured; a rates file overrides it with
#: ``[holdout] converted = ...``.
HOLDOUT_CONVERSION = 0.03


class JourneyError(Exception):
    """A problem with the run's inputs (rates file, audience data), for the user."""


@attrs.frozen
class StepResult:
    index: int
    kind: str  # "send" | "wait"
    channel: str | None
    template: str | None
    condition: str | None
    sent: int
    opened: int
    clicked: int
    #: Contacts the step would have messaged but who cannot be reached on its channel.
    unreachable: int = 0


@attrs.frozen
class JourneyRun:
    journey: str
    as_of: dt.datetime
    seed: int
    rates: Mapping[str, Mapping[str, float]]
    enrolled: int
    sent: int
    opened: int
    clicked: int
    converted: int
    steps: tuple[StepResult, ...]
    simulated: bool = True
    #: Messages sent, over all steps (a contact reached twice counts twice).
    messages: int = 0

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [("enrolled", self.enrolled), ("sent", self.sent), ("opened", self.opened),
                ("clicked", self.clicked), ("converted", self.converted)]

    def to_json(self) -> dict:
        return {
            "journey": self.journey,
            "simulated": True,
            "note": SIMULATED_NOTE,
            "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
            "seed": self.seed,
            "rates": {c: dict(r) for c, r in self.rates.items()},
            "funnel": dict(self.funnel),
            "messages": self.messages,
            "steps": [attrs.asdict(s) for s in self.steps],
        }


def load_rates(path: Path | None) -> dict[str, dict[str, float]]:
    """The default rates, overridden by a TOML file of ``[CHANNEL] opened = 0.3 ...``."""
    rates = {c: dict(r) for c, r in DEFAULT_RATES.items()}
    if path is None:
        return rates
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise JourneyError(f"cannot read the rates file {path}: {exc}") from None
    for channel, values in data.items():
        if not isinstance(values, Mapping):
            raise JourneyError(f"{path}: `{channel}` must be a table of rates")
        for name, value in values.items():
            if name not in ("opened", "clicked", "converted"):
                raise JourneyError(f"{path}: `{channel}.{name}` is not a rate (opened, clicked, converted)")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise JourneyError(f"{path}: `{channel}.{name}` must be a number from 0 to 1")
            rates.setdefault(channel, {"opened": 0.0, "clicked": 0.0, "converted": 0.0})[name] = float(value)
    return rates


def reachable_contacts(schema, keys: np.ndarray, channels: Collection[str], as_of: dt.datetime, *,
                       data_dir: Path | None = None, dsn: str | None = None) -> dict[str, np.ndarray]:
    """Per channel, which of ``keys`` may be messaged on it: the contacts ``segdsl sync``
    lists for that channel (one definition of reachable, in
    :func:`segdsl.lifecycle.sync.load_contacts`). A channel the schema does not declare
    reaches nobody."""
    from segdsl.lifecycle.sync import load_contacts, project_channels

    declared = project_channels(schema)
    contacts = load_contacts(schema, declared, as_of, data_dir=data_dir, dsn=dsn)
    out = {}
    for channel in channels:
        out[channel] = np.fromiter(
            (c is not None and channel in c.channels for c in map(contacts.get, keys.tolist())),
            dtype=bool, count=len(keys))
    return out


def simulate(journey: ir.Journey, members: np.ndarray, as_of: dt.datetime, *, seed: int = 7,
             rates: Mapping[str, Mapping[str, float]] | None = None,
             reachable: Mapping[str, np.ndarray] | None = None) -> JourneyRun:
    """Simulate ``journey`` for the audience ``members`` (their keys). ``reachable``
    says, per channel, which of the keys (in ascending order) may be messaged on it
    (see :func:`reachable_contacts`); without it every contact is reachable."""
    rates = rates or DEFAULT_RATES
    keys = np.sort(np.asarray(members))
    n = len(keys)
    # One stream per (seed, journey): the same inputs always give the same run.
    digest = hashlib.sha256(f"{seed}:{journey.name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    any_sent = np.zeros(n, dtype=bool)
    any_opened = np.zeros(n, dtype=bool)
    any_clicked = np.zeros(n, dtype=bool)
    last_opened = np.zeros(n, dtype=bool)
    last_clicked = np.zeros(n, dtype=bool)
    converted = np.zeros(n, dtype=bool)
    messages = 0
    steps = []
    for i, step in enumerate(journey.steps):
        if isinstance(step, ir.WaitStep):
            steps.append(StepResult(i + 1, "wait", None, None, f"{step.days} days", 0, 0, 0))
            continue
        r = rates.get(step.channel)
        if r is None:
            raise JourneyError(f"no response rates for the channel `{step.channel}`; add them to the rates file")
        target = np.ones(n, dtype=bool)
        condition = None
        if step.condition is not None:
            negated, event = step.condition
            hit = last_opened if event == "opened" else last_clicked
            target = ~hit if negated else hit
            condition = f"if {'not ' if negated else ''}{event}"
        unreachable = 0
        if reachable is not None:
            can = reachable.get(step.channel, np.zeros(n, dtype=bool))
            unreachable = int((target & ~can).sum())
            target = target & can
        messages += int(target.sum())
        draws = rng.random((3, n))
        opened = target & (draws[0] < r["opened"])
        clicked = opened & (draws[1] < r["clicked"])
        converted |= clicked & (draws[2] < r["converted"])
        any_sent |= target
        any_opened |= opened
        any_clicked |= clicked
        last_opened, last_clicked = opened, clicked
        steps.append(StepResult(i + 1, "send", step.channel, step.template, condition,
                                int(target.sum()), int(opened.sum()), int(clicked.sum()), unreachable))
    return JourneyRun(
        journey.name, as_of, seed, {c: dict(v) for c, v in rates.items()}, n, int(any_sent.sum()),
        int(any_opened.sum()), int(any_clicked.sum()), int(converted.sum()), tuple(steps), messages=messages,
    )


@attrs.frozen
class HoldoutComparison:
    """The members of a holdout who would have been in the journey's audience, and
    their simulated conversion without any send, beside the treated audience's."""

    holdout: str
    size: int
    converted: int
    treated: int
    treated_converted: int
    simulated: bool = True

    @property
    def rate(self) -> float:
        return self.converted / self.size if self.size else 0.0

    @property
    def treated_rate(self) -> float:
        return self.treated_converted / self.treated if self.treated else 0.0

    @property
    def lift(self) -> float:
        """Treated conversion minus holdout conversion, in percentage points."""
        return 100 * (self.treated_rate - self.rate)

    def to_json(self) -> dict:
        return {"holdout": self.holdout, "simulated": True, "size": self.size, "converted": self.converted,
                "conversion": round(self.rate, 6), "treated": self.treated,
                "treated_converted": self.treated_converted, "treated_conversion": round(self.treated_rate, 6),
                "lift_points": round(self.lift, 4)}


def simulate_holdout(run: JourneyRun, holdout: str, members: np.ndarray, *,
                     rates: Mapping[str, Mapping[str, float]] | None = None) -> HoldoutComparison:
    """The simulated conversion of ``members`` (a holdout's would-be audience), who are
    sent nothing: each converts with the holdout rate, from a stream of its own."""
    rate = (rates or {}).get("holdout", {}).get("converted", HOLDOUT_CONVERSION)
    n = len(members)
    digest = hashlib.sha256(f"{run.seed}:{run.journey}:holdout:{holdout}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    converted = int((rng.random(n) < rate).sum())
    return HoldoutComparison(holdout, n, converted, run.enrolled, run.converted)


def funnel_html(run: JourneyRun, title: str | None = None, holdouts: tuple[HoldoutComparison, ...] = ()) -> str:
    """A self-contained HTML page with the funnel as an SVG bar chart, and each
    holdout's simulated conversion beside the audience's."""
    from html import escape

    stages = run.funnel
    top = max(stages[0][1], 1)
    width, bar_h, gap, label_w = 640, 34, 14, 110
    rows = []
    for i, (name, count) in enumerate(stages):
        y = i * (bar_h + gap)
        w = max(2, round((width - label_w - 150) * count / top))
        share = f"{100 * count / top:.1f}%" if stages[0][1] else "–"
        rows.append(
            f'<text x="0" y="{y + 22}" class="l">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="4" class="b{i}"/>'
            f'<text x="{label_w + w + 8}" y="{y + 22}" class="v">{count:,} ({share})</text>'
        )
    height = len(stages) * (bar_h + gap)
    step_rows = "".join(
        f"<tr><td>{s.index}</td><td>{escape(s.kind)}</td><td>{escape(s.channel or '')}</td>"
        f"<td>{escape(s.template or '')}</td><td>{escape(s.condition or '')}</td>"
        f"<td>{s.sent:,}</td><td>{s.opened:,}</td><td>{s.clicked:,}</td></tr>"
        for s in run.steps
    )
    heading = escape(title or run.journey)
    comparison = ""
    if holdouts:
        h0 = holdouts[0]
        rows_h = [f"<tr><td>treated audience</td><td>{h0.treated:,}</td><td>{h0.treated_converted:,}</td>"
                  f"<td>{100 * h0.treated_rate:.2f}%</td><td></td></tr>"]
        rows_h += [f"<tr><td>holdout {escape(h.holdout)}</td><td>{h.size:,}</td><td>{h.converted:,}</td>"
                   f"<td>{100 * h.rate:.2f}%</td><td>{h.lift:+.2f} points</td></tr>" for h in holdouts]
        comparison = ("<h2>Simulated holdout comparison</h2>\n<p class=\"sim\"><strong>Simulated.</strong> The "
                      "holdout is sent nothing; its conversion is drawn from a representative rate.</p>\n"
                      "<table><tr><th>group</th><th>contacts</th><th>converted</th><th>rate</th><th>lift</th></tr>"
                      + "".join(rows_h) + "</table>\n")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{heading} — simulated funnel</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }}
.sim {{ background: #fff4e5; border: 1px solid #f0b35b; padding: .6rem .9rem; border-radius: 6px; }}
.l {{ font-size: 14px; fill: #1f2933; }} .v {{ font-size: 13px; fill: #52606d; }}
.b0 {{ fill: #3b82f6; }} .b1 {{ fill: #6366f1; }} .b2 {{ fill: #8b5cf6; }} .b3 {{ fill: #d946ef; }} .b4 {{ fill: #10b981; }}
table {{ border-collapse: collapse; margin-top: 1.5rem; }} td, th {{ padding: .3rem .7rem; border-bottom: 1px solid #e4e7eb; text-align: left; }}
</style></head><body>
<h1>{heading}</h1>
<p class="sim"><strong>Simulated.</strong> {escape(SIMULATED_NOTE.removeprefix("SIMULATED: "))}
As of {run.as_of.isoformat().replace("+00:00", "Z")}, seed {run.seed}. The audience is real: it is the
journey's rule evaluated on the CRM.</p>
<svg width="{width}" height="{height}" role="img" aria-label="funnel">{"".join(rows)}</svg>
<table><tr><th>step</th><th>kind</th><th>channel</th><th>template</th><th>condition</th><th>sent</th><th>opened</th><th>clicked</th></tr>
{step_rows}</table>
{comparison}</body></html>
"""
