"""Splits and holdouts: the bucket as defined, pinned by hand-computed keys at the arm
boundaries and in the last bucket, identical on every engine over the whole key range,
uniform over a million keys, and checked with diagnostics."""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import pytest

from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.sql import compile_rule
from segdsl.check.checker import check_modules
from segdsl.check.traits import schema_from_dict
from segdsl.data.engines import connect, fetch_keys, load_records
from segdsl.data.tables import Table
from segdsl.ir.semantics import BUCKETS, bucket, bucket_hash, key_text
from segdsl.syntax.formatter import format_source
from segdsl.syntax.parser import parse_source

AS_OF = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
SPLIT = 'split winback_test "Win-back offer test" { salt "winback-2026-12"  control 10%  offer_a 45%  offer_b 45% }\n'
HOLDOUT = 'holdout global_control 5% salt "gc-2026"\n'

#: Keys found by search and checked by hand against the definition (see
#: test_pinned_keys_follow_the_definition): under the salt "winback-2026-12".
LAST_BUCKET = 1693  # bucket 9999: the last of offer_b
CONTROL_LAST = 8961  # bucket 999: the last bucket of control (10% = buckets 0..999)
OFFER_A_FIRST = 3452  # bucket 1000: the first of offer_a
FIRST_BUCKET = 7692  # bucket 0
TEXT_LAST, TEXT_CONTROL_LAST, TEXT_OFFER_A_FIRST = "guest-5490", "guest-4786", "guest-11151"


def _schema(key_type: str):
    schema, diags = schema_from_dict({"entity": "guest", "table": f"split_{key_type}", "key": "id",
                                      "fields": {"id": {"type": key_type, "nullable": False}, "n": {"type": "int"}}})
    assert schema is not None, diags
    return schema


INT_SCHEMA, TEXT_SCHEMA = _schema("int"), _schema("text")


def _check(text: str, schema=INT_SCHEMA):
    parsed = parse_source("s.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    return check_modules([parsed.module], schema)


def _rule(where: str, schema=INT_SCHEMA):
    checked = _check(SPLIT + HOLDOUT + f"segment s {{ where {where} }}\n", schema)
    assert checked.ok, checked.diagnostics
    return checked.segments["s"].rule


def test_pinned_keys_follow_the_definition():
    # The definition, written out: first 15 hex digits of SHA-256("salt:key") mod 10,000.
    digest = hashlib.sha256(b"winback-2026-12:1693").hexdigest()
    assert int(digest[:15], 16) % 10_000 == 9999 == bucket("winback-2026-12", LAST_BUCKET)
    assert bucket("winback-2026-12", CONTROL_LAST) == 999
    assert bucket("winback-2026-12", OFFER_A_FIRST) == 1000
    assert bucket("winback-2026-12", FIRST_BUCKET) == 0
    assert [bucket("winback-2026-12", k) for k in (TEXT_LAST, TEXT_CONTROL_LAST, TEXT_OFFER_A_FIRST)] == [9999, 999,
                                                                                                           1000]
    # The key's text: decimal for ints, the text itself (case, spaces) for text keys.
    assert key_text(-(2**63)) == "-9223372036854775808" and key_text("a ") == "a "
    assert bucket("s", "a") != bucket("s", "a ") or bucket("s", "A") != bucket("s", "a")
    assert bucket_hash("winback-2026-12:1") == int("30ccd0a4134bfc4", 16)
    with pytest.raises(TypeError):
        key_text(True)


def test_arms_take_consecutive_ranges_in_order():
    checked = _check(SPLIT + HOLDOUT)
    arms = [(a.name, a.low, a.high) for a in checked.splits["winback_test"].arms]
    assert arms == [("control", 0, 1000), ("offer_a", 1000, 5500), ("offer_b", 5500, 10_000)]
    assert checked.holdouts["global_control"].buckets == 500
    two = _check('split t { salt "t"  a 33.33%  b 33.33%  c 33.34% }\n')
    assert [(a.low, a.high) for a in two.splits["t"].arms] == [(0, 3333), (3333, 6666), (6666, 10_000)]


ENGINE_DSNS = ["duckdb::memory:", "sqlite::memory:"]


@pytest.fixture
def sql_engines(pg, pg_collated, maria):
    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    yield {"postgres": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck, "sqlite": lite, "mysql": maria}
    duck.close()
    lite.close()


def _members_everywhere(engines, schema, records, where: str) -> list:
    rule = _rule(where, schema)
    row = compile_row(rule, AS_OF)
    expected = sorted(r["id"] for r in records if row(r))
    assert member_keys(rule, Table.from_records(schema, records), AS_OF) == expected, "columnar"
    for name, engine in engines.items():
        load_records(engine, schema, records)
        for params in (False, True):
            compiled = compile_rule(rule, schema, target=engine.dialect, as_of=AS_OF,
                                    params=params and engine.binds_named_params)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql, compiled.params) == expected, f"{name} disagrees"
    return expected


def test_the_boundaries_on_every_engine(sql_engines):
    keys = [LAST_BUCKET, CONTROL_LAST, OFFER_A_FIRST, FIRST_BUCKET]
    records = [{"id": k, "n": None} for k in keys]
    engines = sql_engines
    assert _members_everywhere(engines, INT_SCHEMA, records, "in split winback_test.control") == \
        sorted([CONTROL_LAST, FIRST_BUCKET])
    assert _members_everywhere(engines, INT_SCHEMA, records, "in split winback_test.offer_a") == [OFFER_A_FIRST]
    assert _members_everywhere(engines, INT_SCHEMA, records, "in split winback_test.offer_b") == [LAST_BUCKET]
    assert _members_everywhere(engines, INT_SCHEMA, records, "not in split winback_test.offer_b") == \
        sorted([CONTROL_LAST, OFFER_A_FIRST, FIRST_BUCKET])
    text = [{"id": k, "n": None} for k in (TEXT_LAST, TEXT_CONTROL_LAST, TEXT_OFFER_A_FIRST)]
    assert _members_everywhere(engines, TEXT_SCHEMA, text, "in split winback_test.control") == [TEXT_CONTROL_LAST]
    assert _members_everywhere(engines, TEXT_SCHEMA, text, "in split winback_test.offer_b") == [TEXT_LAST]


def test_every_engine_computes_every_bucket_over_the_whole_key_range(sql_engines):
    """Keys spread over all of -2**63..2**63-1 (MariaDB's CONV read as a number goes
    through a double and gives other buckets): each engine's bucket of each key, read
    back through 100 narrow arms, equals Python's."""
    rng = random.Random(20261201)
    keys = sorted({-(2**63), 2**63 - 1, -1, 0, 1, *(rng.randrange(-(2**63), 2**63) for _ in range(600))})
    records = [{"id": k, "n": None} for k in keys]
    arms = "  ".join(f"a{i} 1%" for i in range(100))
    split = f'split wide {{ salt "wide:é"  {arms} }}\n'
    checked = _check(split + "".join(f"segment s{i} {{ where in split wide.a{i} }}\n" for i in range(0, 100, 7)))
    assert checked.ok, checked.diagnostics
    for i in range(0, 100, 7):
        rule = checked.segments[f"s{i}"].rule
        expected = [k for k in keys if i * 100 <= bucket("wide:é", k) < (i + 1) * 100]
        assert sorted(r["id"] for r in records if compile_row(rule, AS_OF)(r)) == expected
        for name, engine in sql_engines.items():
            if i == 0:
                load_records(engine, INT_SCHEMA, records)
            compiled = compile_rule(rule, INT_SCHEMA, target=engine.dialect, as_of=AS_OF)
            assert fetch_keys(engine, compiled.sql, compiled.params) == expected, f"{name}: arm {i}"


def test_each_arm_takes_its_share_of_a_million_keys():
    checked = _check(SPLIT + HOLDOUT)
    split, hold = checked.splits["winback_test"], checked.holdouts["global_control"]
    counts = [0] * BUCKETS
    held = 0
    sha, salt, hold_salt = hashlib.sha256, b"winback-2026-12:", b"gc-2026:"
    for k in range(1_000_000):
        key = str(k).encode()
        counts[int(sha(salt + key).hexdigest()[:15], 16) % BUCKETS] += 1
        held += int(sha(hold_salt + key).hexdigest()[:15], 16) % BUCKETS < hold.buckets
    # The loop above is the definition inlined for speed; it agrees with bucket().
    assert all(bucket("winback-2026-12", k) == bucket("winback-2026-12", str(k)) for k in range(50))
    for arm in split.arms:
        share = 100 * sum(counts[arm.low:arm.high]) / 1_000_000
        assert abs(share - 100 * (arm.high - arm.low) / BUCKETS) <= 0.3, (arm.name, share)
    assert abs(100 * held / 1_000_000 - 5) <= 0.3


@pytest.mark.parametrize("text, code, message", [
    ('split t { salt "t"  a 10%  b 80% }', "E0172", "add up to 90%, not 100%"),
    ('split t { salt "t"  a 33.333%  b 66.667% }', "E0172", "`33.333%` is not a whole number of buckets"),
    ('split t { a 50%  b 50% }', "E0172", "needs a `salt`"),
    ('split t { salt ""  a 50%  b 50% }', "E0172", "a salt cannot be empty"),
    ('split t { salt "t"  a 100% }', "E0172", "at least two arms"),
    ('split t { salt "t"  a 50%  a 50% }', "E0172", "arm `a` is listed twice"),
    ('split t { salt "t"  a 150%  b 50% }', "E0172", "out of range"),
    ('holdout h 100% salt "h"', "E0172", "leaves no one to treat"),
    ('holdout h 0% salt "h"', "E0172", "out of range"),
    ('holdout h 5% salt "h"\nholdout h 5% salt "i"', "E0171", "declared twice"),
    ('segment s { where in split nope.a }', "E0170", "unknown split `nope`"),
    ('split t { salt "t"  a 50%  b 50% }\nsegment s { where in split t.c }', "E0170", "has no arm `c`"),
    ('holdout h 5% salt "h"\nsegment s { where in holdout hh }', "E0170", "unknown holdout `hh`"),
    ('split t { salt "x"  a 50%  b 50% }\nholdout h 5% salt "x"', "W0230", "reuses the salt of `t`"),
])
def test_diagnostics(text, code, message):
    diags = _check(text + "\n").diagnostics
    assert any(d.code == code and message in d.message for d in diags), diags


def test_an_arm_of_zero_is_empty_and_splits_format_round_trip():
    text = 'split t { salt "t"  a 0%  b 100% }\nsegment s { where in split t.a }\n'
    checked = _check(text)
    assert checked.ok and member_keys(checked.segments["s"].rule,
                                      Table.from_records(INT_SCHEMA, [{"id": 1, "n": 1}]), AS_OF) == []
    source = SPLIT + "# the holdout\n" + HOLDOUT + "segment s { where in split winback_test.offer_a and not in holdout global_control }\n"
    formatted, diags = format_source(source, "s.seg")
    assert not diags
    assert formatted == (
        'split winback_test "Win-back offer test" {\n    salt "winback-2026-12"\n    control 10%\n    offer_a 45%\n'
        '    offer_b 45%\n}\n\n# the holdout\nholdout global_control 5% salt "gc-2026"\n\nsegment s {\n'
        "    where in split winback_test.offer_a and not in holdout global_control\n}\n"
    )
    assert format_source(formatted, "s.seg")[0] == formatted
    assert parse_source("a.seg", formatted).module == parse_source("b.seg", source).module


TARGETS = ["postgres", "duckdb", "sqlite", "mysql", "spark", "bigquery", "snowflake", "trino"]


@pytest.mark.parametrize("target", TARGETS)
def test_golden_sql(target, golden, monkeypatch):
    from pathlib import Path

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["compile", "tests/cases/splits/splits.seg", "--schema",
                                      "examples/hospitality/schema.toml", "--target", target, "--as-of", "2026-11-01"])
    assert result.exit_code in (0, 1), result.output
    # The segments that compiled, then (when some did not) the exit status and stderr.
    text = result.stdout if result.exit_code == 0 else f"{result.stdout}-- exit {result.exit_code}\n{result.stderr}"
    golden(f"sql/splits.{target}.sql", text)


def test_journey_run_compares_the_treated_audience_with_the_holdout(tmp_path):
    import json
    import shutil
    from pathlib import Path

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    root = Path(__file__).resolve().parent.parent
    for name in ("segments.seg", "system.seg"):
        shutil.copy(root / "examples" / "hospitality" / name, tmp_path / name)
    (tmp_path / "segdsl.toml").write_text(
        f'name = "h"\nschema = "{root / "examples" / "hospitality" / "schema.toml"}"\n'
        f'data = "{root / "seeds" / "hospitality"}"\n')
    (tmp_path / "holdout.seg").write_text('holdout global_control 5% salt "gc-2026"\n')
    journey = ('journey offer {\n    audience in segment win_back%s\n    send email "offer"\n'
               '    goal converted within 30 days\n}\n')
    (tmp_path / "journeys.seg").write_text(journey % "")
    args = ["journey", "run", str(tmp_path / "journeys.seg"), "--as-of", "2026-12-01"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and "E0146" in refused.output
    (tmp_path / "journeys.seg").write_text(journey % " and not in holdout global_control")
    chart = tmp_path / "funnel.html"
    text = CliRunner().invoke(cli, [*args, "--chart", str(chart)])
    assert text.exit_code == 0, text.output
    assert "SIMULATED holdout comparison" in text.output and "holdout global_control" in text.output
    html = chart.read_text()
    assert "Simulated holdout comparison" in html and "<td>holdout global_control</td>" in html
    data = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).stdout)
    (held,) = data["holdouts"]
    assert held["simulated"] is True and held["holdout"] == "global_control"
    # The holdout side: win_back members in the holdout, whom the audience excludes.
    both = CliRunner().invoke(cli, ["size", "-e", "in segment win_back and in holdout global_control",
                                    "--as-of", "2026-12-01", "--format", "json", str(tmp_path / "holdout.seg")])
    assert both.exit_code == 0, both.output
    assert held["size"] == json.loads(both.stdout)["results"][0]["segments"][0]["size"] > 0
    assert data["funnel"]["enrolled"] > held["size"]
    assert held["lift_points"] == round(100 * (data["funnel"]["converted"] / data["funnel"]["enrolled"]
                                               - held["converted"] / held["size"]), 4)


def test_changing_a_recorded_split_is_a_warning(tmp_path):
    from pathlib import Path

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "segdsl.toml").write_text(
        f'name = "h"\nschema = "{root / "examples" / "hospitality" / "schema.toml"}"\n'
        f'data = "{root / "seeds" / "hospitality"}"\n')
    seg = tmp_path / "s.seg"
    split = 'split t {{ salt "{salt}"  a {a}%  b {b}% }}\nholdout h 5% salt "h"\n'
    rules = "segment in_a { where in split t.a and not in holdout h }\nsegment other { where ltv > 1 }\n"
    seg.write_text(split.format(salt="t1", a=50, b=50) + rules)
    check = ["check", str(seg)]
    assert "W0231" not in CliRunner().invoke(cli, check).output  # nothing recorded yet
    refreshed = CliRunner().invoke(cli, ["refresh", str(seg), "--as-of", "2026-12-01", "--all"])
    assert refreshed.exit_code == 0, refreshed.output
    assert CliRunner().invoke(cli, check).exit_code == 0
    seg.write_text(split.format(salt="t1", a=40, b=60) + rules)
    shares = CliRunner().invoke(cli, check)
    assert "warning[W0231]: the shares of split `t` changed" in shares.output
    assert 'salt "t1" with a 50%, b 50%' in shares.output
    assert CliRunner().invoke(cli, [*check, "--strict"]).exit_code == 1
    seg.write_text(split.format(salt="t2", a=50, b=50) + rules)
    assert "the salt of split `t` changed" in CliRunner().invoke(cli, check).output
    # The first recorded assignment stays the baseline: a refresh does not silence it.
    again = CliRunner().invoke(cli, ["refresh", str(seg), "--as-of", "2026-12-02", "--all"])
    assert again.exit_code == 0 and "W0231" in again.output
    assert "W0231" in CliRunner().invoke(cli, check).output
    # A holdout whose share changes, too.
    seg.write_text(split.format(salt="t1", a=50, b=50).replace("h 5%", "h 10%") + rules)
    assert "the shares of holdout `h` changed" in CliRunner().invoke(cli, check).output
    # The project's ignore comments apply to it, as to every warning.
    seg.write_text("# segdsl: ignore[W0231]\n\n" + split.format(salt="t1", a=50, b=50).replace("h 5%", "h 10%") + rules)
    quiet = CliRunner().invoke(cli, [*check, "--strict"])
    assert quiet.exit_code == 0 and "W0231" not in quiet.output


def test_export_refuses_splits_and_holdouts(tmp_path):
    from pathlib import Path

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    root = Path(__file__).resolve().parent.parent
    seg = tmp_path / "s.seg"
    seg.write_text(SPLIT + HOLDOUT + "segment s { where ltv > 1 and not in split winback_test.control "
                   "and in holdout global_control }\n")
    for fmt in ("segdsl", "rqb"):
        result = CliRunner().invoke(cli, ["export", str(seg), "--schema", str(root / "examples" / "hospitality" /
                                                                                "schema.toml"), "--format", fmt])
        assert result.exit_code == 1
        assert result.output.count("E0545") == 2 and "`in split` cannot be expressed" in result.output


def test_the_language_docs_on_splits_hold():
    """docs/language.md's section: its example checks, its worked hash is right, and its
    SQLite registration snippet makes compiled SQLite output run."""
    import re
    import sqlite3
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "language.md").read_text(encoding="utf-8")
    section = text[text.index("## Splits and holdouts"):text.index("## Literals")]
    example = section.split("```\n", 2)[1]
    hotel = root / "examples" / "hospitality"
    from segdsl.check.traits import load_schema

    schema, _ = load_schema(hotel / "schema.toml")
    parsed = parse_source("doc.seg", example + "segment win_back { where ltv > 1 }\n")
    checked = check_modules([parsed.module], schema)
    assert checked.ok, checked.diagnostics
    assert [(a.low, a.high) for a in checked.splits["winback_test"].arms] == [(0, 1000), (1000, 5500), (5500, 10_000)]
    m = re.search(r"the key `(\d+)` hashes to `([0-9a-f]{15})…` = (\d+), bucket (\d+)", section.replace("\n", " "))
    key, head, number, b = m.groups()
    digest = hashlib.sha256(f"winback-2026-12:{key}".encode()).hexdigest()
    assert digest[:15] == head and int(head, 16) == int(number) and int(number) % 10_000 == int(b)
    assert bucket("winback-2026-12", int(key)) == int(b)
    for k, n in re.findall(r"`(\d+)`\s+to\s+bucket (\d+)", section.replace("\n", " ")):
        assert bucket("winback-2026-12", int(k)) == int(n)
    snippet = re.search(r"`(conn\.create_function\([^`]*\))`", section.replace("\n", " ")).group(1)
    conn = sqlite3.connect(":memory:")
    import segdsl.ir.semantics

    eval(snippet, {"conn": conn, "segdsl": segdsl})
    compiled = compile_rule(_rule("in split winback_test.offer_b"), INT_SCHEMA, target="sqlite", as_of=AS_OF)
    conn.execute('CREATE TABLE "split_int" ("id" INTEGER PRIMARY KEY, "n" INTEGER)')
    conn.executemany('INSERT INTO "split_int" VALUES (?, NULL)', [(LAST_BUCKET,), (CONTROL_LAST,)])
    assert [r[0] for r in conn.execute(compiled.sql)] == [LAST_BUCKET]


def test_sqlite_output_names_the_function_it_needs():
    rule = _rule("in holdout global_control")
    assert compile_rule(rule, INT_SCHEMA, target="sqlite").functions == ("segdsl_bucket_hash",)
    assert compile_rule(rule, INT_SCHEMA, target="postgres").functions == ()
    assert compile_rule(_rule("n > 1"), INT_SCHEMA, target="sqlite").functions == ()


def test_explain_shows_the_bucket():
    from segdsl.backends.memory.trace import Tracer

    rule = _rule("in split winback_test.offer_b and not in holdout global_control")
    tracer = Tracer(rule, AS_OF, lambda span, node: "")
    trace = tracer.trace({"id": LAST_BUCKET, "n": None})
    split_node = trace.children[0]
    assert split_node.kind == "bucket" and split_node.verdict == "true"
    assert dict(split_node.details) == {"field": "id", "value": LAST_BUCKET, "group": "split winback_test.offer_b",
                                        "salt": "winback-2026-12", "bucket": 9999, "buckets": [5500, 9999]}
    held = trace.children[1].children[0].details
    assert held["bucket"] == bucket("gc-2026", LAST_BUCKET) and held["buckets"] == [0, 499]


def test_a_split_that_does_not_parse_is_not_reported_again_where_it_is_used(tmp_path):
    from pathlib import Path

    from segdsl.project.workspace import load_workspace

    root = Path(__file__).resolve().parent.parent
    seg = tmp_path / "s.seg"
    seg.write_text('split t { salt "t" a 50% b 50%\nsegment s { where in split t.a }\n'
                   'holdout h 5% salt\nsegment u { where in holdout h }\n')
    ws = load_workspace([seg], root / "examples" / "hospitality" / "schema.toml")
    assert [d.code for d in ws.diagnostics if d.is_error] == ["E0010", "E0010"]


def test_a_bare_rule_checked_against_a_project_may_name_its_splits_and_holdouts(tmp_path):
    """`segdsl size -e`, the serve page's editor and the API check a bare rule with the
    project's splits and holdouts in scope, as they are in its files."""
    import segdsl
    from example_projects import copy_example

    ws = segdsl.load_project(copy_example(tmp_path / "hotel", "hospitality"))
    rule = segdsl.check_expression("in segment win_back and not in holdout global_control", ws)
    assert rule.ok, rule.diagnostics
    found = segdsl.members(ws, ["win_back", rule], as_of="2026-11-01").members
    assert set(found["expr"]) < set(found["win_back"])
    unknown = segdsl.check_expression("in holdout nope", ws)
    assert [d.code for d in unknown.diagnostics] == ["E0170"]
