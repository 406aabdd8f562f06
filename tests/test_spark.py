"""Spark is one more engine with the same answers: the example projects, the generated
rules of the cross-engine test, and adversarial text, on a local Spark session.

A Spark query costs a job, so the generated examples run in batches: each Hypothesis
example is a list of rules and tables, asked in one `UNION ALL` query. Every batch runs
twice, once under the settings segdsl pins (UTC, TIMESTAMP_LTZ) and once under
America/New_York with TIMESTAMP_NTZ, the session a Spark user may well have; the SQL
must not depend on either. (The rules compare with the row evaluator, which the
cross-engine test compares with every other engine.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from pathlib import Path

import attrs
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from segdsl import ir
from segdsl.backends.memory import compile_row
from segdsl.backends.sql import compile_rule, compile_segment
from segdsl.check.checker import check_modules
from segdsl.data.tables import Table
from segdsl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-01T00:00:00+00:00"

# A user's session: another zone, and TIMESTAMP meaning TIMESTAMP_NTZ.
USER_SESSION = {"spark.sql.session.timeZone": "America/New_York", "spark.sql.timestampType": "TIMESTAMP_NTZ"}
#: Tables of a few rows: one shuffle partition, no re-planning between stages.
FAST = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"}


def _spark():
    from segdsl.data import spark

    return spark._STARTED


@contextlib.contextmanager
def _settings(spark, values: dict[str, str]):
    """The session with ``values`` set, the previous values restored after."""
    before = {k: spark.conf.get(k) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            spark.conf.set(k, v)


def _digest(keys: list) -> list:
    return [len(keys), hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]]


# ------------------------------------------------------------- the examples


@pytest.mark.parametrize("domain", ["hospitality", "golf"])
def test_example_segments_have_the_recorded_members_on_spark(spark_warehouse, domain):
    """Every example segment, loaded with `db load` and asked on Spark, has the members
    recorded for every engine (tests/golden/members/examples.json), under segdsl's
    session and under a New York, TIMESTAMP_NTZ one."""
    import segdsl
    from segdsl.data.engines import connect

    recorded = json.loads((ROOT / "tests" / "golden" / "members" / "examples.json").read_text())[domain][AS_OF]
    ws = segdsl.load_project(ROOT / "examples" / domain)
    loaded = segdsl.load_database(ws, spark_warehouse)
    assert loaded.family == "spark" and loaded.rows[ws.schema.table] > 0
    # One query of every segment: a Spark query costs a job or more whatever its size.
    selects = []
    for n, s in enumerate(ws.segments.values()):
        compiled = compile_segment(s, ws.schema, target="spark", as_of=dt.datetime.fromisoformat(AS_OF))
        assert compiled.ok, compiled.diagnostics
        selects.append(f"SELECT {n} AS segment, `{ws.schema.key.column}` AS k FROM ({compiled.sql}) AS q{n}")
    with connect(spark_warehouse) as engine:
        for session in ({}, USER_SESSION):
            with _settings(_spark(), session):
                got = {s: [] for s in ws.segments}
                names = list(ws.segments)
                for n, key in engine.execute(_union(selects)):
                    got[names[n]].append(key)
                # Ordered as each segment's own ORDER BY lists them.
                assert {s: _digest(sorted(keys)) for s, keys in got.items()} == recorded, session


def test_size_on_spark_equals_the_size_in_memory(spark_warehouse):
    """`segdsl size --dsn spark://...` prints the sizes `segdsl size` computes in memory,
    the database clock (`--as-of db`) included."""
    from click.testing import CliRunner

    from segdsl.cli.main import cli

    project = ROOT / "examples" / "hospitality"
    files = [str(p) for p in sorted(project.glob("*.seg"))]
    runner = CliRunner()
    load = runner.invoke(cli, ["db", "load", str(project), "--dsn", spark_warehouse])
    assert load.exit_code == 0, load.output
    assert "on spark" in load.output
    memory = runner.invoke(cli, ["size", *files, "--as-of", "2026-11-01"])
    spark = runner.invoke(cli, ["size", *files, "--as-of", "2026-11-01", "--dsn", spark_warehouse])
    assert memory.exit_code == 0 and spark.exit_code == 0, (memory.output, spark.output)
    table = lambda out: [line for line in out.splitlines() if "%" in line]  # noqa: E731
    assert table(spark.output) == table(memory.output) and len(table(memory.output)) > 10


def test_the_database_clock_on_spark_is_utc(spark_warehouse):
    """Rules compiled against the database clock (`compile --as-of db`) have on Spark
    the members of the same rules pinned at today's UTC date, in a session whose zone
    is far from UTC. (Event sequences and hour windows read the clock's instant, not
    its date: they are left out.)"""
    import segdsl
    from segdsl.data.engines import connect, fetch_keys

    ws = segdsl.load_project(ROOT / "examples" / "golf")
    segdsl.load_database(ws, spark_warehouse)
    with connect(spark_warehouse) as engine, _settings(_spark(), {**USER_SESSION,
                                                                  "spark.sql.session.timeZone": "Pacific/Kiritimati"}):
        for s in ws.segments.values():
            clock = compile_segment(s, ws.schema, target="spark", as_of=None)
            assert clock.ok, clock.diagnostics
            today = dt.datetime.combine(dt.datetime.now(dt.timezone.utc).date(), dt.time(), dt.timezone.utc)
            pinned = compile_segment(s, ws.schema, target="spark", as_of=today)
            instants = ir.sequences(s.rule) or any(n.__class__ is ir.InstantCmp for n in ir.walk(s.rule))
            if "CURRENT_TIMESTAMP" in clock.sql and not instants:
                assert fetch_keys(engine, clock.sql) == fetch_keys(engine, pinned.sql), s.name


def test_every_command_gives_the_same_answer_on_spark(spark_warehouse, tmp_path):
    """show, refresh, plan, sync and journey run on Spark's tables say what they say on
    the CSV data in memory, each with a state store of its own."""
    from click.testing import CliRunner

    from example_projects import copy_example
    from segdsl.cli.main import cli

    project = copy_example(tmp_path / "hospitality")
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli, [*args], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    run("db", "load", str(project), "--dsn", spark_warehouse)
    segments, journeys = str(project / "segments.seg"), str(project / "journeys.seg")
    for where in ("memory", "spark"):
        dsn = ["--dsn", spark_warehouse] if where == "spark" else []
        state = ["--state", str(tmp_path / f"{where}.db")]
        show = run("show", segments, "--segment", "high_value", "--as-of", "2026-11-01", "--format", "csv",
                   "--columns", "ltv,last_booking_at,email", *dsn)
        refresh = json.loads(run("refresh", segments, "--as-of", "2026-11-01", "--format", "json", *state, *dsn))
        plan = json.loads(run("plan", segments, "--as-of", "2026-11-09", "--format", "json", *state, *dsn))
        sync = run("sync", segments, "--out", str(tmp_path / f"sync-{where}"), "--format", "csv", *state, *dsn)
        journey = run("journey", "run", journeys, "--journey", "win_back_offer", "--as-of", "2026-11-01", "--format", "json",
                      *dsn)
        got = {"show": show, "refresh": refresh["segments"], "plan": plan, "sync": sync, "journey": json.loads(journey),
               # The files sync wrote, but for the instant it wrote them and its lock.
               "files": {p.relative_to(tmp_path / f"sync-{where}").as_posix():
                         [line for line in p.read_text().splitlines() if '"synced_at"' not in line]
                         for p in sorted((tmp_path / f"sync-{where}").rglob("*"))
                         if p.is_file() and not p.name.startswith(".")}}
        if where == "memory":
            expected = got
            assert show.count("\n") > 100 and len(got["files"]) > 1
        else:
            for part in expected:
                assert _same(got[part], expected[part], str(tmp_path)), part


def _same(a, b, tmp: str) -> bool:
    """Equal, once the paths of the two runs' own files are taken out."""
    text = lambda v: json.dumps(v, sort_keys=True) if not isinstance(v, str) else v  # noqa: E731
    clean = lambda v: text(v).replace("memory.db", "X").replace("spark.db", "X").replace(  # noqa: E731
        "sync-memory", "X").replace("sync-spark", "X")
    return clean(a) == clean(b)


# ------------------------------------------------- generated rules, in batches

from test_cross_engine import AS_OF as PINNED_AS_OF  # noqa: E402
from test_cross_engine import SCHEMA as PROPERTY_SCHEMA  # noqa: E402
from test_cross_engine import BASE_RULES, KEYS, RULES, SPLITS, TEXT_SCHEMA, keyed_rows, module_text  # noqa: E402

#: Examples asked in one query, and how many in all (a Spark query costs a job).
BATCH = 10
EXAMPLES = 200
EXAMPLE = st.tuples(keyed_rows(), BASE_RULES, RULES,
                    st.one_of(st.sampled_from(PINNED_AS_OF), st.datetimes(timezones=st.just(dt.timezone.utc))),
                    SPLITS)


#: A number for each batch, in its views' names: a view is never replaced by one of
#: another shape.
_BATCHES = iter(range(10**9))


def _temp_view(spark, schema, records) -> None:
    """``records`` as the temporary view named by ``schema.table``, stored as `db load`
    stores them."""
    import pyarrow as pa

    from segdsl.backends.sql.targets import family_target
    from segdsl.data.connection import arrow_batches, arrow_schema

    shape = arrow_schema(schema)
    batches = list(arrow_batches(family_target("spark"), schema, records, schema.table))
    # No rows: a column of one empty chunk (pyspark cannot take a column of no chunks).
    arrow = pa.Table.from_batches(batches, shape) if batches else shape.empty_table()
    spark.createDataFrame(arrow).createOrReplaceTempView(schema.table)


def _union(selects: list[str]) -> str:
    return "\nUNION ALL\n".join(selects)


def _branch(compiled, n: int, holds: bool, args: dict) -> str:
    """Example ``n``'s rule (``holds``) or its negation as a branch of a batch's union,
    its keys as text (one union has examples keyed by int and by text); its parameters
    renamed into ``args`` so that no two examples share a name."""
    sql = compiled.sql
    for name in sorted(compiled.params, key=len, reverse=True):  # p10 before p1
        sql = sql.replace(f":{name}", f":e{n}{holds:d}_{name}")
        args[f"e{n}{holds:d}_{name}"] = compiled.params[name]
    return f"SELECT {n} AS ex, {holds} AS holds, CAST(`id` AS STRING) AS k FROM ({sql}) AS q{n}{holds:d}"


def _add_both_ways(n: int, rule, schema, as_of, params: bool, records, table, state) -> None:
    """Example ``n``'s rule and its negation as two branches of the batch's union
    (``state``: its queries, their parameters and the keys memory expects of each), the
    keys as text: one union has examples keyed by int and by text. ``table``: the whole
    table, which a ranking needs in memory."""
    queries, args, expected = state
    for holds, tested in ((True, rule), (False, ir.Not(rule))):
        judge = compile_row(tested, as_of, table)
        expected[n, holds] = sorted(str(r["id"]) for r in records if judge(r))
        compiled = compile_rule(tested, schema, target="spark", as_of=as_of, params=params, pretty=False)
        assert compiled.ok, compiled.diagnostics
        queries.append(_branch(compiled, n, holds, args))
        note(f"{n} {holds}: {compiled.sql} {compiled.params}")


def _check_batch(spark, queries: list[str], args: dict, expected: dict) -> None:
    """The batch's union, under segdsl's session and a user's, lists for each (example,
    holds) exactly the keys ``expected``."""
    for session in ({}, USER_SESSION):
        with _settings(spark, {**session, **FAST}):
            got = {k: [] for k in expected}
            for ex, holds, key in spark.sql(_union(queries), args=args or None).collect():
                got[ex, holds].append(key)
            assert {k: sorted(keys) for k, keys in got.items()} == expected, session


@settings(max_examples=max(EXAMPLES // BATCH, 1))
@given(batch=st.lists(EXAMPLE, min_size=BATCH, max_size=BATCH), params=st.booleans())
def test_spark_returns_the_same_members_as_memory(spark_dsn, batch, params):
    """Each rule's members, and (TLP) the members of its negation, are the row
    evaluator's TRUE and FALSE rows: the rest are the rows it judges unknown."""
    from segdsl.data.engines import connect

    spark = connect(spark_dsn).conn.spark
    queries, expected, args, batch_number = [], {}, {}, next(_BATCHES)
    batch_state = (queries, args, expected)
    for n, ((schema, records), base, main, as_of, splits) in enumerate(batch):
        text = module_text(base, main, schema is TEXT_SCHEMA, splits)
        schema = attrs.evolve(schema, table=f"spark_property_{batch_number}_{n}")
        parsed = parse_source("prop.seg", text)
        checked = check_modules([parsed.module], schema)
        assert not [d for d in checked.diagnostics if d.is_error], (text, checked.diagnostics)
        rule = checked.segments["main"].rule
        table = Table.from_records(schema, records)
        _temp_view(spark, schema, records)
        _add_both_ways(n, rule, schema, as_of, params, records, table, batch_state)
        note(f"{n}: {text}")
    _check_batch(spark, queries, args, expected)
    for n in range(len(batch)):
        spark.catalog.dropTempView(f"spark_property_{batch_number}_{n}")


def test_tag_lists_by_hand(spark_dsn):
    """`has`, `has any` and `has all`, and their negations, on lists where they differ
    (one wanted tag of two, none, all, an empty list, NULL): Spark's ARRAYS_OVERLAP and
    FORALL(..., ARRAY_CONTAINS) give the evaluators' members."""
    from segdsl.data.engines import connect

    spark = connect(spark_dsn).conn.spark
    schema = attrs.evolve(PROPERTY_SCHEMA, table="spark_tags_by_hand")
    lists = [None, frozenset(), frozenset({"spa"}), frozenset({"spa", "golf"}), frozenset({"golf", "b_"}),
             frozenset({"Spa"})]
    empty = {f.column: None for f in schema.stored_fields()}
    records = [{**empty, "id": n + 1, "tags": tags} for n, tags in enumerate(lists)]
    _temp_view(spark, schema, records)
    table = Table.from_records(schema, records)
    queries, expected, args = [], {}, {}
    rules = ['tags has "spa"', 'tags has any ["spa", "b_"]', 'tags has all ["spa", "golf"]', 'tags has all ["golf"]']
    for n, text in enumerate(rules):
        checked = check_modules([parse_source("t.seg", f"segment main {{ where {text} }}").module], schema)
        rule = checked.segments["main"].rule
        for holds, tested in ((True, rule), (False, ir.Not(rule))):
            judge = compile_row(tested, PINNED_AS_OF[0], table)
            expected[n, holds] = sorted(str(r["id"]) for r in records if judge(r))
            compiled = compile_rule(tested, schema, target="spark", as_of=None, params=n % 2 == 0, pretty=False)
            queries.append(_branch(compiled, n, holds, args))
    assert expected[2, True] == ["4"] and expected[2, False] == ["2", "3", "5", "6"]  # has all is not has any
    _check_batch(spark, queries, args, expected)


def test_text_keys_are_listed_in_code_point_order(spark_dsn):
    from segdsl.data.engines import connect, fetch_keys

    engine = connect(spark_dsn)
    schema = attrs.evolve(TEXT_SCHEMA, table="spark_key_order")
    _temp_view(engine.conn.spark, schema, [{"id": k} for k in KEYS])
    rule = check_modules([parse_source("k.seg", "segment everyone { where i is null }").module], schema).segments["everyone"].rule
    compiled = compile_rule(rule, schema, target="spark", as_of=None)
    assert fetch_keys(engine, compiled.sql) == sorted(KEYS)


# ---------------------------------------------------------- adversarial text

from test_injection import ADVERSARIAL, SCHEMA as PROBE_SCHEMA, _rows, _rules  # noqa: E402


def test_adversarial_text_means_itself_under_either_escaping_setting(spark_dsn):
    """Every adversarial string, compared, listed and matched as a literal, means its
    text with spark.sql.parser.escapedStringLiterals off and on; bound as a parameter it
    does in the sessions segdsl runs (the setting off: a session with it on is refused).
    Each rule is a column of one query over the table of those strings."""
    from sqlglot import exp

    from segdsl.backends.sql import condition
    from segdsl.data.engines import connect

    spark = connect(spark_dsn).conn.spark
    schema = attrs.evolve(PROBE_SCHEMA, table="spark_injection_probe")
    _temp_view(spark, schema, _rows(ADVERSARIAL))
    for escaped, params in (("false", False), ("false", True), ("true", False)):
        columns, expected, args = [exp.column("id", quoted=True)], [], {}
        for i, value in enumerate(ADVERSARIAL):
            for j, (rule, rows) in enumerate(_rules(value, ADVERSARIAL)):
                test, bound = condition(rule, schema, target="spark", params=params)
                for marker in test.find_all(exp.Placeholder):  # each rule's own parameter names
                    args[f"q{i}_{j}_{marker.name}"] = bound[marker.name]
                    marker.set("this", f"q{i}_{j}_{marker.name}")
                columns.append(exp.Coalesce(this=test, expressions=[exp.false()]).as_(f"r{i}_{j}"))
                expected.append(((value, j), rows))
        query = exp.select(*columns).from_(exp.to_table(schema.table, quoted=True)).sql("spark", identify=True)
        with _settings(spark, {"spark.sql.parser.escapedStringLiterals": escaped, **FAST}):
            result = sorted(spark.sql(query, args=args or None).collect())
        wrong = [what for c, (what, rows) in enumerate(expected, 1)
                 if [row[0] for row in result if row[c]] != rows]
        assert not wrong, (escaped, params, wrong[:10])


def test_a_session_with_other_settings_is_refused(spark_dsn):
    from segdsl.data.engines import EngineError, connect
    from segdsl.data.spark import check_session

    spark = connect(spark_dsn).conn.spark
    check_session(spark)
    for key, value in (("spark.sql.parser.escapedStringLiterals", "true"), *USER_SESSION.items()):
        with _settings(spark, {key: value}), pytest.raises(EngineError, match=f"{key}={value}.*spark.conf.set"):
            check_session(spark)
    # A session segdsl started gets its settings back on the next connection.
    with _settings(spark, USER_SESSION):
        connect(spark_dsn)
        assert spark.conf.get("spark.sql.timestampType") == "TIMESTAMP_LTZ"


@pytest.mark.parametrize("dsn, message", [
    ("spark://nowhere!", "names no Spark master"),
    ("spark://local[2]?warehous=x", "unknown option `warehous`"),
    ("sc://", "names no Spark Connect server"),
])
def test_a_wrong_spark_dsn_says_how_to_write_one(dsn, message):
    from segdsl.data.engines import EngineError
    from segdsl.data.spark import parse_dsn

    with pytest.raises(EngineError, match=message):
        parse_dsn(dsn)


# ---------------------------------------------------------- event sequences

from test_sequences import AS_OFS as SEQUENCE_AS_OFS  # noqa: E402
from test_sequences import BASE as SEQUENCE_BASE  # noqa: E402
from test_sequences import MAIN as SEQUENCE_MAIN  # noqa: E402
from test_sequences import SCHEMAS as SEQUENCE_SCHEMAS  # noqa: E402
from test_sequences import _profile, _schema, histories  # noqa: E402

SEQUENCE_EXAMPLE = st.tuples(histories(), SEQUENCE_BASE, SEQUENCE_MAIN, st.sampled_from(SEQUENCE_AS_OFS))


@settings(max_examples=max(EXAMPLES // BATCH // 4, 1))
@given(batch=st.lists(SEQUENCE_EXAMPLE, min_size=BATCH, max_size=BATCH), params=st.booleans())
def test_spark_event_sequences_agree_with_memory(spark_dsn, batch, params):
    """Generated event histories (ties, NULL times, events after the as-of, both ends
    of the calendar, empty histories) and rules with sequences: Spark's members, and
    its negation's, are the evaluators' (which tests/test_sequences.py checks against
    the definition, event by event), in both sessions."""
    from segdsl.data.engines import connect

    spark = connect(spark_dsn).conn.spark
    queries, expected, args, batch_number = [], {}, {}, next(_BATCHES)
    batch_state = (queries, args, expected)
    views = []
    for n, ((schema, entity_rows, event_rows, visit_rows), base, main, as_of) in enumerate(batch):
        key_type = next(k for k, s in SEQUENCE_SCHEMAS.items() if s is schema)
        schema = _schema(f"spark_seq_{batch_number}_{n}", key_type)  # each example's own tables
        views += [schema.table, schema.sources["events"].table, schema.sources["visits"].table]
        text = f"segment base {{ where {base} }}\nsegment main {{ where {main} }}\n"
        checked = check_modules([parse_source("seq.seg", text).module], schema)
        assert not [d for d in checked.diagnostics if d.is_error], (text, checked.diagnostics)
        rule = checked.segments["main"].rule
        records = _profile(schema, [rule], entity_rows, event_rows, visit_rows, as_of).records()
        _temp_view(spark, schema, entity_rows)
        _temp_view(spark, schema.sources["events"], event_rows)
        _temp_view(spark, schema.sources["visits"], visit_rows)
        _add_both_ways(n, rule, schema, as_of, params, records, None, batch_state)
        note(f"{n}: {text}")
    _check_batch(spark, queries, args, expected)
    for view in views:
        spark.catalog.dropTempView(view)


def test_a_condition_in_parentheses_after_a_table_is_a_where_clause_on_spark(spark_dsn):
    """Spark's keywords are not reserved: `FROM t WHERE (FALSE)` reads as `t` aliased
    `WHERE` with its columns renamed (an error here; with a one-column table, every row
    unfiltered). A rule that folds to a constant (no window has closed at the first
    instant of the calendar) compiles to a WHERE Spark reads as a condition."""
    from segdsl.data.engines import connect

    spark = connect(spark_dsn).conn.spark
    schema = _schema("spark_where", "int")
    text = ("segment base { where (events) not followed by (events) within 1 week }\n"
            "segment main { where in segment base }\n")
    rule = check_modules([parse_source("where.seg", text).module], schema).segments["main"].rule
    rows = [{"id": 1, "tier": "a"}, {"id": 2, "tier": None}]
    _temp_view(spark, schema, rows)
    _temp_view(spark, schema.sources["events"], [])
    _temp_view(spark, schema.sources["visits"], [])
    try:
        start = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
        for tested, members in ((rule, []), (ir.Not(rule), sorted(str(r["id"]) for r in rows))):
            compiled = compile_rule(tested, schema, target="spark", as_of=start)
            assert compiled.ok, compiled.diagnostics
            got = [str(r[0]) for r in spark.sql(compiled.sql, args=compiled.params or None).collect()]
            assert got == members, compiled.sql
    finally:
        for view in (schema.table, schema.sources["events"].table, schema.sources["visits"].table):
            spark.catalog.dropTempView(view)


# ------------------------------------------------------------- Spark Connect

#: Segments `size` and `show` ask through Spark Connect: traits, a reference, a model
#: score, tags, text, a static list.
CONNECT_SEGMENTS = ["high_value", "win_back", "likely_to_churn", "spa_lovers", "gmail_gold", "board_members"]


@contextlib.contextmanager
def _connect_server():
    """A Spark Connect server in the test session's JVM, on a free port: its sessions
    are new sessions of the running Spark (no second JVM to start). Yields its URL."""
    spark = _spark()
    jvm, context = spark._jvm, spark._jsc.sc()
    context.conf().set("spark.connect.grpc.binding.port", "0")  # read when the service starts: any free port
    jvm.org.apache.spark.sql.connect.service.SparkConnectService.start(context)
    service = jvm.java.lang.Class.forName("org.apache.spark.sql.connect.service.SparkConnectService$") \
        .getField("MODULE$").get(None)
    try:
        yield f"sc://127.0.0.1:{service.localPort()}"
    finally:
        service.stop(jvm.scala.Option.empty(), jvm.scala.Option.empty())


def test_spark_connect_gives_the_answers_of_memory(spark_dsn, tmp_path):
    """`segdsl db load`, `size` and `show` with an `sc://` DSN, each in a process of its
    own as a user runs them (pyspark runs one kind of session per process), through a
    Spark Connect server: the sizes and members `size` and `show` give in memory, and
    nothing on stderr."""
    import subprocess
    import sys

    from click.testing import CliRunner

    from segdsl.cli.main import cli

    project = ROOT / "examples" / "hospitality"
    segments = str(project / "segments.seg")
    chosen = [arg for name in CONNECT_SEGMENTS for arg in ("--segment", name)]
    show = ["show", segments, "--segment", "high_value", "--as-of", "2026-11-01", "--format", "csv", "--columns",
            "ltv,last_booking_at,email,interests"]
    size = ["size", segments, *chosen, "--as-of", "2026-11-01"]

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "segdsl", *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and not done.stderr, (args, done.stdout, done.stderr)
        return done.stdout

    with _connect_server() as server:
        dsn = ["--dsn", f"{server}?warehouse={tmp_path / 'warehouse'}"]
        assert "on spark" in run("db", "load", str(project), *dsn)
        remote = {"size": run(*size, *dsn), "show": run(*show, *dsn)}
    memory = {what: CliRunner().invoke(cli, args, catch_exceptions=False).output
              for what, args in (("size", size), ("show", show))}
    table = lambda out: [line for line in out.splitlines() if "%" in line]  # noqa: E731
    assert table(remote["size"]) == table(memory["size"]) and len(table(memory["size"])) == len(CONNECT_SEGMENTS)
    assert remote["show"] == memory["show"] and memory["show"].count("\n") > 100


def test_a_spark_connect_dsn_beside_a_session_of_this_process_is_refused(spark_dsn):
    """pyspark runs classic sessions or Spark Connect ones in a process, not both: an
    `sc://` DSN in a process that runs a session of its own is refused, and a server
    that does not answer is an error at once, not after the client's ten minutes of
    retries."""
    import socket
    import time

    from segdsl.data.engines import EngineError, connect
    from segdsl.data.spark import reach_server

    with pytest.raises(EngineError, match="already runs a Spark session of its own.*spark://active"):
        connect("sc://127.0.0.1:15002")
    with socket.socket() as closed:  # a port bound, not listening: the connection is refused
        closed.bind(("127.0.0.1", 0))
        started = time.monotonic()
        with pytest.raises(EngineError, match="no Spark Connect server answers at 127.0.0.1:"):
            reach_server(f"sc://127.0.0.1:{closed.getsockname()[1]}")
        assert time.monotonic() - started < 5


# ---------------------------------------------------------- the loaded files


def test_loaded_files_read_back_as_the_values_loaded(spark_warehouse, monkeypatch):
    """`db load` writes a table as Parquet files of a batch of rows each (three rows a
    batch here), which Spark reads back as the values loaded: the calendar's first and
    last days and instants, dates before the Gregorian reform, 64-bit integers, exact
    decimals, tag lists, NULLs; also in a session that reads files Spark did not write
    in its old hybrid calendar (LEGACY). A load refused for a value in its third batch
    leaves the previous load, and none of its own files. A table loaded with no rows has
    its columns."""
    from decimal import Decimal

    from segdsl.data import connection
    from segdsl.data.engines import connect
    from segdsl.data.loading import load_project
    from segdsl.data.spark import parse_dsn, read_records
    from segdsl.data.tables import DataError

    monkeypatch.setattr(connection, "ARROW_BATCH_ROWS", 3)
    schema = attrs.evolve(PROPERTY_SCHEMA, table="spark_round_trip")
    utc = dt.timezone.utc
    empty = {f.column: None for f in schema.stored_fields()}
    records = [
        {**empty, "id": 1},
        {"id": 2, "i": -(2**63), "money": Decimal("-9999999999.99"), "f": -1e10, "t": "", "e": "Gold", "b": True,
         "joined": dt.date(1, 1, 1), "ts": dt.datetime(1, 1, 1, tzinfo=utc), "tags": frozenset(),
         "money4": Decimal("-99999999999.9999"), "ts2": dt.datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=utc)},
        {"id": 3, "i": 2**63 - 1, "money": Decimal("9999999999.99"), "f": 2.5, "t": "c\\d '\"é\U0001f600",
         "e": "gold", "b": False, "joined": dt.date(9999, 12, 31),
         "ts": dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=utc), "tags": frozenset({"spa", "b_"}),
         "money4": Decimal("0.0001"), "ts2": dt.datetime(1582, 10, 4, 12, tzinfo=utc)},
        {**empty, "id": 4, "joined": dt.date(1500, 3, 1), "ts": dt.datetime(1899, 12, 31, 23, 59, tzinfo=utc),
         "money": Decimal("-0.13"), "tags": frozenset({"Spa"})},
        *({**empty, "id": n, "i": n, "joined": dt.date(2024, 2, 29)} for n in range(5, 8)),
    ]
    expected = Table.from_records(schema, records).records()
    columns = [f.column for f in schema.stored_fields()]
    engine = connect(spark_warehouse)
    load_project(engine, schema, {schema.table: records})
    warehouse = parse_dsn(spark_warehouse).warehouse
    loaded = read_records(warehouse)[schema.table]
    folder = Path(loaded["tables"][schema.table].removeprefix("file://"))
    assert len(list(folder.glob("*.parquet"))) == 3  # 7 rows, 3 a file
    before_midnight_utc = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with pytest.raises(DataError, match="row 8.*`ts`.*outside the years 1-9999"):
        load_project(engine, schema, {schema.table: [*records, {**empty, "id": 8, "ts": before_midnight_utc}]})
    assert read_records(warehouse)[schema.table] == loaded
    assert [p.name for p in folder.parent.parent.iterdir()] == [loaded["load_id"]]
    query = f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM `{schema.table}` ORDER BY `id`"
    tags = lambda v: frozenset(v) if isinstance(v, list) else v  # noqa: E731 - Spark's arrays are lists
    for session in ({}, {"spark.sql.parquet.datetimeRebaseModeInRead": "LEGACY"}):
        with _settings(_spark(), session):
            got = [dict(zip(columns, map(tags, row))) for row in engine.execute(query)]
        assert got == expected, session
    load_project(engine, schema, {schema.table: []})
    assert engine.execute(query) == [] and _spark().table(schema.table).columns == columns


# ------------------------------------------------------------- kill -9


def test_a_killed_spark_load_leaves_the_previous_load_whole(spark_warehouse):
    """`segdsl db load` on Spark killed with SIGKILL while it writes its tables: the
    project's load record still names the previous load, whose sizes are unchanged; the
    next load succeeds and removes what the killed one wrote."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import segdsl
    from segdsl.data.spark import parse_dsn, read_records

    ws = segdsl.load_project(ROOT / "examples" / "golf")
    segdsl.load_database(ws, spark_warehouse)
    warehouse = parse_dsn(spark_warehouse).warehouse
    before = read_records(warehouse)[ws.schema.table]
    sizes = segdsl.sizes(ws, as_of="2026-11-01", dsn=spark_warehouse).counts
    data = warehouse / "segdsl_data" / ws.schema.table
    proc = subprocess.Popen([sys.executable, "-m", "segdsl", "db", "load", str(ROOT / "examples" / "golf"),
                             "--dsn", spark_warehouse], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            # Killed once the new load has written a table's files, before its record.
            new = [p for p in data.iterdir() if p.name != before["load_id"]] if data.is_dir() else []
            if any(any(p.glob("*/*.parquet")) for p in new):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        assert proc.wait(60) == -signal.SIGKILL, "the load ended before it could be killed"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert read_records(warehouse)[ws.schema.table] == before
    assert segdsl.sizes(ws, as_of="2026-11-01", dsn=spark_warehouse).counts == sizes
    killed = {p.name for p in data.iterdir()} - {before["load_id"]}
    assert killed
    segdsl.load_database(ws, spark_warehouse)
    after = read_records(warehouse)[ws.schema.table]
    assert after["load_id"] != before["load_id"]
    assert {p.name for p in data.iterdir()} == {before["load_id"], after["load_id"]}
    assert segdsl.sizes(ws, as_of="2026-11-01", dsn=spark_warehouse).counts == sizes
