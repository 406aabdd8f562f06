"""``build_profile`` on the cases its shortcuts must get right: dense and sparse int
keys and text keys, rows of unknown entities, ties in `latest` broken by the greatest
id (text ids included), and filters shared between traits."""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.data.tables import Table
from segdsl.backends.memory.profile import build_profile
from segdsl.check.traits import schema_from_dict

UTC = dt.timezone.utc
AS_OF = dt.datetime(2024, 2, 1, tzinfo=UTC)


def _schema(key_kind: str, id_kind: str):
    schema, diags = schema_from_dict({
        "entity": "g", "table": "g", "key": "id",
        "fields": {
            "id": {"type": key_kind, "nullable": False},
            "n_a": {"derive": 'count(ev where kind = "a")'},
            "pts_a": {"derive": 'sum(ev.points where kind = "a")'},
            "first_a": {"derive": 'min(ev.points where kind = "a")'},
            "last_kind": {"derive": "latest(ev.kind by on)"},
            "last_pts": {"derive": "latest(ev.points by score)"},
        },
        "sources": {"ev": {"table": "ev", "id": "eid", "entity_key": "owner", "columns": {
            "eid": {"type": id_kind, "nullable": False}, "owner": {"type": key_kind, "nullable": False},
            "on": {"type": "date"}, "score": {"type": "float"}, "points": {"type": "int"},
            "kind": {"type": "enum", "values": ["a", "b"], "nullable": False}}}},
    })
    assert schema is not None, diags
    return schema


# Dense keys from 0 (the table indexed by the key itself), dense keys from elsewhere
# (negative, and far from 0: the stranger, 5, falls below the table), sparse keys, text.
@pytest.mark.parametrize("keys", [[10, 11, 12], [-3, -2, -1], [5000, 5001, 5002], [-(2**62), 7, 2**62],
                                  ["x", "y", "z"]])
@pytest.mark.parametrize("id_kind", ["int", "text"])
def test_profile_of_known_rows(keys, id_kind):
    key_kind = "text" if isinstance(keys[0], str) else "int"
    schema = _schema(key_kind, id_kind)
    a, b, c = keys
    stranger = "nobody" if key_kind == "text" else 5
    ids = [1, 2, 3, 4, 5, 6] if id_kind == "int" else ["b", "a", "c", "d", "f", "e"]
    day = dt.date(2024, 1, 1)
    rows = [  # (owner, on, score, points, kind)
        (a, day, 1.0, 5, "a"),
        (a, day, 0.0, 7, "b"),  # ties with the row above on `on`; the greater id wins
        (b, None, -0.0, None, "a"),  # NULL `by` for last_kind: ignored there
        (b, day, 0.0, 3, "b"),  # -0.0 and 0.0 tie on `score`; the greater id wins
        (stranger, day, 9.0, 100, "a"),  # no such entity: counts nowhere
        (a, None, None, 1, "a"),
    ]
    records = [{"eid": i, "owner": o, "on": on, "score": s, "points": p, "kind": k}
               for i, (o, on, s, p, k) in zip(ids, rows)]
    entity = Table.from_records(schema, [{"id": k} for k in keys])
    source = Table.from_records(schema.sources["ev"], records)
    fields = [f for f in schema.fields.values() if f.derive is not None]
    got = build_profile(schema, entity, {"ev": source}, fields, AS_OF).records()
    by_key = {r["id"]: r for r in got}
    # Ties go to the greatest id: for int ids the later row, for the text ids above
    # ("b" < "a" is false) the row whose id sorts last.
    later = (lambda i, j: i if ids[i] > ids[j] else j)
    assert by_key[a]["n_a"] == 2 and by_key[a]["pts_a"] == 6 and by_key[a]["first_a"] == 1
    assert by_key[a]["last_kind"] == rows[later(0, 1)][4]
    assert by_key[a]["last_pts"] == 5  # score 1.0 beats 0.0 and NULL
    assert by_key[b]["n_a"] == 1 and by_key[b]["pts_a"] == 0 and by_key[b]["first_a"] is None
    assert by_key[b]["last_kind"] == "b"
    assert by_key[b]["last_pts"] == rows[later(2, 3)][3]
    assert by_key[c] == {"id": c, "n_a": 0, "pts_a": 0, "first_a": None, "last_kind": None, "last_pts": None}


# ------------------------------------------------- reading only the columns traits read


@pytest.mark.parametrize("domain", ["hospitality", "golf"])
def test_load_profile_reads_only_what_traits_read_and_gets_the_same_profile(domain):
    from pathlib import Path

    from segdsl.data.tables import load_table
    from segdsl.backends.memory.profile import load_profile, load_source, profile_fields, source_columns
    from segdsl.project.workspace import load_workspace

    root = Path(__file__).resolve().parents[1]
    ws = load_workspace(sorted((root / "examples" / domain).glob("*.seg")))
    schema, data = ws.schema, root / "seeds" / domain
    rules = [s.rule for s in ws.segments.values()]
    fields = profile_fields(rules)
    wanted = source_columns(fields)
    # The traits leave some source columns unread, or pruning would prove nothing.
    unread = {name: {f.column for f in schema.sources[name].stored_fields()} - cols for name, cols in wanted.items()}
    assert any(unread.values()), unread
    for name, cols in wanted.items():
        table = load_source(schema.sources[name], data, columns=cols)
        assert set(table.columns) == cols | {schema.sources[name].key.column}

    as_of = dt.datetime(2026, 11, 1, tzinfo=UTC)  # the seeds' as-of: traits have values
    full = build_profile(schema, load_table(schema, data),
                         {name: load_source(schema.sources[name], data) for name in wanted}, fields, as_of)
    pruned = load_profile(schema, data, rules, as_of)
    assert pruned.n_rows == full.n_rows
    assert {f.column for f in fields} <= set(pruned.columns)
    assert any(full.columns[f.column].valid.any() for f in fields)
    for name, col in full.columns.items():
        assert pruned.columns[name].valid.tolist() == col.valid.tolist(), name
        assert pruned.columns[name].values[col.valid].tolist() == col.values[col.valid].tolist(), name
