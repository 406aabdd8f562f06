"""Inputs that once ended in an internal error (exit 70) get a clear message instead:
an as-of whose offset carries it past the calendar, and a bad CSV value on a row after
a cell longer than Python's csv module reads by default."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import segdsl
from segdsl.check.traits import schema_from_dict
from segdsl.data.tables import DataError, read_csv
from segdsl.ir.semantics import parse_as_of

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
HOTEL = ROOT / "examples" / "hospitality"

#: Instants in the years 1-9999 as written whose offset moves them outside once in UTC.
BEYOND = ["0001-01-01T00:00:00+01:00", "0001-01-01T00:59:59.999999+01:00", "9999-12-31T23:00:00-05:00",
          "9999-12-31T23:59:59.999999-00:01"]


@pytest.mark.parametrize("text", BEYOND)
def test_an_as_of_moved_past_the_calendar_by_its_offset_is_refused(text):
    with pytest.raises(ValueError, match="outside the years 0001-9999 once in UTC"):
        parse_as_of(text)
    with pytest.raises(segdsl.UsageError, match="outside the years 0001-9999"):
        segdsl.parse_as_of(text)
    value = dt.datetime.fromisoformat(text)
    with pytest.raises(segdsl.UsageError, match="outside the years 1-9999"):
        segdsl.parse_as_of(value)


def test_an_as_of_at_the_calendars_edge_in_utc_still_works():
    assert parse_as_of("0001-01-01T00:00:00-01:00") == dt.datetime(1, 1, 1, 1, tzinfo=dt.timezone.utc)
    assert parse_as_of("9999-12-31T23:59:59.999999Z").year == 9999


@pytest.mark.parametrize("command", [["size", "segments.seg"], ["compile", "segments.seg"]])
def test_the_cli_says_which_as_of_is_out_of_range(command):
    proc = subprocess.run([SEGDSL, *command, "--as-of", BEYOND[0]], cwd=HOTEL, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "outside the years 0001-9999" in proc.stderr and "internal error" not in proc.stderr


def test_a_bad_value_after_a_huge_cell_names_its_line(tmp_path):
    schema, diagnostics = schema_from_dict({"entity": "guest", "table": "guests", "key": "id", "fields": {
        "id": {"type": "int", "nullable": False}, "note": {"type": "text"}, "n": {"type": "int"}}})
    assert schema is not None, diagnostics
    path = tmp_path / "guests.csv"
    # The huge cell is quoted and holds a line break, so rows and lines differ.
    path.write_text(f'id,note,n\n1,"{"x" * 200_000}\nmore",1\n2,ok,2\n3,fine,three\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_csv(schema, path)
    assert caught.value.line == 5 and caught.value.column == "n", caught.value
    assert "'three' is not an integer" in str(caught.value)
    # And the process-wide limit of Python's csv module is left as it was.
    import csv

    assert csv.field_size_limit() == 131_072
