"""`latest(... by ...)` breaks ties on `by` by the greatest row id; for text ids,
"greatest" is code point order on every engine, whatever the database's collation.

MariaDB's default collations fold case and pad spaces, and a Postgres database created
with an ICU or libc English collation orders `'B'` after `'a'`: before ids were ordered
by code point in the window, those engines picked another row than memory, SQLite and
DuckDB.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.backends.memory import compile_row, member_keys
from segdsl.backends.memory.profile import build_profile, profile_fields
from segdsl.backends.sql import compile_rule
from segdsl.check.checker import check_expression
from segdsl.data.engines import connect, fetch_keys
from segdsl.data.loading import load_project
from segdsl.data.tables import Table
from segdsl.check.traits import schema_from_dict
from segdsl.syntax.parser import parse_expression

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "tie_guests",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "last_kind": {"derive": "latest(visits.kind by at)"},
        },
        "sources": {
            "visits": {
                "table": "tie_visits",
                "id": "visit_id",
                "entity_key": "owner",
                "columns": {
                    "visit_id": {"type": "text", "nullable": False},
                    "owner": {"type": "int", "nullable": False},
                    "at": {"type": "timestamp", "nullable": False},
                    "kind": {"type": "text", "nullable": False},
                },
            }
        },
    }
)
assert SCHEMA is not None

#: Pairs of ids that tie on `at`; the first is the greater in code point order, the
#: second the greater under a case-folding, space-padding or linguistic collation.
PAIRS = [("a", "B"), ("é", "f"), ("a ", "a"), ("a", "A"), ("b", "a\u00a0"), ("_", "A"), ("a\t", "a"),
         ("z", "Z"), ("ß", "t"), ("\U0001f600", "\uffee")]
AT = dt.datetime(2026, 10, 1, 12, tzinfo=UTC)
GUESTS = [{"id": n + 1} for n in range(len(PAIRS))]
# Per guest: the tie's winner (the greater id in code point order) has kind "won", the
# other row "lost"; a third row, whose id is the greatest of all, is a day older.
VISITS = []
for n, (winner, loser) in enumerate(PAIRS):
    VISITS += [
        {"visit_id": f"{n}:{winner}", "owner": n + 1, "at": AT, "kind": "won"},
        {"visit_id": f"{n}:{loser}", "owner": n + 1, "at": AT, "kind": "lost"},
        {"visit_id": f"{n}:\U0010fffd", "owner": n + 1, "at": AT - dt.timedelta(days=1), "kind": "older"},
    ]
RULE = 'last_kind = "won"'


def _engines(request) -> dict:
    out = {"duckdb": connect("duckdb::memory:"), "sqlite": connect("sqlite::memory:")}
    for name, fixture in (("postgres", "pg"), ("postgres, non-C collation", "pg_collated"), ("mysql", "maria")):
        out[name] = request.getfixturevalue(fixture)
    return out


def test_memory_takes_the_greatest_id_in_code_point_order():
    rule, diags = check_expression(parse_expression(RULE).expr, SCHEMA)
    assert rule is not None, diags
    profile = build_profile(SCHEMA, Table.from_records(SCHEMA, GUESTS),
                            {"visits": Table.from_records(SCHEMA.sources["visits"], VISITS)},
                            profile_fields([rule]), AS_OF)
    assert [r["last_kind"] for r in profile.records()] == ["won"] * len(PAIRS)
    is_member = compile_row(rule, AS_OF)
    assert [r["id"] for r in profile.records() if is_member(r)] == [g["id"] for g in GUESTS]
    assert member_keys(rule, profile, AS_OF) == [g["id"] for g in GUESTS]


@pytest.mark.parametrize("params", [False, True])
def test_every_engine_takes_the_same_row(request, params):
    rule, _ = check_expression(parse_expression(RULE).expr, SCHEMA)
    engines = _engines(request)
    expected = [g["id"] for g in GUESTS]
    wrong = {}
    for name, engine in engines.items():
        load_project(engine, SCHEMA, {"tie_guests": GUESTS, "tie_visits": VISITS})
        compiled = compile_rule(rule, SCHEMA, target=engine.dialect, as_of=AS_OF,
                                params=params and engine.binds_named_params)
        got = fetch_keys(engine, compiled.sql, compiled.params)
        if got != expected:
            wrong[name] = [PAIRS[i - 1] for i in expected if i not in got]
    engines["duckdb"].close()
    engines["sqlite"].close()
    assert not wrong, f"engines that broke a tie on another row (pairs they got wrong): {wrong}"


@pytest.mark.parametrize("collation", ["utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_bin"])
def test_mariadb_table_of_your_own_with_another_collation(maria, collation):
    """A table segdsl did not create: its text ids in a case-insensitive (or a padding
    binary) collation. Ids there must differ under that collation to be a primary key,
    so the pairs equal up to case or trailing spaces are left out."""
    distinct = [n for n, pair in enumerate(PAIRS)
                if len({p.casefold().rstrip(" ") for p in pair}) == 2 and "\t" not in "".join(pair)
                and all(ord(c) <= 0xFFFF for c in "".join(pair))]  # general_ci: one weight beyond
    visits = [v for v in VISITS if int(v["visit_id"].split(":")[0]) in distinct]
    load_project(maria, SCHEMA, {"tie_guests": GUESTS, "tie_visits": visits})
    maria.execute(f"ALTER TABLE `tie_visits` MODIFY `visit_id` VARCHAR(255) COLLATE {collation} NOT NULL")
    maria.commit()
    rule, _ = check_expression(parse_expression(RULE).expr, SCHEMA)
    compiled = compile_rule(rule, SCHEMA, target="mysql", as_of=AS_OF)
    assert fetch_keys(maria, compiled.sql, compiled.params) == [n + 1 for n in distinct]
