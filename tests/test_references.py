"""Segments that refer to other segments are compiled once, however they are layered.

A chain of segments each testing the last twice doubles at every link if each reference
is expanded: before, 14 links compiled to 4.7 MB of SQL in 10 s and 25 never finished.
Here every stage — checking, the IR passes, equality, SQL, the row and columnar
evaluators — handles 30 links at once, and the members agree in memory and on Postgres,
DuckDB, SQLite and MariaDB, on the hospitality seeds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

from segdsl import ir
from segdsl.backends.memory.columnar import member_keys
from segdsl.backends.memory.profile import load_profile, load_source
from segdsl.backends.memory.row import compile_row, compile_source
from segdsl.backends.sql import compile_rule, compile_segment, condition
from segdsl.check.checker import check_modules
from segdsl.data.engines import connect, fetch_count, fetch_keys
from segdsl.data.loading import load_project
from segdsl.data.tables import load_table
from segdsl.lifecycle.refresh import definition_hash
from segdsl.check.traits import load_schema
from segdsl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "examples" / "hospitality" / "schema.toml"
DATA = ROOT / "seeds" / "hospitality"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
VERIFIED = ("postgres", "duckdb", "sqlite", "mysql")


@contextlib.contextmanager
def deadline(seconds: float, what: str):
    """Fail, rather than hang, when the block runs longer than ``seconds``: the code
    before this change never finished a chain of 25."""

    def expired(signum, frame):
        # No traceback: rendering the frames' arguments (rules whose repr doubles at
        # every link, before this change) would take longer than the test did.
        pytest.fail(f"{what} took longer than {seconds} s", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # an enclosing deadline goes on counting
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


@pytest.fixture(autouse=True)
def _bounded():
    """Every test here is bounded: before this change, walking these rules never ended."""
    with deadline(120, "the test"):
        yield


def chain_text(links: int) -> str:
    """``s0``, then each segment testing the one before twice; every other link tests it
    once negated, so membership in a CTE is read as both TRUE and FALSE."""
    lines = ["segment s0 { where ltv > 0 }"]
    for i in range(1, links):
        other = f"not in segment s{i - 1}" if i % 2 else f"in segment s{i - 1}"
        lines.append(f"segment s{i} {{ where (in segment s{i - 1} and ltv > {i * 2_000}) "
                     f"or ({other} and email_opt_in) }}")
    return "\n".join(lines) + "\n"


def schema_of():
    schema, problems = load_schema(SCHEMA_PATH)
    assert schema is not None, problems
    return schema


def check_text(text: str):
    schema = schema_of()
    parsed = parse_source("chain.seg", text)
    assert parsed.module is not None, parsed.diagnostics
    checked = check_modules([parsed.module], schema)
    assert checked.ok, checked.diagnostics
    return schema, checked.segments


def test_a_chain_of_30_checks_and_compiles_in_under_a_second_to_under_100_kb():
    text = chain_text(30)
    started = time.perf_counter()
    with deadline(10, "checking and compiling a chain of 30 segments"):
        schema, segments = check_text(text)
        compiled = {t: compile_segment(segments["s29"], schema, target=t, as_of=AS_OF) for t in VERIFIED}
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"check + compile for four targets took {elapsed:.2f} s"
    for target, result in compiled.items():
        assert result.ok, (target, result.diagnostics)
        assert len(result.sql) < 100_000, (target, len(result.sql))
        # One CTE per segment of the chain below the top, each written once.
        for i in range(30):
            written = len(re.findall(rf'[`"]segment_s{i}[`"] AS \(', result.sql))
            assert written == (i < 29), (target, i)


def chain_depth(links: int) -> int:
    """``ir.depth`` of the top of ``chain_text(links)``: or, and, the reference, and a
    ``not`` on every other link."""
    return 1 + sum(4 if i % 2 else 3 for i in range(1, links))


def test_every_pass_visits_each_segment_once():
    # 40 links: a few more and the checker's limit on nesting (E0109) applies.
    with deadline(10, "the IR passes over a chain of 40 segments"):
        _, a = check_text(chain_text(40))
        _, b = check_text(chain_text(40))
        ra, rb = a["s39"].rule, b["s39"].rule
        assert ra is not rb and ra == rb and hash(ra) == hash(rb)
        assert definition_hash(a["s39"]) == definition_hash(b["s39"])
        assert [f.name for f in ir.fields_used(ra)] == ["ltv", "email_opt_in"]
        assert ir.depth(ra) == chain_depth(40)
        assert sum(isinstance(n, ir.Member) for n in ir.walk(ra)) == 2 * 39
        assert len(repr(ra)) < 10_000
        reached, counts = ir.references(ra)
        assert [m.segment for m in reached] == [f"s{i}" for i in range(39)]
        assert set(counts.values()) == {2}
        # A different rule at the bottom of the chain makes the tops differ.
        _, c = check_text(chain_text(40).replace("ltv > 0 }", "ltv > 1 }"))
        assert c["s39"].rule != ra and definition_hash(c["s39"]) != definition_hash(a["s39"])


def expected_chain_member(links: int, ltv, opt) -> bool:
    """Membership of the top of ``chain_text(links)`` in Kleene logic, by hand."""

    def gt(bound):
        return None if ltv is None else ltv > bound

    def and_(a, b):
        return False if a is False or b is False else (None if a is None or b is None else True)

    def or_(a, b):
        return True if a is True or b is True else (None if a is None or b is None else False)

    member = gt(0) is True
    for i in range(1, links):
        other = not member if i % 2 else member
        member = or_(and_(member, gt(i * 2_000)), and_(other, opt)) is True
    return member


def test_the_row_evaluator_judges_each_segment_once_per_record():
    _, segments = check_text(chain_text(40))
    rule = segments["s39"].rule
    source, _ = compile_source(rule, AS_OF)
    assert len(source) < 50_000
    fn = compile_row(rule, AS_OF)
    records = [{"ltv": ltv, "email_opt_in": opt} for ltv in (None, 0, 50_000, 10**6) for opt in (None, False, True)]
    with deadline(5, "the row evaluator on a chain of 40 segments"):
        got = [fn(r) for r in records]
    assert got == [expected_chain_member(40, r["ltv"], r["email_opt_in"]) for r in records]
    assert any(got) and not all(got)


# ------------------------------------------------------------------------ engines


def _load(engine) -> None:
    schema = schema_of()
    tables = {schema.table: load_table(schema, DATA).records()}
    for source in schema.sources.values():
        tables[source.table] = load_source(source, DATA, missing_ok=True).records()
    load_project(engine, schema, tables)
    engine.commit()


@pytest.fixture(scope="module")
def loaded(pg_dsn, mysql_dsn):
    """The hospitality seeds on the four verified engines (Postgres in a schema of its own)."""
    ns = f"segdsl_refs_{uuid.uuid4().hex[:8]}"
    pg = connect(pg_dsn)
    pg.execute(f'CREATE SCHEMA "{ns}"')
    pg.execute(f'SET search_path TO "{ns}"')
    engines = {"postgres": pg, "duckdb": connect("duckdb::memory:"), "sqlite": connect("sqlite::memory:"),
               "mysql": connect(mysql_dsn)}
    try:
        for engine in engines.values():
            _load(engine)
        yield engines
    finally:
        pg.conn.rollback()
        pg.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        pg.commit()
        for engine in engines.values():
            engine.close()


def test_a_chain_of_30_has_the_same_members_in_memory_and_on_every_engine(loaded):
    schema, segments = check_text(chain_text(30))
    top = segments["s29"]
    table = load_profile(schema, DATA, [top.rule], AS_OF)
    expected = member_keys(top.rule, table, AS_OF)
    assert 0 < len(expected) < table.n_rows
    is_member = compile_row(top.rule, AS_OF)
    assert [r[schema.key.column] for r in table.records() if is_member(r)] == expected
    for target, engine in loaded.items():
        for form in ("select", "count"):
            compiled = compile_segment(top, schema, target=target, as_of=AS_OF, form=form,
                                       params=engine.binds_named_params)
            assert compiled.ok, compiled.diagnostics
            with deadline(60, f"the chain of 30 on {target}"):
                if form == "select":
                    assert fetch_keys(engine, compiled.sql, compiled.params) == expected, target
                else:
                    assert fetch_count(engine, compiled.sql, compiled.params) == len(expected), target


LAYERED = """
segment active { where status = "ACTIVE" }
segment valuable { where ltv >= 50_000 and in segment active }
segment reachable { where email_opt_in and (in segment active or in segment valuable) }
segment engaged { where (in segment valuable and not in segment reachable)
                     or (in segment reachable and engagement_score >= 40)
                     or (in segment active and last_booking_at within 90 days) }
segment offer { where (in segment engaged and in segment reachable) or (in segment valuable and not in segment engaged) }
static segment board { members [1001, 1002, 1003] }
segment vip { where in segment board or (in segment offer and in segment board) or ltv >= 400_000 }
"""


def test_a_lattice_of_segments_has_the_same_members_everywhere(loaded):
    """Segments reached through several chains (and a static one): one CTE each, the
    same members in memory and on every engine, as a SELECT and as a bare condition."""
    schema, segments = check_text(LAYERED)
    table = load_profile(schema, DATA, [s.rule for s in segments.values()], AS_OF)
    for name in ("engaged", "offer", "vip"):
        rule = segments[name].rule
        expected = member_keys(rule, table, AS_OF)
        assert 0 < len(expected) < table.n_rows, name
        for target, engine in loaded.items():
            compiled = compile_segment(segments[name], schema, target=target, as_of=AS_OF)
            assert compiled.ok, compiled.diagnostics
            assert fetch_keys(engine, compiled.sql) == expected, (name, target)


def test_a_bare_condition_reads_shared_segments_through_subqueries(loaded):
    """``condition`` has no FROM to join a CTE to: a shared segment is ``key IN (WITH ...)``,
    still two-valued, so TLP partitions the table (the oracles of test_cross_engine)."""
    from sqlglot import exp

    schema, segments = check_text("segment a { where status = \"ACTIVE\" }\n"
                                  "segment b { where (in segment a and email_opt_in) or (in segment a and phone is null) }\n")
    rule = ir.Or((ir.Member("b", segments["b"].rule), ir.And((ir.Not(ir.Member("b", segments["b"].rule)),
                                                               ir.IsNull(schema.fields["phone"])))))
    table = load_profile(schema, DATA, [rule], AS_OF)
    expected = member_keys(rule, table, AS_OF)
    for target, engine in loaded.items():
        p, _ = condition(rule, schema, target=target, as_of=AS_OF)
        assert " IN (WITH " in p.sql(target, identify=True).upper().replace("\n", " "), target

        def count(e) -> int:
            query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(schema.table, quoted=True)).where(e)
            return fetch_count(engine, query.sql(target, identify=True))

        n_true = count(p)
        n_false = count(exp.Not(this=exp.Paren(this=condition(rule, schema, target=target, as_of=AS_OF)[0])))
        n_null = count(exp.Is(this=exp.Paren(this=condition(rule, schema, target=target, as_of=AS_OF)[0]),
                              expression=exp.Null()))
        assert (n_true, n_false, n_null) == (len(expected), table.n_rows - len(expected), 0), target


def test_engines_that_copy_ctes_get_a_diagnostic_past_their_limit():
    """SQLite and MariaDB copy a CTE for every chain of references that reaches it: a
    lattice where each segment tests the two before it has Fibonacci-many chains."""
    lines = ["segment f0 { where ltv > 0 }", "segment f1 { where in segment f0 and email_opt_in }"]
    for i in range(2, 16):
        lines.append(f"segment f{i} {{ where (in segment f{i - 1} and ltv > {i}) "
                     f"or (in segment f{i - 2} and email_opt_in) or (in segment f{i - 1} and in segment f{i - 2}) }}")
    schema, segments = check_text("\n".join(lines))
    for target in ("sqlite", "mysql"):
        result = compile_segment(segments["f15"], schema, target=target, as_of=AS_OF)
        assert [d.code for d in result.diagnostics] == ["E0405"], target
        assert "chain of references" in result.diagnostics[0].help
        assert compile_segment(segments["f9"], schema, target=target, as_of=AS_OF).ok
    for target in ("postgres", "duckdb"):  # they compute a CTE once for all its references
        assert compile_segment(segments["f15"], schema, target=target, as_of=AS_OF).ok


def test_a_segment_referred_to_once_stays_inline(golden):
    """The query an engineer writes (one scan, as tests/test_pg_plans.py checks); a
    segment referred to twice becomes a CTE read by a LEFT JOIN."""
    schema, segments = check_text("segment a { where status = \"ACTIVE\" }\n"
                                  "segment b { where in segment a and email_opt_in }\n"
                                  "segment c { where (in segment b and ltv > 5) or (not in segment b and in segment a) }\n")
    once = compile_segment(segments["b"], schema, target="postgres", as_of=AS_OF).sql
    assert "WITH" in once and "segment_" not in once  # the profile, and `a` inline
    for target in VERIFIED:
        golden(f"sql/references/c.{target}.sql", compile_segment(segments["c"], schema, target=target, as_of=AS_OF).sql + "\n")


def test_depth_limits_count_a_cte_segment_as_one_level():
    """SQLite's parser limit applies to each query of the statement: a segment read from
    a CTE is one level where it is tested, however deep its own rule is."""
    deep = "email_opt_in"
    for i in range(20):
        deep = f"(ltv > {i} or (ltv < -{i} and {deep}))"
    schema, segments = check_text(f"segment deep {{ where {deep} }}\n"
                                  "segment two { where (in segment deep and ltv > 5) or (in segment deep and email_opt_in) }\n"
                                  "segment one { where in segment deep or email_opt_in }\n")
    assert ir.depth(segments["deep"].rule) > 24
    assert [d.code for d in compile_segment(segments["deep"], schema, target="sqlite").diagnostics] == ["E0402"]
    # Inline, the deep rule nests inside `one`; from a CTE it is reported at the reference.
    assert [d.code for d in compile_segment(segments["one"], schema, target="sqlite").diagnostics] == ["E0402"]
    two = compile_segment(segments["two"], schema, target="sqlite").diagnostics
    assert [d.code for d in two] == ["E0402"] and two[0].span.start > 0
    assert compile_rule(segments["two"].rule, schema, target="postgres").ok


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_segment_ctes_join_a_dotted_profile_table(tmp_path, engine):
    """With ``table = "crm.guests"`` the joins name the table as its FROM does: ``guests``
    where the engine has schemas, the one table ``crm.guests`` on SQLite."""
    import segdsl
    from load_projects import AS_OF as LOAD_AS_OF, make_project

    project = make_project(tmp_path / "p", prefix="crm")
    (project / "layered.seg").write_text(LAYERED, encoding="utf-8")
    dsn = f"{engine}:{tmp_path / ('profiles.' + engine)}"
    assert segdsl.load_database(project, dsn).ok

    def sizes(dsn=None) -> dict[str, int]:
        report = segdsl.sizes(segdsl.load_project(project), as_of=LOAD_AS_OF, dsn=dsn)
        assert report.ok, report.diagnostics
        return {s.segment.name: s.size for s in report.sizes}

    in_memory = sizes()
    assert sizes(dsn) == in_memory and in_memory["offer"] > 0
