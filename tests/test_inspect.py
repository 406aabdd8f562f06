"""Who is in a segment and why: ``show``, ``explain FILE`` and ``history``, in the
API and on the command line, in memory and on databases.

Explain's verdict is the evaluator's: a property test traces generated rules over
generated data (the generators of test_cross_engine) and demands, for every row, a root
verdict equal to membership and every node's verdict consistent with its children's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, note
from hypothesis import strategies as st

import segdsl
from segdsl import ir
from segdsl.backends.memory import member_keys
from segdsl.backends.memory.row import resolve_rankings
from segdsl.backends.memory.trace import Tracer
from segdsl.check.checker import check_modules
from segdsl.cli.main import cli
from segdsl.data.tables import Table
from segdsl.syntax.parser import parse_source
from example_projects import copy_example as example_copy
from test_cross_engine import AS_OF, BASE_RULES, RULES, UTC, _schema, keyed_rows, module_text

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-11-01"


def copy_example(tmp_path: Path, name: str = "hospitality") -> Path:
    """The example project, without any `.segdsl/` state a user's commands left in it."""
    return example_copy(tmp_path / name, name)


@pytest.fixture(scope="module")
def ws():
    return segdsl.load_project(ROOT / "examples" / "hospitality")


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


# ------------------------------------------------------------------------ show


def test_show_lists_the_members_with_the_fields_the_rule_reads(ws):
    shown = segdsl.show(ws, "win_back", as_of=AT)
    assert shown.ok and shown.evaluated == "in memory"
    # The key, then what win_back reads, through `in segment lapsed` too.
    assert shown.columns == ["guest_id", "last_booking_at", "ltv", "email_opt_in"]
    rows = shown.rows()
    assert [r[0] for r in rows] == list(segdsl.members(ws, "win_back", as_of=AT).members["win_back"])
    assert all(r[3] is True and r[2] >= 50_000 for r in rows)
    assert list(shown) == rows, "iterating again gives the same rows"


def test_show_limit_and_columns(ws):
    assert len(segdsl.show(ws, "high_value", as_of=AT, limit=7).rows()) == 7
    shown = segdsl.show(ws, "high_value", as_of=AT, columns=["email", "ltv"], limit=3)
    assert shown.columns == ["guest_id", "email", "ltv"]
    every = segdsl.show(ws, "board_members", as_of=AT, all_columns=True)
    assert every.columns[0] == "guest_id" and "email" in every.columns and "ltv" in every.columns
    assert [r[0] for r in every] == [1001, 1002, 1003]
    with pytest.raises(segdsl.UsageError, match="did you mean `ltv`"):
        segdsl.show(ws, "high_value", columns=["ltvv"])
    with pytest.raises(segdsl.UsageError, match="did you mean `high_value`"):
        segdsl.show(ws, "high_valu")


@pytest.mark.parametrize("kind", ["duckdb", "sqlite", "postgres", "mysql"])
def test_show_on_a_database_gives_the_same_rows(ws, tmp_path, kind, request):
    dsn = {"duckdb": lambda: f"duckdb:{tmp_path / 'crm.duckdb'}", "sqlite": lambda: f"sqlite:{tmp_path / 'crm.db'}",
           "postgres": lambda: request.getfixturevalue("pg_database_dsn"),
           "mysql": lambda: request.getfixturevalue("mysql_dsn")}[kind]()
    segdsl.load_database(ws, dsn)
    for name in ("win_back", "gmail_gold", "spa_lovers", "board_members", "likely_to_churn"):
        in_memory = segdsl.show(ws, name, as_of=AT, all_columns=name == "spa_lovers")
        on_db = segdsl.show(ws, name, as_of=AT, dsn=dsn, all_columns=name == "spa_lovers")
        assert on_db.evaluated == "database" and on_db.columns == in_memory.columns
        assert on_db.rows() == in_memory.rows(), name
    assert segdsl.show(ws, "lapsed", as_of=AT, dsn=dsn, limit=4).rows() == \
        segdsl.show(ws, "lapsed", as_of=AT, limit=4).rows()
    member = segdsl.members(ws, "win_back", as_of=AT).members["win_back"][0]
    assert segdsl.explain_member(ws, "win_back", member, as_of=AT, dsn=dsn).to_dict() == \
        {**segdsl.explain_member(ws, "win_back", member, as_of=AT).to_dict(), "evaluated": "database"}


@pytest.fixture
def pg_database_dsn(pg_dsn):
    """A fresh database on the Postgres server, for one test."""
    import uuid

    import psycopg

    name = f"segdsl_trustcmd_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_show_streams_in_bounded_memory(tmp_path):
    """A million members to CSV on SQLite: rows are read and written a batch at a time."""
    import subprocess
    import sys

    project = tmp_path / "big"
    project.mkdir()
    (project / "segdsl.toml").write_text('schema = "schema.toml"\n')
    (project / "schema.toml").write_text(
        'entity = "guest"\ntable = "guests"\nkey = "id"\n[fields]\nid = { type = "int", nullable = false }\n'
        'score = { type = "int" }\nnote = { type = "text" }\n')
    (project / "segments.seg").write_text("segment all_of_them { where score >= 0 }\n")
    db = tmp_path / "big.db"
    import sqlite3

    conn = sqlite3.connect(db)
    from segdsl.data.engines import Engine
    from segdsl.data.loading import load_project as load_tables
    from segdsl.data.tables import Table as T

    ws = segdsl.load_project(project)
    n = 1_000_000
    import numpy as np

    from segdsl.data.tables import Column

    every = np.ones(n, dtype=bool)
    note = np.empty(n, dtype=object)
    note[:] = "a note of some words"
    table = T(ws.schema, {"id": Column(np.arange(n, dtype=np.int64), every),
                          "score": Column(np.arange(n, dtype=np.int64), every), "note": Column(note, every)}, n)
    load_tables(Engine("sqlite", conn), ws.schema, {"guests": table})
    conn.close()
    del table
    script = (
        "import sys\n"
        "from segdsl.cli.main import cli\n"
        "sys.argv = ['segdsl', 'show', sys.argv[1], '-s', 'all_of_them', '--all-columns', '--format', 'csv',"
        " '--dsn', sys.argv[2]]\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass\n"
        # VmHWM, not ru_maxrss: that one keeps the forking test process's peak across exec.
        "sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    out = tmp_path / "out.csv"
    with out.open("wb") as sink:
        proc = subprocess.run([sys.executable, "-c", script, str(project / "segments.seg"), f"sqlite:{db}"],
                              stdout=sink, stderr=subprocess.PIPE, check=True)
    peak_kb = int(proc.stderr.decode().strip().splitlines()[-1])
    with out.open() as f:
        assert sum(1 for _ in f) == n + 1
    # The rows as Python tuples alone would take several hundred MB.
    assert peak_kb < 200_000, f"peak memory {peak_kb} kB"


# --------------------------------------------------------------------- explain


def test_explain_traces_the_rule_for_one_guest(ws):
    member = segdsl.members(ws, "win_back", as_of=AT).members["win_back"][0]
    trace = segdsl.explain_member(ws, "win_back", str(member), as_of=AT)
    assert trace.key == member and trace.verdict == "true" and trace.member
    root = trace.root
    assert root.kind == "and" and root.text == "in segment lapsed and ltv >= 50_000 and email_opt_in"
    lapsed, ltv, opt_in = root.children
    assert lapsed.details == {"segment": "lapsed", "member": True}
    assert lapsed.children[0].text == "days_since_booking >= 180"
    window = lapsed.children[0].details
    assert window["field"] == "last_booking_at" and window["op"] == "<="
    assert str(window["day"]) == "2026-05-05"
    assert ltv.details["aggregate"]["fn"] == "sum" and ltv.details["aggregate"]["counted"] >= 1
    assert opt_in.details["value"] is True and opt_in.details["aggregate"]["fn"] == "latest"
    json.dumps(trace.to_dict())  # JSON-able


def test_explain_errors(ws):
    with pytest.raises(segdsl.UsageError, match="no guest with guest_id `99999`"):
        segdsl.explain_member(ws, "win_back", 99999, as_of=AT)
    with pytest.raises(segdsl.UsageError, match="is an integer"):
        segdsl.explain_member(ws, "win_back", "abc", as_of=AT)


def test_explain_agrees_with_membership_on_every_example_guest(ws):
    from segdsl.backends.memory.profile import load_profile

    segments = [ws.segments[n] for n in ws.segments]
    table = load_profile(ws.schema, ws.data_dir, [s.rule for s in segments], segdsl.parse_as_of(AT))
    records = table.records()
    found = segdsl.members(ws, [s.name for s in segments], as_of=AT).members
    for s in segments:
        tracer = Tracer(s.rule, segdsl.parse_as_of(AT), lambda span, node: "")
        traced = [r[ws.schema.key.column] for r in records if tracer.verdict(s.rule, r) == "true"]
        assert sorted(traced) == list(found[s.name]), s.name


def _consistent(node) -> None:
    """Each node's verdict follows from its children's, in Kleene logic."""
    kids = [c.verdict for c in node.children]
    if node.kind == "and":
        expect = "false" if "false" in kids else "unknown" if "unknown" in kids else "true"
        assert node.verdict == expect
    elif node.kind == "or":
        expect = "true" if "true" in kids else "unknown" if "unknown" in kids else "false"
        assert node.verdict == expect
    elif node.kind == "not":
        assert node.verdict == {"true": "false", "false": "true", "unknown": "unknown"}[kids[0]]
    elif node.kind == "in segment":
        assert node.verdict == ("true" if kids[0] == "true" else "false")
    for c in node.children:
        _consistent(c)


@given(data=keyed_rows(), base=BASE_RULES, main=RULES,
       as_of=st.one_of(st.sampled_from(AS_OF), st.datetimes(timezones=st.just(UTC))))
def test_explains_root_is_membership(data, base, main, as_of):
    schema, records = data
    text = module_text(base, main, schema.key.kind.value == "text")
    note(text)
    parsed = parse_source("prop.seg", text)
    checked = check_modules([parsed.module], schema)
    assert not [d for d in checked.diagnostics if d.is_error]
    rule = checked.segments["main"].rule
    table = Table.from_records(schema, records)
    members = set(member_keys(rule, table, as_of))
    # A ranking is judged against its whole population, resolved over the table.
    tracer = Tracer(rule, as_of, lambda span, node: text[span.start:span.end] if span else "",
                    resolve_rankings(rule, as_of, table))
    for r in records:
        trace = tracer.trace(r)
        assert (trace.verdict == "true") == (r["id"] in members)
        _consistent(trace)


def test_a_node_kind_the_tracer_does_not_know_is_still_judged():
    """A construct added later is judged by the evaluator, shown by its text."""
    import attrs

    @attrs.frozen
    class Future:
        span: object = None

    node = Future()
    tracer = Tracer(node, segdsl.parse_as_of(AT), lambda span, node: "future thing")
    tracer._tests[id(node)] = (lambda r: False, lambda r: False)  # what the evaluator would compile
    out = tracer.trace({})
    assert (out.kind, out.text, out.verdict, out.details, out.children) == ("future", "future thing", "unknown",
                                                                            {}, ())


# --------------------------------------------------------------------- history


def test_history_reads_the_store_refresh_keeps(tmp_path):
    project = copy_example(tmp_path)
    seg = str(project / "segments.seg")
    run("refresh", seg, "--as-of", "2026-11-01", "--all")
    run("refresh", seg, "--as-of", "2026-11-20", "--all")
    ws = segdsl.load_project(project)
    events = segdsl.history(ws)
    assert {e.change for e in events} == {"entered", "left"}
    assert [e.instant for e in events] == sorted(e.instant for e in events)
    first = segdsl.members(ws, "lapsed", as_of=AT).members["lapsed"]
    entered_first = [e.key for e in events if e.segment == "lapsed" and e.instant == segdsl.parse_as_of(AT)]
    assert sorted(entered_first) == list(first)
    later = segdsl.history(ws, segment="lapsed", since="2026-11-02")
    now = set(segdsl.members(ws, "lapsed", as_of="2026-11-20").members["lapsed"])
    assert {e.key for e in later if e.change == "entered"} == now - set(first)
    assert {e.key for e in later if e.change == "left"} == set(first) - now
    key = later[0].key
    assert all(e.key == key for e in segdsl.history(ws, key=str(key)))
    with pytest.raises(segdsl.UsageError, match="did you mean `lapsed`"):
        segdsl.history(ws, segment="lapsd")


def test_history_of_a_project_never_refreshed_is_empty(tmp_path):
    project = copy_example(tmp_path)
    assert segdsl.history(segdsl.load_project(project)) == []
    assert not (project / ".segdsl").exists(), "reading history writes nothing"


# ------------------------------------------------------- the commands the docs show


def test_cli_show(tmp_path):
    project = copy_example(tmp_path)
    seg = str(project / "segments.seg")
    out = run("show", seg, "--segment", "win_back", "--as-of", AT, "--limit", "10").output.splitlines()
    assert out[0].split() == ["guest_id", "last_booking_at", "ltv", "email_opt_in"] and len(out) == 12
    out = run("show", seg, "-s", "high_value", "--columns", "ltv,email", "--format", "csv", "--as-of", AT).output
    lines = out.splitlines()
    assert lines[0] == "guest_id,ltv,email" and len(lines) == 1 + len(
        segdsl.members(segdsl.load_project(project), "high_value", as_of=AT).members["high_value"])
    rows = json.loads(run("show", seg, "-s", "board_members", "--format", "json", "--as-of", AT).output)
    assert rows == [{"guest_id": 1001}, {"guest_id": 1002}, {"guest_id": 1003}]
    dsn = f"duckdb:{tmp_path / 'crm.duckdb'}"
    run("db", "load", str(project), "--dsn", dsn)
    on_db = run("show", seg, "-s", "lapsed", "--all-columns", "--dsn", dsn, "--as-of", AT, "--limit", "3").output
    in_memory = run("show", seg, "-s", "lapsed", "--all-columns", "--as-of", AT, "--limit", "3").output
    assert on_db == in_memory
    bad = run("show", seg, "-s", "win_back", "--columns", "ltvv", code=2)
    assert "did you mean `ltv`" in bad.output
    assert "Examples:" in run("show", "--help").output


def test_cli_explain(tmp_path):
    project = copy_example(tmp_path)
    seg = str(project / "segments.seg")
    out = run("explain", seg, "--segment", "win_back", "--key", "1003", "--as-of", AT).output
    assert out.startswith("guest 1003 is a member of win_back, as of 2026-11-01T00:00:00Z, in memory")
    assert "├─ in segment lapsed" in out and "sum over bookings" in out
    doc = json.loads(run("explain", seg, "-s", "win_back", "-k", "1003", "--format", "json", "--as-of", AT).output)
    assert doc["verdict"] == "true" and doc["rule"]["children"][1]["text"] == "ltv >= 50_000"
    out = run("explain", seg, "-s", "spa_lovers", "-k", "1001", "--as-of", AT).output
    assert "is not a member of spa_lovers (the rule is false)" in out
    assert "no guest with guest_id `99999`" in run("explain", seg, "-s", "win_back", "-k", "99999", code=2).output
    # A code is still a code; a file without --segment says what is missing.
    assert run("explain", "E0102").output.startswith("E0102 (error): type mismatch")
    assert "--segment NAME and --key KEY" in run("explain", seg, code=2).output
    assert "--segment NAME and --key KEY" in run("explain", seg, "-s", "win_back", code=2).output
    assert "Examples:" in run("explain", "--help").output


def test_cli_history(tmp_path):
    project = copy_example(tmp_path)
    seg = str(project / "segments.seg")
    assert "no changes recorded" in run("history", seg).output
    run("refresh", seg, "--as-of", "2026-11-01", "--all")
    run("refresh", seg, "--as-of", "2026-11-20")
    table = run("history", seg).output.splitlines()
    assert table[0].split() == ["as_of", "segment", "key", "change"]
    since = run("history", seg, "--segment", "win_back", "--since", "2026-10-01").output.splitlines()[2:]
    assert since and all(line.split()[1] == "win_back" for line in since)
    mine = json.loads(run("history", seg, "--key", "1003", "--format", "json").output)
    assert mine and all(e["key"] == 1003 for e in mine)
    assert "Examples:" in run("history", "--help").output


def test_the_outputs_docs_cli_shows(monkeypatch):
    """Every `$ segdsl show|explain ...` block of docs/cli.md prints what it shows."""
    import re
    import shlex

    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\n\$ segdsl ((?:show|explain|history) [^\n]*)\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 2
    for command, shown in blocks:
        assert run(*shlex.split(command)).output == shown, command


# ------------------------------------------- reading rows back from every engine

#: The fields of test_cross_engine, in tables of this module's own.
READ_SCHEMAS = {"int": _schema("trustcmd_read", "int"), "text": _schema("trustcmd_read_text", "text")}


@pytest.fixture(scope="module")
def read_engines(pg, maria):
    from segdsl.data.engines import connect

    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    yield {"postgres": pg, "mysql": maria, "duckdb": duck, "sqlite": lite}
    duck.close()
    lite.close()


# A fifth of the suite's examples: what is read back is the generated rows' values (up to
# ten rows of edge values each), which the cross-engine test also reads as members.
@settings(deadline=None, max_examples=max(20, settings().max_examples // 5))
@given(data=keyed_rows(), base=BASE_RULES, main=RULES, as_of=st.sampled_from(AS_OF))
def test_rows_read_back_from_every_engine_are_the_rows_in_memory(read_engines, data, base, main, as_of):
    """What show and explain read from a database — one entity's row fetched with its
    key bound, a segment's members with their columns, streamed — decodes to exactly
    the values the in-memory evaluators see: NULLs, decimals, tags, instants at the
    calendar's edges, text keys."""
    from segdsl.backends.sql import compile_rule
    from segdsl.backends.sql.storage import python_value, select_equal
    from segdsl.data.engines import load_records

    schema, records = data
    schema = READ_SCHEMAS[schema.key.kind.value]
    text = module_text(base, main, schema.key.kind.value == "text")
    note(text)
    checked = check_modules([parse_source("prop.seg", text).module], schema)
    rule = checked.segments["main"].rule
    table = Table.from_records(schema, records)
    expected = {r["id"]: r for r in table.records()}
    fields = schema.stored_fields()
    members = member_keys(rule, table, as_of)
    for name, engine in read_engines.items():
        t = engine.target
        load_records(engine, schema, records)
        for key, record in expected.items():
            rows = engine.execute(select_equal(t, schema.table, [f.column for f in fields], "id"), (key,))
            assert [{f.column: python_value(t, f, v) for f, v in zip(fields, row)} for row in rows] == [record], name
        compiled = compile_rule(rule, schema, target=engine.dialect, as_of=as_of, params=engine.binds_named_params,
                                columns=[f for f in fields if f.name != "id"])
        got = [tuple(python_value(t, f, v) for f, v in zip(fields, row))
               for row in engine.stream(compiled.sql, compiled.params or None, batch=3)]
        assert got == [tuple(expected[k][f.column] for f in fields) for k in members], name
