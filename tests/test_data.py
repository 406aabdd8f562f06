"""The data layer: exact encodings, the seed CSV convention, and clear errors."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.data.tables import DataError, Table, load_table, read_csv, write_csv
from segdsl.check.traits import schema_from_dict

UTC = dt.timezone.utc

SCHEMA, _diags = schema_from_dict(
    {
        "entity": "guest",
        "table": "guests",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False, "column": "guest_id"},
            "n": {"type": "int"},
            "amt": {"type": "decimal(6, 2)", "column": "amount"},
            "big": {"type": "decimal(15, 3)"},
            "score": {"type": "float"},
            "name": {"type": "text"},
            "tier": {"type": "enum", "values": ["Blue", "Gold", "Platinum"]},
            "flag": {"type": "bool"},
            "born": {"type": "date"},
            "seen_at": {"type": "timestamp"},
            "tags": {"type": "tags"},
            "days_seen": {"days_since": "seen_at"},
        },
    }
)
assert SCHEMA is not None, _diags
COLUMNS = ["guest_id", "n", "amount", "big", "score", "name", "tier", "flag", "born", "seen_at", "tags"]


def write(tmp_path: Path, text: str, name: str = "guests.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def row(**kw) -> dict:
    base = {c: None for c in COLUMNS}
    base["guest_id"] = 1
    base.update(kw)
    return base


SMALL, _ = schema_from_dict(
    {"entity": "e", "table": "t", "key": "id",
     "fields": {"id": {"type": "int", "nullable": False}, "v": {"type": "text"}}}
)


def small_csv(tmp_path: Path, body: str, schema_fields: dict) -> Table:
    schema, diags = schema_from_dict(
        {"entity": "e", "table": "t", "key": "id", "fields": {"id": {"type": "int", "nullable": False}, **schema_fields}}
    )
    assert schema is not None, diags
    return read_csv(schema, write(tmp_path, body))


# ------------------------------------------------------------------ the CSV convention


def test_null_is_unquoted_empty_and_quoted_empty_is_the_empty_string(tmp_path):
    t = read_csv(SMALL, write(tmp_path, 'id,v\n1,\n2,""\n3,NULL\n4,NA\n5,null\n6," "\n'))
    assert [r["v"] for r in t.records()] == [None, "", "NULL", "NA", "null", " "]
    assert t.columns["v"].valid.tolist() == [False, True, True, True, True, True]


def test_records_are_keyed_by_column_and_skip_derived_fields(tmp_path):
    body = ("guest_id,n,amount,big,score,name,tier,flag,born,seen_at,tags,extra\n"
            '7,-3,1234.5,1.5,0.1,"a, ""b""",Gold,true,2024-02-29,2024-03-01T01:30:00+02:00,"[""spa"",""golf""]",x\n')
    t = read_csv(SCHEMA, write(tmp_path, body))
    (r,) = t.records()
    assert set(r) == set(COLUMNS)  # no `days_seen`, no unknown `extra`
    assert r["amount"] == Decimal("1234.50") and str(r["amount"]) == "1234.50"
    assert t.columns["amount"].values.tolist() == [123450]
    assert str(r["big"]) == "1.500"
    assert r["seen_at"] == dt.datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert r["seen_at"].utcoffset() == dt.timedelta(0)
    assert r["born"] == dt.date(2024, 2, 29)
    assert r["tags"] == frozenset({"spa", "golf"})
    assert (r["name"], r["tier"], r["flag"], r["n"], r["score"]) == ('a, "b"', "Gold", True, -3, 0.1)
    assert t.keys() == [7]


def test_encodings(tmp_path):
    body = ("guest_id,n,amount,big,score,name,tier,flag,born,seen_at,tags\n"
            "1,,,,,,,,1970-01-02,1970-01-01T00:00:01.5Z,[]\n"
            "2,,,,,,,,1969-12-31,1969-12-31T23:59:59.999999Z,\n")
    t = read_csv(SCHEMA, write(tmp_path, body))
    assert t.columns["born"].values.tolist() == [1, -1]
    assert t.columns["seen_at"].values.tolist() == [1_500_000, -1]
    assert t.columns["seen_at"].values.dtype == np.int64
    assert t.columns["tags"].values.tolist() == [frozenset(), None]
    assert t.columns["n"].valid.tolist() == [False, False]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.125", "0.13"),  # half-up like Postgres numeric; Python's default would give 0.12
        ("-0.125", "-0.13"),  # half away from zero
        ("0.124999", "0.12"),
        ("1.005", "1.01"),  # 1.005 as a float is 1.00499999...; never via float
        ("2.675", "2.68"),
        ("0.115", "0.12"),
        ("7", "7.00"),
        ("-0", "0.00"),
        ("9999.994", "9999.99"),
    ],
)
def test_decimal_rounds_half_up_on_read(tmp_path, text, expected):
    t = small_csv(tmp_path, f"id,d\n1,{text}\n", {"d": {"type": "decimal(6, 2)"}})
    assert str(t.records()[0]["d"]) == expected


def test_decimal_rounding_into_overflow_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"9999\.995.*does not fit decimal\(6, 2\)"):
        small_csv(tmp_path, "id,d\n1,9999.995\n", {"d": {"type": "decimal(6, 2)"}})


def test_from_records_quantizes_decimals_half_up():
    t = Table.from_records(SCHEMA, [row(amount=Decimal("0.125"), big=Decimal("-2.0005"))])
    r = t.records()[0]
    assert str(r["amount"]) == "0.13"
    assert str(r["big"]) == "-2.001"


def test_write_csv_text_is_exactly_the_convention(tmp_path):
    p = tmp_path / "out.csv"
    write_csv(SCHEMA, [
        row(guest_id=1, name="", score=0.1, amount=Decimal("5"), flag=False, tags=frozenset({"b", "a"}),
            seen_at=dt.datetime(2024, 1, 1, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
        row(guest_id=2, name='say "hi", ok\nbye', score=float("-inf"), tags=frozenset(),
            seen_at=dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC), born=dt.date(24, 1, 2)),
    ], p)
    assert p.read_text(encoding="utf-8") == (
        "guest_id,n,amount,big,score,name,tier,flag,born,seen_at,tags\n"
        '1,,5.00,,0.1,"",,false,,2023-12-31T23:30:00Z,"[""a"", ""b""]"\n'
        '2,,,,-inf,"say ""hi"", ok\nbye",,,0024-01-02,2024-01-01T00:00:00.000001Z,[]\n'
    )


def test_load_table_reads_the_schema_table(tmp_path):
    write(tmp_path, "id,v\n3,x\n", name="t.csv")
    assert load_table(SMALL, tmp_path).records() == [{"id": 3, "v": "x"}]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "fields, cell, message",
    [
        ({"d": {"type": "int"}}, "1e5", "not an integer"),
        ({"d": {"type": "int"}}, "１５０", "not an integer"),  # full-width digits
        ({"d": {"type": "int"}}, " 5", "not an integer"),
        ({"d": {"type": "int"}}, "9223372036854775808", "64-bit"),
        ({"d": {"type": "decimal(6, 2)"}}, "1.5.0", "plain decimal"),
        ({"d": {"type": "decimal(6, 2)"}}, "1e3", "plain decimal"),
        ({"d": {"type": "float"}}, "nan", "NaN is not allowed"),
        ({"d": {"type": "float"}}, "NaN", "NaN is not allowed"),
        ({"d": {"type": "float"}}, "1_000.0", "not a number"),
        ({"d": {"type": "float"}}, "1e999", "too large"),
        ({"d": {"type": "bool"}}, "True", "`true` or `false`"),
        ({"d": {"type": "date"}}, "2023-02-29", "not a date"),
        ({"d": {"type": "date"}}, "2023-2-1", "not a date"),
        ({"d": {"type": "timestamp"}}, "2024-01-01T00:00:00", "timestamp"),
        ({"d": {"type": "timestamp"}}, "2024-01-01T24:00:00Z", "not a valid date and time"),
        ({"d": {"type": "timestamp"}}, "2024-01-01T00:00:00.1234567Z", "timestamp"),
        ({"d": {"type": "timestamp"}}, "0001-01-01T00:30:00+01:00", "years 1-9999"),
        ({"d": {"type": "enum", "values": ["Gold"]}}, "gold", "not a value of `d`"),
        ({"d": {"type": "tags"}}, "spa", "JSON list of strings"),
        ({"d": {"type": "tags"}}, '"[1]"', "JSON list of strings"),
        ({"d": {"type": "int", "nullable": False}}, "", "not nullable"),
    ],
)
def test_bad_values_name_file_line_and_column(tmp_path, fields, cell, message):
    # The first row spans two lines, so the bad value is on CSV line 4, data row 2.
    first = "1" if fields["d"].get("nullable") is False else ""
    body = f'id,v,d\n1,"two\nlines",{first}\n2,x,{cell}\n'
    fields = {"v": {"type": "text"}, **fields}
    with pytest.raises(DataError) as info:
        small_csv(tmp_path, body, fields)
    err = info.value
    assert (err.line, err.column) == (4, "d"), str(err)
    assert str(err).startswith(f"{tmp_path / 'guests.csv'}:4: column `d`:")
    if message:
        assert message in str(err)


def test_missing_column_is_named(tmp_path):
    with pytest.raises(DataError, match=r"no column `amount` \(field `amt`\)"):
        read_csv(SCHEMA, write(tmp_path, "guest_id,n\n1,2\n"))


def test_wrong_number_of_fields_gives_the_line(tmp_path):
    with pytest.raises(DataError) as info:
        read_csv(SMALL, write(tmp_path, 'id,v\n1,"a\nb"\n2\n'))
    assert info.value.line == 4 and "expected 2 fields, found 1" in str(info.value)


def test_duplicate_key_and_invalid_utf8(tmp_path):
    with pytest.raises(DataError, match=r"key 1 appears twice \(first at line 2\)") as info:
        read_csv(SMALL, write(tmp_path, "id,v\n1,a\n1,b\n"))
    assert info.value.line == 3
    p = tmp_path / "bad.csv"
    p.write_bytes(b"id,v\n1,a\n2,\xff\n")
    with pytest.raises(DataError, match="not valid UTF-8") as info:
        read_csv(SMALL, p)
    assert info.value.line == 3


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_csv(SMALL, write(tmp_path, ""))
    t = read_csv(SMALL, write(tmp_path, "id,v\n"))
    assert t.n_rows == 0 and t.records() == [] and t.keys() == []


def test_from_records_rejects_floats_for_decimals_and_naive_timestamps():
    with pytest.raises(DataError, match="not exact"):
        Table.from_records(SCHEMA, [row(amount=1.5)])
    with pytest.raises(DataError, match="timezone-aware"):
        Table.from_records(SCHEMA, [row(seen_at=dt.datetime(2024, 1, 1))])
    with pytest.raises(DataError, match="NaN"):
        Table.from_records(SCHEMA, [row(score=float("nan"))])


# ------------------------------------------------------------------ round trip

_text = st.lists(
    st.one_of(
        st.sampled_from(list(',"\n\r\t %_\\\'é É😀') + ["\r\n", '""', "NULL", "\ufeff"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=6,
).map("".join)
_ts = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=-7)), dt.timezone(dt.timedelta(hours=5, minutes=45))]),
)


def _nullable(s):
    return st.one_of(st.none(), s)


_records = st.lists(
    st.fixed_dictionaries({
        "n": _nullable(st.integers(-(2**63), 2**63 - 1)),
        "amount": _nullable(st.decimals(min_value=-9999, max_value=9999, places=3)),
        "big": _nullable(st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=3)),
        "score": _nullable(st.floats(allow_nan=False)),
        "name": _nullable(_text),
        "tier": _nullable(st.sampled_from(["Blue", "Gold", "Platinum"])),
        "flag": _nullable(st.booleans()),
        "born": _nullable(st.dates()),
        "seen_at": _nullable(_ts),
        "tags": _nullable(st.frozensets(_text, max_size=3)),
    }),
    max_size=6,
)


def _canon(value):
    # Exact comparison: 1.5 and 1.50 differ as decimals, -0.0 and 0.0 as floats.
    if isinstance(value, (float, Decimal)):
        return (type(value).__name__, repr(value))
    if isinstance(value, dt.datetime):
        return ("ts", value, value.utcoffset())
    return value


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records)
def test_csv_round_trip(records):
    records = [{"guest_id": i, **r} for i, r in enumerate(records)]
    expected = Table.from_records(SCHEMA, records).records()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "guests.csv"
        write_csv(SCHEMA, records, path)
        back = read_csv(SCHEMA, path).records()
    assert [{k: _canon(v) for k, v in r.items()} for r in back] == [
        {k: _canon(v) for k, v in r.items()} for r in expected
    ]
    # from_records keeps everything but decimal places beyond the scale.
    for r, e in zip(records, expected):
        for k in ("n", "name", "tier", "flag", "born", "seen_at", "tags"):
            assert r[k] == e[k]
        assert (r["score"] is None) == (e["score"] is None)
        if r["score"] is not None:
            assert math.copysign(1, r["score"]) == math.copysign(1, e["score"]) and r["score"] == e["score"]


# ------------------------------------------------------------ streamed reading
# A file is read a block at a time (64 MiB); small blocks put every boundary case in a
# few lines of CSV.


@pytest.fixture
def tiny_blocks(monkeypatch):
    from segdsl.data import tables as data

    monkeypatch.setattr(data, "_READ_BLOCK", 97)


def _guest_rows(n):
    return [row(guest_id=i, n=i * 7 - 3, amt=Decimal(f"{i}.{i % 100:02d}"), name=f"Zoë \"{i}\"\nline" if i % 3 else None,
                tier=["Blue", "Gold", None][i % 3], tags=frozenset({"spa", f"t{i % 4}"}),
                seen_at=dt.datetime(2024, 3, 31, i % 24, tzinfo=UTC)) for i in range(n)]


def test_many_blocks_read_as_one(tmp_path, monkeypatch):
    from segdsl.data import tables as data

    path = tmp_path / "guests.csv"
    write_csv(SCHEMA, _guest_rows(300), path)
    whole = read_csv(SCHEMA, path)
    monkeypatch.setattr(data, "_READ_BLOCK", 97)
    streamed = read_csv(SCHEMA, path)
    assert streamed.n_rows == whole.n_rows == 300
    assert streamed.records() == whole.records()
    for name, col in whole.columns.items():
        assert streamed.columns[name].values.dtype == col.values.dtype, name


def test_errors_in_a_later_block_name_their_line(tmp_path, tiny_blocks):
    lines = ["id,v"] + [f"{i},abc" for i in range(1, 200)]
    body = "\n".join(lines) + "\n"
    bad = body.replace("\n180,abc\n", "\n12,abc\n")
    with pytest.raises(DataError, match=r"key 12 appears twice \(first at line 13\)") as info:
        read_csv(SMALL, write(tmp_path, bad))
    assert info.value.line == 181
    with pytest.raises(DataError, match="expected 2 fields, found 3") as info:
        read_csv(SMALL, write(tmp_path, body.replace("\n170,abc\n", "\n170,a,b\n")))
    assert info.value.line == 171
    ints = "id,n\n" + "".join(f"{i},{i * 3}\n" for i in range(1, 200))
    with pytest.raises(DataError, match="not an integer") as info:
        small_csv(tmp_path, ints.replace("\n190,570\n", "\n190,5x\n"), {"n": {"type": "int"}})
    assert info.value.line == 191 and info.value.column == "n"


def test_utf8_checked_across_block_boundaries(tmp_path, tiny_blocks):
    # A two-byte character straddling every possible boundary is fine ...
    for pad in range(0, 100):
        text = "id,v\n1," + "a" * pad + "é\n2,b\n"
        assert read_csv(SMALL, write(tmp_path, text)).n_rows == 2
    # ... a bad byte far from the start is reported with its line and offset,
    body = "id,v\n" + "".join(f"{i},é{i}\n" for i in range(1, 120))
    data_ = body.encode("utf-8")
    at = data_.index(b"\n77,") + 4
    p = tmp_path / "bad.csv"
    p.write_bytes(data_[:at] + b"\xc3" + data_[at + 2:])  # é cut to its first byte
    with pytest.raises(DataError, match=rf"not valid UTF-8 \(byte offset {at}\)") as info:
        read_csv(SMALL, p)
    assert info.value.line == 78
    # ... and so is a character cut off by the end of the file.
    p.write_bytes(data_ + b"120,\xe2\x82")
    with pytest.raises(DataError, match=rf"not valid UTF-8 \(byte offset {len(data_) + 4}\)") as info:
        read_csv(SMALL, p)
    assert info.value.line == 121


# ------------------------------------------------------------ streamed writing
# write_csv formats a batch of rows at a time into a temporary file beside the target
# and renames it into place; small batches put every boundary in a few rows.


def test_batched_writing_gives_the_same_bytes(tmp_path):
    rows = _guest_rows(300)
    whole, batched = tmp_path / "whole.csv", tmp_path / "batched.csv"
    write_csv(SCHEMA, rows, whole)
    for batch in (1, 7, 299, 300, 301):
        write_csv(SCHEMA, rows, batched, batch=batch)
        assert batched.read_bytes() == whole.read_bytes(), batch
    write_csv(SCHEMA, [], batched, batch=7)
    assert batched.read_text(encoding="utf-8") == ",".join(COLUMNS) + "\n"


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    from segdsl.data import tables as data

    path = tmp_path / "guests.csv"
    write_csv(SCHEMA, _guest_rows(5), path)
    path.chmod(0o640)
    before = path.read_bytes()
    real, calls = data._format_column, []

    def failing(f, col):
        calls.append(f.column)
        if len(calls) > len(COLUMNS):  # the second batch
            raise OSError("disk full")
        return real(f, col)

    monkeypatch.setattr(data, "_format_column", failing)
    with pytest.raises(OSError, match="disk full"):
        write_csv(SCHEMA, _guest_rows(30), path, batch=10)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guests.csv"]  # no temporary file left
    monkeypatch.setattr(data, "_format_column", real)
    write_csv(SCHEMA, _guest_rows(30), path, batch=10)
    assert read_csv(SCHEMA, path).n_rows == 30
    assert path.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its permissions


def test_from_columns_is_from_records_by_column():
    rows = _guest_rows(40)
    by_column = {c: [r[c] for r in rows] for c in COLUMNS}
    assert Table.from_columns(SCHEMA, by_column).records() == Table.from_records(SCHEMA, rows).records()
    with pytest.raises(DataError, match="column `tags`: no values for this column"):
        Table.from_columns(SCHEMA, {c: v for c, v in by_column.items() if c != "tags"})
    with pytest.raises(DataError, match=r"columns of different lengths: \[39, 40\]"):
        Table.from_columns(SCHEMA, {**by_column, "n": by_column["n"][1:]})
    with pytest.raises(DataError, match=r"column `guest_id`: row 4: `id` is not nullable"):
        Table.from_columns(SCHEMA, {**by_column, "guest_id": [0, 1, 2, None] + by_column["guest_id"][4:]})
    with pytest.raises(DataError, match=r"row 3: the key 0 appears twice \(first at row 1\)"):
        Table.from_columns(SCHEMA, {**by_column, "guest_id": [0, 1, 0] + by_column["guest_id"][3:]})


def test_open_atomic_refuses_to_append(tmp_path):
    from segdsl.data.files import open_atomic

    with pytest.raises(ValueError, match="mode 'a' is not"), open_atomic(tmp_path / "x.txt", "a"):
        pass
    assert not list(tmp_path.iterdir())


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        write_csv(SCHEMA, _guest_rows(3), tmp_path / "new.csv")
    finally:
        os.umask(old)
    assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o640
