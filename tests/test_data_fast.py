"""The vectorised CSV conversion reads exactly what the per-cell parsers read, and
leaves every cell it does not fully understand to them, so errors keep their line,
column and message."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.data import tables as data
from segdsl.data.tables import DataError, _build_column, _fast_column, _PARSERS, _quote, read_csv
from segdsl.check.traits import schema_from_dict

UTC = dt.timezone.utc


def _ts_text(d: dt.datetime, frac: str, zone: str) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + zone


_digits = st.text(alphabet="0123456789", min_size=1, max_size=7)
_CELLS = {
    "int": st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.from_regex(r"-?[0-9]{1,4}", fullmatch=True),
        st.sampled_from(["0x10", "+5", " 5", "5 ", "", "-", "--1", "1-", "007", "-0", "１５", "1e5", "9223372036854775807",
                         "-9223372036854775808", "9223372036854775808"]),
    ),
    "decimal(6, 2)": st.one_of(
        st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,5})?", fullmatch=True),
        st.decimals(min_value=-10000, max_value=10000, allow_nan=False, allow_infinity=False).map(str),
        st.sampled_from(["1.", ".5", "-.5", "1.2.3", "", "-", "1-", "9999.995", "9999.994999", "-9999.995",
                         "0000000000000000000000001.5", "12345678901234567890", "0.125", "-0.005", "1.005", "-0"]),
    ),
    "decimal(15, 3)": st.one_of(
        st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,6})?", fullmatch=True),
        st.sampled_from(["999999999999.9995", "999999999999.9994", "-999999999999.999", "0.0005"]),
    ),
    "decimal(4, 0)": st.one_of(
        st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,3})?", fullmatch=True),
        st.sampled_from(["9999.5", "9999.4", "0.5", "-0.5"]),
    ),
    "float": st.one_of(
        st.floats(allow_nan=False).map(repr),
        st.from_regex(data._FLOAT_RE, fullmatch=True),
        st.sampled_from(["nan", "inf", "-Infinity", "1e999", "1_0", "+1.5", "5.", ".5", "1e5", "", "0x1p3",
                         "-0.0", "2.2250738585072014e-308", "4.9e-324", "1e-400", "0.1000000000000000055511151231257827"]),
    ),
    "bool": st.sampled_from(["true", "false", "True", "1", "", " true", "FALSE"]),
    "date": st.one_of(
        st.dates().map(dt.date.isoformat),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
        st.sampled_from(["2023-2-1", "0000-01-01", "2023-02-29", "2024-02-29", "1900-02-29", "2000-02-29",
                         "2024-13-01", "2024-12-32", "", "2024-01-01 "]),
    ),
    "timestamp": st.one_of(
        st.builds(_ts_text, st.datetimes(), st.one_of(st.just(""), _digits),
                  st.one_of(st.just("Z"), st.from_regex(r"[+-][0-2][0-9]:[0-6][0-9]", fullmatch=True))),
        st.from_regex(data._TS_RE, fullmatch=True),
        st.sampled_from(["2024-01-01T00:00:00", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z",
                         "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-00:01",
                         "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00z", "2024-01-01T00:00:00+0100", ""]),
    ),
    "text": st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
}


def _schema(kind: str, nullable: bool):
    schema, diags = schema_from_dict({"entity": "e", "table": "t", "key": "id", "fields": {
        "id": {"type": "int", "nullable": False}, "d": {"type": kind, "nullable": nullable}}})
    assert schema is not None, diags
    return schema


def _read(schema, cells, fast: bool, monkeypatch):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        body = "id,d\n" + "".join(f"{i},{'' if c is None else _quote(c)}\n" for i, c in enumerate(cells))
        path.write_bytes(body.encode("utf-8"))
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(data, "_FAST", {})
            try:
                table = read_csv(schema, path)
            except DataError as exc:
                return ("error", exc.line, exc.column, str(exc).replace(str(path), "<path>"))
    col = table.columns["d"]
    return ("ok", col.values.dtype.str, col.valid.tolist(), [repr(v) for v in col.values.tolist()])


@pytest.mark.parametrize("kind", list(_CELLS))
def test_vectorised_reading_matches_the_per_cell_parsers(kind, monkeypatch):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(st.none(), _CELLS[kind]), max_size=8), st.booleans())
    def check(cells, nullable):
        schema = _schema(kind, nullable)
        assert _read(schema, cells, True, monkeypatch) == _read(schema, cells, False, monkeypatch)

    check()


@pytest.mark.parametrize(
    "kind, cells",
    [
        ("int", ["1", None, "-42", "9223372036854775807"]),
        ("decimal(6, 2)", ["1.5", None, "-0.125", "9999.99", "7"]),
        ("float", ["0.1", None, "-0.0", "1e300"]),
        ("bool", ["true", None, "false"]),
        ("date", ["2024-02-29", None, "0001-01-01", "9999-12-31"]),
        ("timestamp", ["2024-01-01T00:00:00Z", None, "2024-01-01T00:00:00.5+05:30", "1969-12-31T23:59:59.999999Z"]),
        # Both 25 characters long: a fraction before `Z`, or an offset.
        ("timestamp", ["2024-01-01T00:00:00.1234Z", "2024-01-01T00:00:00+05:30", None, "2024-01-01T00:00:00-00:45"]),
        ("text", ["a", None, "", 'x, "y"\nz', "é😀"]),
    ],
)
def test_vectorised_path_takes_valid_columns_in_any_chunking(kind, cells):
    schema = _schema(kind, True)
    f = schema.fields["d"]
    parse = _PARSERS[f.kind]
    expected = _build_column(f, cells, lambda s: parse(f, s), "<x>", lambda i: None, lambda i: "")
    whole = pa.array(cells * 3, type=pa.string())
    n = len(cells)
    # Several chunks, one of them a slice with a non-zero offset.
    chunked = pa.chunked_array([whole[:1], whole[1:n + 1], whole.slice(n + 1)])
    got = _fast_column(f, chunked)
    assert got is not None  # valid columns take the fast path
    assert got.valid.tolist() == np.tile(expected.valid, 3).tolist()
    assert got.values.dtype == expected.values.dtype
    assert [repr(v) for v in got.values.tolist()] == [repr(v) for v in np.tile(expected.values, 3).tolist()]


# ------------------------------------------------------------ loading a Table on an engine

_LOAD, _ = schema_from_dict({"entity": "e", "table": "fast_load", "key": "id", "fields": {
    "id": {"type": "int", "nullable": False}, "amt": {"type": "decimal(8, 2)"}, "f": {"type": "float"},
    "name": {"type": "text"}, "tier": {"type": "enum", "values": ["a", "b"]}, "flag": {"type": "bool"},
    "born": {"type": "date"}, "at": {"type": "timestamp"}, "tags": {"type": "tags"}}})
assert _LOAD is not None


def _load_rows(n: int) -> list[dict]:
    from decimal import Decimal

    rows = []
    for i in range(n):
        some = i % 3 != 0
        rows.append({
            "id": i, "amt": Decimal(i * 7 - 50) / 4 if some else None, "f": i / 3 if some else None,
            "name": ["", "x", 'a "b", c\nd', None][i % 4], "tier": ["a", "b", None][i % 3],
            "flag": [True, False, None][i % 3], "born": dt.date(2020, 1, 1) + dt.timedelta(days=i) if some else None,
            "at": dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i * 997, microseconds=i) if some else None,
            "tags": frozenset(["spa", "golf"][: i % 3]) if i % 5 else None,
        })
    return rows


@pytest.mark.parametrize("engine_name", ["duck", "lite", "pg"])
def test_loading_a_table_stores_what_loading_its_records_stores(engine_name, request):
    from segdsl.data.tables import Table
    from segdsl.data.engines import load_records

    engine = request.getfixturevalue(engine_name)
    table = Table.from_records(_LOAD, _load_rows(70))
    # As text: DuckDB hands timestamps with time zones to Python only through pytz.
    cols = ", ".join(f'CAST("{f.column}" AS TEXT)' for f in _LOAD.stored_fields())

    def stored(records) -> list:
        # Batches smaller than the table, so rows cross batch boundaries.
        assert load_records(engine, _LOAD, records) == 70
        return engine.execute(f'SELECT {cols} FROM "fast_load" ORDER BY "id"')

    from_records = stored(table.records())
    original = Table.iter_rows
    try:
        Table.iter_rows = lambda self, columns, batch=16: original(self, columns, batch)
        from_table = stored(table)
    finally:
        Table.iter_rows = original
    assert from_table == from_records
    assert len(from_table) == 70


def test_iter_rows_is_records_in_tuples():
    from segdsl.data.tables import Table

    table = Table.from_records(_LOAD, _load_rows(40))
    names = [f.column for f in _LOAD.stored_fields()] + ["absent"]
    expected = [tuple(r.get(c) for c in names) for r in table.records()]
    assert list(table.iter_rows(names, batch=7)) == expected
    assert list(Table.from_records(_LOAD, []).iter_rows(names)) == []
