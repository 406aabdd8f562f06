"""Journeys: declared in .seg files, checked (consent per channel), run by simulation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from segdsl import ir
from segdsl.check.checker import check_modules
from segdsl.cli.main import cli
from segdsl.lifecycle.journeys import DEFAULT_RATES, JourneyError, load_rates, simulate
from segdsl.syntax.parser import parse_source
from segdsl.check.traits import load_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA, _ = load_schema(ROOT / "examples" / "hospitality" / "schema.toml")
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def check(text: str):
    parsed = parse_source("j.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    return check_modules([parsed.module], SCHEMA)


def codes(text: str) -> list[str]:
    """Errors and warnings (notes such as I0210 are tested on their own)."""
    return [d.code for d in check(text).diagnostics if d.severity.value != "info"]


BASE = "segment s { where total_bookings >= 1 }\n"


@pytest.mark.parametrize(
    "body,expected",
    [
        ('audience in segment s and email_opt_in send email "a" goal converted within 7 days', []),
        ('audience in segment s send email "a" goal converted within 7 days', ["E0141"]),
        ('audience in segment s and (email_opt_in or sms_opt_in) send email "a" goal converted within 7 days',
         ["E0141"]),
        ('audience in segment s and email_opt_in = true send email "a" goal converted within 7 days', []),
        ('audience email_opt_in send email "a" send email "b" if not clicked goal converted within 7 days', []),
        ('audience email_opt_in send emial "a" goal converted within 7 days', ["E0140"]),
        ('audience email_opt_in wait 2 days send email "a" if opened goal converted within 7 days', ["E0145"]),
        ('audience email_opt_in send email "a" send email "b" if bounced goal converted within 7 days', ["E0145"]),
        ('send email "a" goal converted within 7 days', ["E0143"]),
        ('audience email_opt_in wait 3 days goal converted within 7 days', ["E0144"]),
        ('audience email_opt_in send email "a" goal subscribed within 7 days', ["E0145"]),
        ('audience email_opt_in send email "a"', ["E0143"]),
    ],
)
def test_journey_checks(body, expected):
    assert codes(BASE + f"journey j {{ {body} }}") == expected


def test_consent_through_a_segment_reference():
    text = "segment reachable { where email_opt_in and ltv > 0 }\n" \
           'journey j { audience in segment reachable send email "a" goal converted within 7 days }'
    result = check(text)
    assert [d.code for d in result.diagnostics] == []
    assert ir.implies_true(result.journeys["j"].audience, "email_opt_in")


def test_duplicate_journeys():
    text = 'journey j { audience email_opt_in send email "a" goal converted within 7 days }\n' * 2
    assert codes(text) == ["E0142"]


def _journey(steps) -> ir.Journey:
    return ir.Journey("j", None, None, ir.Const(True), tuple(steps), "converted", 14, "j.seg")


def test_simulation_is_seeded_and_funnel_is_monotone():
    steps = [ir.SendStep("email", "a", None), ir.WaitStep(3), ir.SendStep("email", "b", (True, "opened"))]
    members = np.arange(1, 5001)
    a = simulate(_journey(steps), members, AS_OF, seed=1)
    assert a == simulate(_journey(steps), members[::-1], AS_OF, seed=1)  # order does not matter
    assert a != simulate(_journey(steps), members, AS_OF, seed=2)
    counts = [c for _, c in a.funnel]
    assert counts[0] == 5000 and counts == sorted(counts, reverse=True)
    first, wait, second = a.steps
    # The follow-up goes exactly to those who did not open the first send.
    assert second.sent == 5000 - first.opened and wait.kind == "wait"
    # Representative rates: about 32 % of emails are opened.
    assert abs(first.opened / first.sent - DEFAULT_RATES["email"]["opened"]) < 0.03


def test_rates_file(tmp_path):
    f = tmp_path / "rates.toml"
    f.write_text("[email]\nopened = 0\n")
    run = simulate(_journey([ir.SendStep("email", "a", None)]), np.arange(100), AS_OF, rates=load_rates(f))
    assert (run.sent, run.opened, run.clicked, run.converted) == (100, 0, 0, 0)
    f.write_text("[email]\nopened = 2\n")
    with pytest.raises(JourneyError, match="from 0 to 1"):
        load_rates(f)


def test_journey_run_cli(tmp_path):
    chart = tmp_path / "funnel.html"
    runner = CliRunner()
    result = runner.invoke(cli, ["journey", "run", "examples/hospitality/journeys.seg", "-j", "win_back_offer",
                                 "--as-of", "2026-11-01", "--format", "json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["simulated"] is True and "no message was sent" in data["note"]
    # The audience: win_back, less the project's holdout (which no journey may enrol).
    size = runner.invoke(cli, ["size", "examples/hospitality/segments.seg", "-e",
                               "in segment win_back and not in holdout global_control", "--as-of", "2026-11-01",
                               "--format", "json"])
    assert data["funnel"]["enrolled"] == json.loads(size.stdout)["results"][0]["segments"][0]["size"]
    (held,) = data["holdouts"]
    both = runner.invoke(cli, ["size", "examples/hospitality/segments.seg", "-e",
                               "in segment win_back and in holdout global_control", "--as-of", "2026-11-01",
                               "--format", "json"])
    assert held["size"] == json.loads(both.stdout)["results"][0]["segments"][0]["size"] > 0
    html = chart.read_text()
    assert "<svg" in html and "Simulated." in html
    text = runner.invoke(cli, ["journey", "run", "examples/golf/journeys.seg", "-j", "back_on_the_course",
                               "--as-of", "2026-11-01"])
    assert text.exit_code == 0 and "SIMULATED: no message was sent" in text.stdout
    missing = runner.invoke(cli, ["journey", "run", "examples/golf/journeys.seg"])
    assert missing.exit_code == 2 and "--journey" in missing.output


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_segments_no_journey_uses_are_noted():
    text = (
        "segment used { where email_opt_in }\n"
        "segment base { where ltv > 0 }\n"
        "segment derived { where in segment base }\n"
        "segment idle { where ltv > 10 }\n"
        'journey j { audience in segment used send email "a" goal converted within 7 days }\n'
    )
    notes = [(d.code, d.message) for d in check(text).diagnostics]
    assert notes == [
        ("I0210", "segment `derived` is not used by any journey or other segment"),
        ("I0210", "segment `idle` is not used by any journey or other segment"),
    ]
    # Without any journey in the project there is nothing to compare with: no notes.
    assert [d.code for d in check("segment idle { where ltv > 10 }").diagnostics] == []


def test_a_journey_sends_only_to_reachable_consenting_contacts(tmp_path):
    """win_back_offer enrols win_back's 305 guests less the global holdout's 16 (289),
    some of whom have no email or no consent: it reaches exactly those of them that
    `segdsl sync` lists on its email channel, and says how many messages it sent."""
    from example_projects import copy_example

    project = copy_example(tmp_path / "hotel", "hospitality")
    runner = CliRunner()
    seg, journeys = str(project / "segments.seg"), str(project / "journeys.seg")
    assert runner.invoke(cli, ["refresh", seg, "--as-of", "2026-11-01"]).exit_code == 0
    out = tmp_path / "out"
    synced = runner.invoke(cli, ["sync", seg, "--segment", "win_back", "--channel", "email", "--out", str(out)])
    assert synced.exit_code == 0, synced.output
    emails = (out / "win_back" / "email.jsonl").read_text().splitlines()
    result = runner.invoke(cli, ["journey", "run", journeys, "-j", "win_back_offer", "--as-of", "2026-11-01",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    import segdsl

    ws = segdsl.load_project(project)
    rule = segdsl.check_expression("in segment win_back and not in holdout global_control", ws)
    audience = set(segdsl.members(ws, [rule], as_of="2026-11-01").members["expr"])
    reachable = {json.loads(line)["key"] for line in emails} & audience
    assert len(emails) == 288 and len(audience) == data["funnel"]["enrolled"] == 289
    assert data["funnel"]["sent"] == len(reachable)
    first, _, reminder = data["steps"]
    assert (first["sent"], first["unreachable"]) == (len(reachable), 289 - len(reachable))
    assert data["messages"] == first["sent"] + reminder["sent"] > data["funnel"]["sent"]
    text = runner.invoke(cli, ["journey", "run", journeys, "-j", "win_back_offer", "--as-of", "2026-11-01"]).stdout
    assert "messages" in text and "unreachable" in text


def test_unreachable_contacts_are_not_sent_to():
    keys = np.arange(10)
    reach = {"email": keys % 2 == 0}
    run = simulate(_journey([ir.SendStep("email", "a", None), ir.SendStep("email", "b", None)]), keys, AS_OF,
                   reachable=reach)
    assert (run.sent, run.messages) == (5, 10)
    assert [(s.sent, s.unreachable) for s in run.steps] == [(5, 5), (5, 5)]
    assert simulate(_journey([ir.SendStep("sms", "a", None)]), keys, AS_OF, reachable=reach).sent == 0
