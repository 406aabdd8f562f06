"""``segdsl members import``: a CSV file is read as CSV. A quoted cell holding a line
break (or U+2028) is one cell, never two keys run together; a cell that is not a key,
and one too long to read, are reported with the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from segdsl.cli.lifecycle import members
from segdsl.project.members import MemberEditError, key_field, read_csv_keys

ROOT = Path(__file__).resolve().parent.parent
TEXT_SCHEMA = 'entity = "guest"\ntable = "guests"\nkey = "code"\n[fields.code]\ntype = "text"\nnullable = false\n'


def _project(tmp_path: Path, text_keys: bool = False) -> Path:
    if text_keys:
        (tmp_path / "schema.toml").write_text(TEXT_SCHEMA)
        body = '["A"]'
    else:
        shutil.copy(ROOT / "examples" / "hospitality" / "schema.toml", tmp_path / "schema.toml")
        body = "[1]"
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\n')
    seg = tmp_path / "s.seg"
    seg.write_text(f"static segment vip {{\n    members {body}\n}}\n")
    return seg


def _import(seg: Path, csv_text: str, *args: str):
    csv_file = seg.parent / "keys.csv"
    csv_file.write_bytes(csv_text.encode("utf-8"))
    before = seg.read_bytes()
    result = CliRunner().invoke(members, ["import", str(seg), "vip", str(csv_file), *args])
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result, before, csv_file


@pytest.mark.parametrize("cell", ['"4\n5"', '"4\r\n5"', '"4\u20285"', '"4\u20295"', "4\u20285"])
def test_a_cell_with_a_line_break_is_one_bad_key_not_two_joined(tmp_path, cell):
    seg = _project(tmp_path)
    result, before, csv_file = _import(seg, f"guest_id\n7\n{cell}\n8\n")
    assert result.exit_code == 1
    assert f"{csv_file}:3: '4" in result.stderr and "is not an integer key (`guest_id`)" in result.stderr
    assert seg.read_bytes() == before  # nothing added, not 7, not 45


def test_text_keys_keep_commas_and_refuse_line_breaks(tmp_path):
    seg = _project(tmp_path, text_keys=True)
    result, _, _ = _import(seg, 'code,note\nB,"x, y"\n"C, D","multi\nline note"\n')
    assert result.exit_code == 0, result.output
    assert read_keys(seg) == ["A", "B", "C, D"]
    result, before, csv_file = _import(seg, 'code\nE\n"x\ny"\n')
    assert result.exit_code == 1
    assert f"{csv_file}:3: 'x\\ny' is not a usable key" in result.stderr
    result, before, csv_file = _import(seg, "code\nE\nx\u2028y\n")
    assert result.exit_code == 1 and f"{csv_file}:3: 'x\\u2028y' is not a usable key" in result.stderr
    assert seg.read_bytes() == before


def read_keys(seg: Path) -> list:
    from segdsl.project.workspace import load_workspace

    return list(load_workspace([seg]).segments["vip"].members)


def test_the_line_given_is_where_the_row_starts(tmp_path):
    seg = _project(tmp_path)
    result, _, csv_file = _import(seg, 'guest_id,note\n7,"two\nlines"\n8,"three\nmore\nlines"\nx9,ok\n')
    assert result.exit_code == 1 and f"{csv_file}:7: `x9` is not an integer key" in result.stderr


def test_a_cell_too_long_to_read_is_reported_with_its_line(tmp_path):
    seg = _project(tmp_path)
    result, before, csv_file = _import(seg, "guest_id,note\n7,a\n8," + "x" * 140_000 + "\n9,b\n")
    assert result.exit_code == 1
    assert f"{csv_file}:3: not a CSV file segdsl can read: a cell is longer than 131,072 characters" in result.stderr
    assert seg.read_bytes() == before


def test_read_csv_keys_reads_quoted_cells_and_a_byte_order_mark(tmp_path):
    seg = _project(tmp_path)
    path = tmp_path / "k.csv"
    path.write_bytes(b'\xef\xbb\xbfname,guest_id\r\n"Doe, Jane",1001\r\n\r\n"x\r\ny", 1002 \r\n')
    assert read_csv_keys(path, key_field(seg)) == [1001, 1002]
    path.write_text("")
    with pytest.raises(MemberEditError, match="is empty"):
        read_csv_keys(path, key_field(seg))
