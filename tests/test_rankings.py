"""Rankings (`ltv in top 10%`, `top 500 by ltv`), by hand: the boundaries the issue pins
(the tie at the top-N cut-off, the exact 10% boundary for N = 10, 11 and 20, NULLs
not counted in N), NULL and population behaviour, the checker's diagnostics, the
printer, and the same answer from the row evaluator, the columnar evaluator and every
SQL engine the machine has."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from segdsl import ir
from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.sql import compile_rule, condition
from segdsl.data.engines import fetch_count, fetch_keys, load_records
from segdsl.check.checker import check_expression, check_modules
from segdsl.check.traits import schema_from_dict
from segdsl.data.tables import Table
from segdsl.ir.semantics import cutoff_index, in_percent, percent_ratio, rank_cutoff
from segdsl.syntax.parser import parse_expression, parse_source
from segdsl.syntax.printer import print_expr

UTC = dt.timezone.utc
AS_OF = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _schema(key_type: str = "int"):
    schema, diags = schema_from_dict({
        "entity": "guest",
        "table": "rank_guests" if key_type == "int" else "rank_guests_text",
        "key": "id",
        "fields": {
            "id": {"type": key_type, "nullable": False},
            "ltv": {"type": "decimal(8, 2)"},
            "n": {"type": "int"},
            "score": {"type": "float"},
            "name": {"type": "text"},
            "active": {"type": "bool"},
            "born": {"type": "date"},
            "seen_at": {"type": "timestamp"},
            "days_seen": {"days_since": "seen_at"},
        },
    })
    assert schema is not None, diags
    return schema


SCHEMA = _schema()
TEXT_SCHEMA = _schema("text")
COLUMNS = ["id", "ltv", "n", "score", "name", "active", "born", "seen_at"]


def rows(*dicts: dict, schema=SCHEMA) -> list[dict]:
    return [{**{c: None for c in COLUMNS}, "id": i if schema is SCHEMA else f"k{i:02d}", **d}
            for i, d in enumerate(dicts, 1)]


def check(text: str, schema=SCHEMA, segments=None) -> ir.Node:
    parsed = parse_expression(text)
    assert parsed.expr is not None, parsed.diagnostics
    node, diags = check_expression(parsed.expr, schema, segments)
    assert node is not None, diags
    return node


#: The SQL engines of this machine, set by the autouse fixture below, and the
#: (engine, table) pairs created so far (later loads empty and refill them).
ENGINES: dict = {}
CREATED: set = set()


@pytest.fixture(scope="module", autouse=True)
def engines(pg, pg_collated, maria):
    from segdsl.data.engines import connect

    duck, lite = connect("duckdb::memory:"), connect("sqlite::memory:")
    ENGINES.update({"postgres": pg, "postgres (non-C collation)": pg_collated, "duckdb": duck, "sqlite": lite,
                    "mysql": maria})
    CREATED.clear()
    yield ENGINES
    ENGINES.clear()
    duck.close()
    lite.close()


def members(text: str, records: list[dict], schema=SCHEMA, segments=None) -> list:
    """The members by the row and the columnar evaluator and every SQL engine, which must
    agree, with TRUE, FALSE and unknown partitioning the rows (the row evaluator's view;
    on each engine the TLP oracle)."""
    node = check(text, schema, segments)
    table = Table.from_records(schema, records)
    is_true, is_false = compile_row(node, AS_OF, table), compile_row(ir.Not(node), AS_OF, table)
    expected = sorted(r["id"] for r in records if is_true(r))
    assert not {r["id"] for r in records if is_true(r) and is_false(r)}
    assert member_keys(node, table, AS_OF) == expected
    not_members = sorted(r["id"] for r in records if is_false(r))
    assert member_keys(ir.Not(node), table, AS_OF) == not_members
    for name, engine in ENGINES.items():
        load_records(engine, schema, records, create=(name, schema.table) not in CREATED)
        CREATED.add((name, schema.table))
        for rule, want in ((node, expected), (ir.Not(node), not_members)):
            compiled = compile_rule(rule, schema, target=engine.dialect, as_of=AS_OF)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql, compiled.params) == want, f"{name} disagrees:\n{compiled.sql}"
        # The bare condition (what the oracles wrap): p, not p and p is null partition the rows.
        from sqlglot import exp

        cond, _ = condition(node, schema, target=engine.dialect, as_of=AS_OF)
        table_ = exp.to_table(schema.table, quoted=True)
        counts = [
            fetch_count(engine, exp.select(exp.Count(this=exp.Star())).from_(table_.copy()).where(w)
                        .sql(engine.dialect, identify=True))
            for w in (cond.copy(), exp.Not(this=exp.Paren(this=cond.copy())),
                      exp.Is(this=exp.Paren(this=cond.copy()), expression=exp.Null()))
        ]
        assert counts == [len(expected), len(not_members), len(records) - len(expected) - len(not_members)], name
    return expected


def unknown(text: str, records: list[dict], schema=SCHEMA) -> list:
    node = check(text, schema)
    table = Table.from_records(schema, records)
    is_true, is_false = compile_row(node, AS_OF, table), compile_row(ir.Not(node), AS_OF, table)
    return sorted(r["id"] for r in records if not is_true(r) and not is_false(r))


# ------------------------------------------------------------------ the rule itself


def test_the_percentile_test_is_exact_integer_arithmetic():
    assert percent_ratio(Decimal("10")) == (1, 10)
    assert percent_ratio(Decimal("2.5")) == (1, 40)
    # 100 * (rank - 1) < P * N
    assert in_percent(1, 10, (1, 10)) and not in_percent(2, 10, (1, 10))
    assert in_percent(2, 11, (1, 10)) and not in_percent(3, 11, (1, 10))
    assert in_percent(2, 20, (1, 10)) and not in_percent(3, 20, (1, 10))
    assert cutoff_index(10, Decimal(10), None) == 0
    assert cutoff_index(11, Decimal(10), None) == 1
    assert cutoff_index(20, Decimal(10), None) == 1
    assert cutoff_index(21, Decimal(10), None) == 2
    assert cutoff_index(3, Decimal(100), None) == 2
    assert cutoff_index(0, Decimal(100), None) is None
    assert cutoff_index(3, None, 500) == 2 and cutoff_index(600, None, 500) == 499


@pytest.mark.parametrize("n, expected", [(10, 1), (11, 2), (20, 2), (21, 3), (9, 1), (1, 1)])
def test_the_ten_percent_boundary(n, expected):
    # Distinct values n, n-1, ..., 1: the top 10% is ranks with 100 * (rank - 1) < 10 * n.
    records = rows(*({"n": n - i} for i in range(n)))
    assert members("n in top 10%", records) == list(range(1, expected + 1))


def test_nulls_are_not_counted_in_n_and_are_unknown():
    # 10 values and 5 NULLs: N = 10, so the top 10% is one entity (with N = 15 it would be two).
    records = rows(*({"n": 100 - i} for i in range(10)), *({} for _ in range(5)))
    assert members("n in top 10%", records) == [1]
    assert unknown("n in top 10%", records) == [11, 12, 13, 14, 15]
    assert members("not n in top 10%", records) == list(range(2, 11))


def test_ties_at_the_percentile_cut_off_are_all_in():
    # 20 values, the 2nd to 4th tie: rank 2 for all three, 100 * 1 < 10 * 20, so all in.
    records = rows({"n": 9}, {"n": 5}, {"n": 5}, {"n": 5}, *({"n": 1} for _ in range(16)))
    assert members("n in top 10%", records) == [1, 2, 3, 4]
    node = check("n in top 10%")
    cut = rank_cutoff([(r["n"], r["id"]) for r in records], node)
    assert (cut.value, cut.rank, cut.n, cut.members) == (5, 2, 20, 4)


def test_a_tie_at_the_top_n_cut_off_goes_to_the_smallest_key():
    records = rows({"n": 7}, {"n": 9}, {"n": 7}, {"n": 7}, {"n": 1})
    assert members("top 2 by n", records) == [1, 2]
    assert members("top 3 by n", records) == [1, 2, 3]
    assert members("top 10 by n", records) == [1, 2, 3, 4, 5]
    node = check("top 2 by n")
    cut = rank_cutoff([(r["n"], r["id"]) for r in records], node)
    assert (cut.value, cut.key, cut.rank, cut.n, cut.members) == (7, 1, 2, 5, 2)


def test_text_keys_break_ties_by_code_point():
    records = [
        {**{c: None for c in COLUMNS}, "id": k, "n": 5}
        for k in ["b", "B", "a", "é", "A", "Z"]
    ]
    assert members("top 3 by n", records, TEXT_SCHEMA) == ["A", "B", "Z"]
    assert members("top 5 by n", records, TEXT_SCHEMA) == ["A", "B", "Z", "a", "b"]


def test_outside_the_population_is_false_and_a_null_inside_is_unknown():
    records = rows({"n": 5, "active": True}, {"n": 9, "active": False}, {"active": True}, {"active": None},
                   {"n": 1, "active": True})
    assert members("top 1 by n among (active)", records) == [1]
    assert members("not top 1 by n among (active)", records) == [2, 4, 5]
    assert unknown("top 1 by n among (active)", records) == [3]
    assert members("top 1 by n", records) == [2]


def test_population_from_a_segment_and_rankings_inside_it():
    text = """
segment big { where n >= 5 }
segment best_big { where score in top 50% among in segment big }
segment top_of_best { where top 1 by n among in segment best_big or name = "x" }
"""
    parsed = parse_source("r.seg", text)
    checked = check_modules([parsed.module], SCHEMA)
    assert not [d for d in checked.diagnostics if d.is_error], checked.diagnostics
    records = rows({"n": 5, "score": 1.0}, {"n": 6, "score": 3.0}, {"n": 9, "score": 2.0}, {"n": 1, "score": 9.0},
                   {"n": 7, "score": None}, {"n": 2, "name": "x"})
    segs = checked.segments
    assert members("in segment best_big", records, segments=segs) == [2, 3]
    assert members("in segment top_of_best", records, segments=segs) == [3, 6]


def test_rank_by_days_since_puts_the_oldest_first_and_ties_on_a_day():
    day = dt.datetime(2024, 1, 10, tzinfo=UTC)
    records = rows({"seen_at": day}, {"seen_at": day + dt.timedelta(hours=23)},
                   {"seen_at": day + dt.timedelta(days=5)}, {"seen_at": day + dt.timedelta(days=9)})
    assert members("days_since(seen_at) in top 25%", records) == [1, 2]
    assert members("days_seen in top 25%", records) == [1, 2]
    assert members("top 1 by days_since(seen_at)", records) == [1]
    assert members("seen_at in top 25%", records) == [4]


def test_decimals_floats_dates_and_aggregates_rank():
    records = rows({"ltv": Decimal("10.50"), "score": -0.5, "born": dt.date(1990, 1, 1)},
                   {"ltv": Decimal("10.49"), "score": 2.0, "born": dt.date(2001, 1, 1)},
                   {"ltv": Decimal("-3.00"), "score": 0.0, "born": dt.date(1, 1, 1)})
    assert members("ltv in top 33%", records) == [1]
    assert members("ltv in top 34%", records) == [1, 2]
    assert members("top 2 by score", records) == [2, 3]
    assert members("born in top 1%", records) == [2]
    assert members("top 1 by days_since(born)", records) == [3]


# ------------------------------------------------------------------ syntax and checking


@pytest.mark.parametrize("text", [
    "ltv in top 10% among in segment big",
    "top 500 by ltv among in segment big and n > 1",
    "not n in top 2.5%",
    "top 3 by days_since(seen_at) among (n > 1 or active) or active",
    "n in top 100%",
])
def test_rankings_print_back_as_written(text):
    parsed = parse_expression(text)
    assert parsed.expr is not None, parsed.diagnostics
    assert print_expr(parsed.expr) == text
    assert parse_expression(print_expr(parsed.expr)).expr == parsed.expr


@pytest.mark.parametrize("text, code", [
    ("name in top 10%", "E0160"),
    ("active in top 10%", "E0160"),
    ("n in top 0%", "E0161"),
    ("n in top 100.5%", "E0161"),
    ("n in top 0.00001%", "E0161"),
    ("top 0 by n", "E0162"),
    ("top -3 by n", "E0162"),
    ("top 1 by n among in segment nope", "E0108"),
])
def test_bad_rankings_are_diagnostics(text, code):
    parsed = parse_expression(text)
    assert parsed.expr is not None, parsed.diagnostics
    node, diags = check_expression(parsed.expr, SCHEMA, {})
    assert node is None and [d.code for d in diags] == [code]


def test_a_population_that_refers_back_is_a_cycle():
    text = "segment a { where top 1 by n among in segment b }\nsegment b { where in segment a or n > 1 }\n"
    checked = check_modules([parse_source("c.seg", text).module], SCHEMA)
    assert "E0110" in [d.code for d in checked.diagnostics]


# ------------------------------------------------------------------ generated, with ties


def _tie_rows():
    from hypothesis import strategies as st

    from test_cross_engine import KEYS, SCHEMA as CROSS, TEXT_SCHEMA as CROSS_TEXT

    day = dt.date(2024, 3, 1)
    instants = [dt.datetime(2024, 3, 1, tzinfo=UTC), dt.datetime(2024, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC),
                dt.datetime(2024, 3, 2, tzinfo=UTC), dt.datetime(1, 1, 1, tzinfo=UTC),
                dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    row = st.fixed_dictionaries({
        "i": st.sampled_from([None, 0, 1, 1, 2, 2**63 - 1, -(2**63)]),
        "money": st.sampled_from([None, Decimal("0.00"), Decimal("1.50"), Decimal("1.50"), Decimal("-2.00")]),
        "f": st.sampled_from([None, -0.0, 0.0, 1.5, 1.5]),
        "t": st.sampled_from([None, "a", "b"]),
        "e": st.sampled_from([None, "Gold", "Silver"]),
        "b": st.sampled_from([None, True, False]),
        "joined": st.sampled_from([None, day, day, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        "ts": st.sampled_from([None, *instants]),
        "tags": st.none(),
        "money4": st.sampled_from([None, Decimal("0.0000"), Decimal("1.5000"), Decimal("1.5000")]),
        "ts2": st.sampled_from([None, *instants]),
    })

    @st.composite
    def data(draw):
        rows = draw(st.lists(row, max_size=12))
        if draw(st.booleans()):
            return CROSS, [{"id": i + 1, **r} for i, r in enumerate(rows)]
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=len(rows), max_size=len(rows), unique=True))
        return CROSS_TEXT, [{"id": k, **r} for k, r in zip(keys, rows)]

    return data()


def _ranking_rules():
    from hypothesis import strategies as st

    from test_cross_engine import combine, predicate, ranking

    base = st.recursive(st.one_of(ranking(in_base=True), predicate().filter(lambda p: "segment" not in p)),
                        combine, max_leaves=3)
    main = st.recursive(st.one_of(ranking(), ranking(), predicate()), combine, max_leaves=4)
    return base, main


def test_generated_rankings_with_ties_agree_everywhere():
    from hypothesis import given, note, settings

    from test_cross_engine import module_text

    base_rules, main_rules = _ranking_rules()

    # A tenth of the examples of the other property tests (each runs two rules and the
    # TLP oracle on five engines); the cross-engine test generates rankings too.
    @settings(deadline=None, max_examples=max(10, settings().max_examples // 10))
    @given(data=_tie_rows(), base=base_rules, main=main_rules)
    def run(data, base, main):
        schema, records = data
        text = module_text(base, main, schema.key.kind.value == "text")
        note(text)
        checked = check_modules([parse_source("prop.seg", text).module], schema)
        assert not [d for d in checked.diagnostics if d.is_error], checked.diagnostics
        members("in segment main", records, schema, checked.segments)

    run()


# ------------------------------------------------------------------ the docs' examples


def _doc_examples() -> list[str]:
    """The rules of the first code block of docs/language.md's "Ranking" section."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    section = text[text.index("### Ranking"):]
    block = section[section.index("```\n") + 4:]
    return [line for line in block[: block.index("```")].splitlines() if line.strip()]


DOC_AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
#: The targets whose SQL for the docs' examples is kept as golden files, and their options.
GOLDEN_TARGETS = [("postgres", {}), ("postgres.params", {"params": True}), ("duckdb", {}), ("sqlite", {}),
                  ("mysql", {})]


@pytest.fixture(scope="module")
def hotel():
    from pathlib import Path

    from segdsl.backends.memory.profile import load_profile
    from segdsl.project.workspace import load_workspace

    root = Path(__file__).resolve().parent.parent / "examples" / "hospitality"
    ws = load_workspace(sorted(root.glob("*.seg")))
    assert ws.ok, ws.diagnostics
    rules = {}
    for line in _doc_examples():
        parsed = parse_expression(line)
        assert parsed.expr is not None, (line, parsed.diagnostics)
        node, diags = check_expression(parsed.expr, ws.schema, ws.segments)
        assert node is not None and not diags, (line, diags)
        rules[line] = node
    table = load_profile(ws.schema, ws.project.data_dir, list(rules.values()), DOC_AS_OF)
    return ws, rules, table


def test_the_docs_examples_check_and_agree_in_memory(hotel):
    ws, rules, table = hotel
    assert len(rules) == 5
    for line, node in rules.items():
        keys = member_keys(node, table, DOC_AS_OF)
        is_true = compile_row(node, DOC_AS_OF, table)
        assert keys == sorted(r[ws.schema.key.column] for r in table.records() if is_true(r)), line
        assert keys, f"{line}: no member on the example CRM"


@pytest.mark.parametrize("suffix, options", GOLDEN_TARGETS, ids=[t[0] for t in GOLDEN_TARGETS])
def test_the_docs_examples_sql(hotel, suffix, options, golden):
    ws, rules, _ = hotel
    parts = []
    for line, node in rules.items():
        compiled = compile_rule(node, ws.schema, target=suffix.split(".")[0], as_of=DOC_AS_OF, **options)
        assert compiled.ok, compiled.diagnostics
        params = f"-- params: {compiled.params}\n" if compiled.params else ""
        parts.append(f"-- {line}\n{params}{compiled.sql};\n")
    golden(f"sql/rankings.{suffix}.sql", "\n".join(parts))


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgres", "mysql"])
def test_the_docs_examples_on_every_engine(hotel, engine, tmp_path, request):
    import subprocess
    import sys
    from pathlib import Path

    from segdsl.data.engines import connect

    ws, rules, table = hotel
    dsn = {"duckdb": f"duckdb:{tmp_path / 'crm.duckdb'}", "sqlite": f"sqlite:{tmp_path / 'crm.sqlite'}"}.get(engine)
    if dsn is None:
        dsn = request.getfixturevalue("pg_dsn" if engine == "postgres" else "mysql_dsn")
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "segdsl", "db", "load", "examples/hospitality", "--dsn", dsn],
                   cwd=root, check=True, capture_output=True)
    conn = connect(dsn)
    try:
        for line, node in rules.items():
            compiled = compile_rule(node, ws.schema, target=conn.dialect, as_of=DOC_AS_OF)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(conn, compiled.sql, compiled.params) == member_keys(node, table, DOC_AS_OF), line
    finally:
        conn.close()


# ------------------------------------------------------------------ plan and size print the cut-off


def _project(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    project = tmp_path / "hotel"
    project.mkdir()
    for f in ("schema.toml", "segments.seg", "system.seg"):
        (project / f).write_text((root / "examples" / "hospitality" / f).read_text(encoding="utf-8"), encoding="utf-8")
    (project / "segdsl.toml").write_text(
        f'name = "hotel"\nschema = "schema.toml"\ndata = "{(root / "seeds" / "hospitality").as_posix()}"\n',
        encoding="utf-8")
    (project / "rank.seg").write_text(
        'segment best_actives { where ltv in top 10% among in segment active_members }\n'
        'segment top_win_back { where top 500 by ltv among in segment win_back }\n', encoding="utf-8")
    return project


def test_size_reports_each_cut_off_in_memory_and_on_a_database(tmp_path, hotel):
    import segdsl

    _, _, table = hotel
    project = _project(tmp_path)
    ws = segdsl.load_project(project)
    here = segdsl.sizes(ws, ["best_actives", "top_win_back"], as_of=DOC_AS_OF)
    assert here.ok, here.diagnostics
    cut = here.sizes[0].cutoffs[0]
    # By hand from the profile: the active members' non-NULL ltv, best first.
    active = member_keys(ws.segments["active_members"].rule, table, DOC_AS_OF)
    values = sorted((r["ltv"] for r in table.records() if r["guest_id"] in set(active) and r["ltv"] is not None),
                    reverse=True)
    m = cutoff_index(len(values), Decimal(10), None)
    assert (cut.value, cut.n, cut.rank) == (values[m], len(values), values.index(values[m]) + 1)
    assert cut.members == here.sizes[0].size == sum(v >= values[m] for v in values)
    assert str(cut) == (f"ltv in top 10% among in segment active_members: cut-off ltv ≥ {values[m]:,} "
                        f"(rank {cut.rank:,} of {len(values):,})")
    top = here.sizes[1].cutoffs[0]
    assert top.members == here.sizes[1].size and top.key is not None
    dsn = f"sqlite:{tmp_path / 'crm.sqlite'}"
    assert segdsl.load_database(ws, dsn).ok
    there = segdsl.sizes(ws, ["best_actives", "top_win_back"], as_of=DOC_AS_OF, dsn=dsn)
    assert [s.cutoffs for s in there.sizes] == [s.cutoffs for s in here.sizes]


def test_the_cli_prints_the_cut_offs(tmp_path):
    import json

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    project = _project(tmp_path)
    files = [str(p) for p in sorted(project.glob("*.seg"))]
    out = CliRunner().invoke(cli, ["size", *files, "-s", "best_actives", "--as-of", "2026-11-01"])
    assert out.exit_code == 0, out.output
    assert "rankings, cut at the as-of:" in out.output
    assert "best_actives: ltv in top 10% among in segment active_members: cut-off ltv ≥ " in out.output
    out = CliRunner().invoke(cli, ["size", *files, "-s", "top_win_back", "--as-of", "2026-11-01", "--format", "json"])
    cut = json.loads(out.output)["results"][0]["segments"][0]["cutoffs"][0]
    assert cut["ranking"] == "top 500 by ltv among in segment win_back" and cut["members"] <= 500
    out = CliRunner().invoke(cli, ["plan", *files, "--as-of", "2026-11-01", "--state", str(tmp_path / "s.db")])
    assert out.exit_code == 0, out.output
    assert "      ltv in top 10% among in segment active_members: cut-off ltv ≥ " in out.output
    assert "      top 500 by ltv among in segment win_back: cut-off ltv ≥ " in out.output


def test_the_plan_api_carries_the_cut_offs(tmp_path):
    import segdsl

    ws = segdsl.load_project(_project(tmp_path))
    preview = segdsl.preview_refresh(ws, as_of=DOC_AS_OF, state=str(tmp_path / "s.db"))
    assert preview.ok, preview.diagnostics
    by_name = {c.segment: c for c in preview.segments}
    sizes = segdsl.sizes(ws, ["best_actives"], as_of=DOC_AS_OF)
    assert by_name["best_actives"].cutoffs == sizes.sizes[0].cutoffs
    assert by_name["best_actives"].cutoffs[0].members == by_name["best_actives"].size
    assert by_name["lapsed"].cutoffs == ()


# ------------------------------------------------------------------ the formatter


def test_the_formatter_lays_out_rankings_and_keeps_their_comments():
    from segdsl.syntax.formatter import format_source

    src = (
        "segment  r {\n"
        "  where   ltv  in top 10%   among in   segment lapsed   # the best tenth\n"
        "     and top 500 by ltv among ( loyalty_tier = \"Gold\" or   loyalty_tier = \"Platinum\"  # metal\n"
        "     or loyalty_tier = \"Silver\" and email_opt_in )\n"
        "}\n"
    )
    out, diags = format_source(src)
    assert not diags and out is not None
    before, after = parse_source("<in>", src).module, parse_source("<out>", out).module
    assert after == before
    assert [c.text for c in after.comments] == ["# the best tenth", "# metal"]
    assert out == (
        "segment r {\n"
        "    where ltv in top 10% among in segment lapsed  # the best tenth\n"
        "      and top 500 by ltv\n"
        "              among (loyalty_tier = \"Gold\"\n"
        "                     or loyalty_tier = \"Platinum\"  # metal\n"
        "                     or loyalty_tier = \"Silver\" and email_opt_in)\n"
        "}\n"
    )
    assert format_source(out)[0] == out


def test_explain_judges_a_ranking_against_the_whole_population(tmp_path):
    import segdsl

    ws = segdsl.load_project(_project(tmp_path))
    sized = segdsl.sizes(ws, ["best_actives"], as_of=DOC_AS_OF)
    (cut,) = sized.sizes[0].cutoffs
    found = segdsl.members(ws, ["best_actives", "active_members"], as_of=DOC_AS_OF).members
    inside = found["best_actives"]
    below = next(k for k in found["active_members"] if k not in set(inside))  # ranked, under the cut-off
    dsn = f"sqlite:{tmp_path / 'crm.sqlite'}"
    assert segdsl.load_database(ws, dsn).ok
    for where in ({}, {"dsn": dsn}):
        trace = segdsl.explain_member(ws, "best_actives", inside[0], as_of=DOC_AS_OF, **where)
        assert trace.root.verdict == "true", where
        details = trace.root.details
        assert trace.root.kind == "ranking" and details["in_population"] is True
        assert (details["cut_off"], details["cut_off_rank"], details["ranked"]) == (cut.value, cut.rank, cut.n)
        under = segdsl.explain_member(ws, "best_actives", below, as_of=DOC_AS_OF, **where)
        assert under.root.verdict in ("false", "unknown") and under.root.details["in_population"] is True


def test_the_cli_explains_a_ranking(tmp_path):
    from click.testing import CliRunner

    from segdsl.cli.main import cli

    project = _project(tmp_path)
    both = project / "both.seg"
    both.write_text((project / "system.seg").read_text() + (project / "rank.seg").read_text())
    out = CliRunner().invoke(cli, ["explain", str(both), "--segment", "best_actives", "--key", "1003",
                                   "--as-of", "2026-11-01"])
    assert out.exit_code == 0, out.output
    assert "ltv in top 10% among in segment active_members" in out.output
    assert "· in the population; cut at " in out.output and " ranked)" in out.output
