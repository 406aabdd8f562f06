"""Postgres plans: every example segment's compiled SQL selects the same members as the
query an engineer would write by hand for it (``tests/golden/handwritten/*.sql``), and
Postgres plans both the same way — same node types, joins, relations and indexes, not
costs or row estimates — on the committed seeds, with the indexes a user would create.

Each domain loads into a schema of its own (the two share table names), dropped after.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DOMAINS = ("hospitality", "golf")

#: Indexes a user would create for these audiences: per entity on the time of the
#: events, and on the time columns the traits filter their rows by.
INDEXES = {
    "hospitality": [
        ("bookings_guest_checked_in", "bookings", ("guest_id", "checked_in_at")),
        ("bookings_checked_in_at", "bookings", ("checked_in_at",)),
        ("consents_guest_recorded", "consents", ("guest_id", "recorded_at")),
        ("model_scores_guest_scored", "model_scores", ("guest_id", "scored_at")),
    ],
    "golf": [
        ("tee_times_booked_at", "tee_times", ("booked_at",)),
        ("tee_times_member_starts", "tee_times", ("member_id", "starts_at")),
        ("tournament_entries_played_on", "tournament_entries", ("played_on",)),
        ("dues_payments_due_on", "dues_payments", ("due_on",)),
        ("model_scores_member_scored", "model_scores", ("member_id", "scored_at")),
    ],
}

#: Segments whose compiled plan must use one of these indexes: a trait counts the rows
#: of a short time window, which the scan filters by. (The 365-day windows cover most
#: of the seeds' rows, so a sequential scan is the right plan for them, by hand too.)
INDEX_USE = {
    ("golf", "active_golfers_low_handicap"): "tee_times_booked_at",
}

#: The same for a trait of the example schema no example segment reads, with the query
#: an engineer would write for the rule by hand.
INDEX_RULES = [
    ("hospitality", "bookings_30d >= 1", "bookings_checked_in_at", """
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
    AND checked_in_at >= TIMESTAMPTZ '2026-10-02 00:00:00+00'
    AND checked_in_at < TIMESTAMPTZ '2026-11-02 00:00:00+00'
  GROUP BY guest_id
) b ON b.guest_id = g.guest_id
ORDER BY g.guest_id"""),
]

#: Plan fields that describe the plan's shape; costs, row counts, aliases and filter
#: texts are left out (the hand-written SQL names things its own way).
SHAPE_KEYS = ("Node Type", "Join Type", "Strategy", "Relation Name", "Index Name", "Scan Direction",
              "Parent Relationship")


def handwritten(domain: str) -> dict[str, str]:
    """``-- segment: name`` sections of ``tests/golden/handwritten/<domain>.sql``."""
    text = (GOLDEN / "handwritten" / f"{domain}.sql").read_text(encoding="utf-8")
    parts = re.split(r"^-- segment: (\w+)\n", text, flags=re.M)
    return {name: sql.strip().rstrip(";") for name, sql in zip(parts[1::2], parts[2::2])}


def segments(domain: str):
    from segdsl.project.workspace import load_workspace

    ws = load_workspace(sorted((ROOT / "examples" / domain).glob("*.seg")))
    assert ws.ok, ws.diagnostics
    return ws.schema, ws.segments


def compiled(segment, schema, form: str = "select") -> str:
    from segdsl.backends.sql import compile_segment

    result = compile_segment(segment, schema, target="postgres", as_of=AS_OF, form=form)
    assert result.ok, result.diagnostics
    return result.sql


def plan_shape(engine, sql: str):
    """The plan of ``sql`` as nested tuples of its shape fields."""
    (plan,) = engine.execute("EXPLAIN (FORMAT JSON) " + sql)[0][0]

    def shape(node: dict):
        if node["Node Type"] == "Subquery Scan" and "Filter" not in node:
            # Only projects its subquery's columns: present when the subquery also
            # outputs an aggregate no one above reads (`SELECT k, max(x) ... HAVING`), so
            # it says how the SELECT list was written, not how the data is read.
            (child,) = node["Plans"]
            return shape({**child, "Parent Relationship": node.get("Parent Relationship")})
        own = tuple((k, node[k]) for k in SHAPE_KEYS if k in node and node[k] is not None)
        return own, tuple(shape(child) for child in node.get("Plans", ()))

    return shape(plan["Plan"])


def plan_cost(engine, sql: str) -> float:
    """The planner's estimated total cost of ``sql``."""
    (plan,) = engine.execute("EXPLAIN (FORMAT JSON) " + sql)[0][0]
    return plan["Plan"]["Total Cost"]


def renaming(a, b) -> dict[str, str] | None:
    """The one-to-one renaming of relations that turns shape ``a`` into shape ``b``, if
    the two differ in nothing else (``{}`` when they are equal); else None."""
    mapping: dict[str, str] = {}

    def walk(x, y) -> bool:
        (own_x, kids_x), (own_y, kids_y) = x, y
        if len(own_x) != len(own_y) or len(kids_x) != len(kids_y):
            return False
        for (kx, vx), (ky, vy) in zip(own_x, own_y):
            if kx != ky:
                return False
            if kx == "Relation Name":
                if mapping.setdefault(vx, vy) != vy:
                    return False
            elif vx != vy:
                return False
        return all(walk(cx, cy) for cx, cy in zip(kids_x, kids_y))

    if not walk(a, b) or len(set(mapping.values())) != len(mapping):
        return None
    return {k: v for k, v in mapping.items() if k != v}


def render(shape, depth: int = 0) -> str:
    own, children = shape
    line = "  " * depth + " ".join(str(v) for _, v in own)
    return "\n".join([line, *(render(c, depth + 1) for c in children)])


def index_names(shape) -> set[str]:
    own, children = shape
    names = {v for k, v in own if k == "Index Name"}
    for c in children:
        names |= index_names(c)
    return names


def load_seeds(engine, domain: str) -> None:
    """The domain's committed seeds, loaded as `segdsl db load` does, with the user's
    indexes, analysed."""
    from segdsl.data.tables import load_table
    from segdsl.data.loading import load_project
    from segdsl.backends.memory.profile import load_source

    schema, _ = segments(domain)
    data = ROOT / "seeds" / domain
    tables = {schema.table: load_table(schema, data).records()}
    for source in schema.sources.values():
        tables[source.table] = load_source(source, data, missing_ok=True).records()
    load_project(engine, schema, tables)
    for name, table, columns in INDEXES[domain]:
        engine.execute(f'CREATE INDEX "{name}" ON "{table}" ({", ".join(columns)})')
    for table in tables:
        engine.execute(f'ANALYZE "{table}"')
    engine.commit()


@pytest.fixture(scope="module", params=DOMAINS)
def loaded(request, pg_dsn):
    """(domain, engine, schema, segments), the seeds loaded into a schema of their own."""
    from segdsl.data.engines import connect

    domain = request.param
    schema, segs = segments(domain)
    engine = connect(pg_dsn)
    ns = f"segdsl_plans_{domain}_{uuid.uuid4().hex[:8]}"
    engine.execute(f'CREATE SCHEMA "{ns}"')
    engine.execute(f'SET search_path TO "{ns}"')
    try:
        load_seeds(engine, domain)
        yield domain, engine, schema, segs
    finally:
        engine.conn.rollback()
        engine.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        engine.commit()
        engine.close()


def test_every_example_segment_has_a_handwritten_query():
    for domain in DOMAINS:
        _, segs = segments(domain)
        assert sorted(handwritten(domain)) == sorted(segs), domain


def test_same_members_as_handwritten(loaded):
    from segdsl.data.engines import fetch_keys

    domain, engine, schema, segs = loaded
    hand = handwritten(domain)
    for name, segment in segs.items():
        ours = fetch_keys(engine, compiled(segment, schema))
        theirs = fetch_keys(engine, hand[name])
        assert ours == theirs, f"{domain}.{name}: ours {len(ours)} members, hand-written {len(theirs)}"
        # An empty audience would agree with anything.
        assert 0 < len(ours), f"{domain}.{name} selects nobody on the seeds"


def test_same_plan_as_handwritten(loaded):
    """The same plan, or its mirror image at the same estimated cost: when two relations
    are read by subplans of the same shape and the planner costs both join orders
    exactly the same, which one it joins first is the planner's arbitrary pick of two
    equal paths, not a difference between the queries."""
    domain, engine, schema, segs = loaded
    hand = handwritten(domain)
    differ = []
    for name, segment in segs.items():
        sql = compiled(segment, schema)
        ours = plan_shape(engine, sql)
        theirs = plan_shape(engine, hand[name])
        if ours == theirs:
            continue
        swapped = renaming(ours, theirs)
        if swapped and plan_cost(engine, sql) == plan_cost(engine, hand[name]):
            continue
        differ.append(f"{domain}.{name}\n-- ours:\n{render(ours)}\n-- hand-written:\n{render(theirs)}")
    assert not differ, "plans differ:\n" + "\n".join(differ)


def test_time_windows_use_the_users_index(loaded):
    domain, engine, schema, segs = loaded
    expected = {seg: index for (d, seg), index in INDEX_USE.items() if d == domain}
    for name, index in expected.items():
        for form in ("select", "count"):
            shape = plan_shape(engine, compiled(segs[name], schema, form))
            assert index in index_names(shape), f"{domain}.{name} ({form}) does not use {index}:\n{render(shape)}"


def test_trait_time_windows_use_the_users_index(loaded):
    from segdsl.check.checker import check_expression
    from segdsl.data.engines import fetch_keys
    from segdsl.syntax.parser import parse_expression
    from segdsl.backends.sql import compile_rule

    domain, engine, schema, _ = loaded
    for text, index, by_hand in [r[1:] for r in INDEX_RULES if r[0] == domain]:
        rule, diags = check_expression(parse_expression(text).expr, schema)
        assert rule is not None, diags
        sql = compile_rule(rule, schema, target="postgres", as_of=AS_OF).sql
        shape = plan_shape(engine, sql)
        assert index in index_names(shape), f"{text} does not use {index}:\n{render(shape)}"
        assert shape == plan_shape(engine, by_hand), f"{text}: plans differ\n{render(shape)}"
        keys = fetch_keys(engine, sql)
        assert keys and keys == fetch_keys(engine, by_hand), text


def test_a_mirror_image_is_a_renaming_of_relations_and_nothing_else():
    def scan(rel, node="Seq Scan"):
        return (("Node Type", node), ("Relation Name", rel)), ()

    def join(*kids):
        return (("Node Type", "Merge Join"), ("Join Type", "Inner")), kids

    ours = join(scan("consents"), join(scan("handicaps"), scan("model_scores")))
    assert renaming(ours, ours) == {}
    assert renaming(ours, join(scan("handicaps"), join(scan("consents"), scan("model_scores")))) == {
        "consents": "handicaps", "handicaps": "consents"}
    # Two relations renamed to one, another node type, another shape: not a mirror image.
    assert renaming(ours, join(scan("handicaps"), join(scan("handicaps"), scan("model_scores")))) is None
    assert renaming(ours, join(scan("handicaps", "Index Scan"), join(scan("consents"), scan("model_scores")))) is None
    assert renaming(ours, join(join(scan("handicaps"), scan("model_scores")), scan("consents"))) is None
