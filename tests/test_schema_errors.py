"""Schema (TOML) problems: every one at once, each at its line and column, with a
did-you-mean for misspelt keys and type names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from segdsl.check.traits import load_schema

SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"

BROKEN = '''entity = "guest"
table = "guests"
key = "guest_id"
enitty_doc = "x"

[fields.guest_id]
type = "integer"
nullable = false

[fields.ltv]
type = "decimal(12, 2)"
nulable = true

[sources.bookings]
table = "bookings"
id = "booking_id"
entity_key = "guest_id"
columns.booking_id = { type = "int", nullable = false }
columns.guest_id = { type = "int", nullabel = false }
'''


def _project(tmp_path: Path, schema: str) -> Path:
    (tmp_path / "schema.toml").write_text(schema)
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\n')
    (tmp_path / "a.seg").write_text("segment a { where ltv > 1 }\n")
    return tmp_path


def _position(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1:]


def test_every_problem_at_once_with_positions_and_suggestions(tmp_path):
    _, diags = load_schema(_project(tmp_path, BROKEN) / "schema.toml")
    found = {(d.message, d.help) for d in diags}
    assert ("unknown key `enitty_doc` in the schema", "did you mean `entity`?") in found
    assert any(m.startswith("field `guest_id`: unknown type `integer`") and h == "did you mean `int`?"
               for m, h in found)
    assert ("field `ltv`: unknown key `nulable`", "did you mean `nullable`?") in found
    assert ("source `bookings`: field `guest_id`: unknown key `nullabel`", "did you mean `nullable`?") in found
    assert len(diags) == 4
    for d in diags:  # each points at the key it is about
        word = d.message.split("`")[-2] if "unknown key" in d.message else "type"
        assert BROKEN[d.span.start:d.span.end] == word, d


def test_the_cli_shows_line_and_column(tmp_path):
    proc = subprocess.run([SEGDSL, "check", "--format", "json"], cwd=_project(tmp_path, BROKEN),
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    diags = json.loads(proc.stdout)["diagnostics"]
    where = {d["message"]: (d["location"]["line"], d["location"]["column"]) for d in diags}
    assert where["field `ltv`: unknown key `nulable`"] == (12, 1)
    assert where["source `bookings`: field `guest_id`: unknown key `nullabel`"] == (19, 36)
    text = subprocess.run([SEGDSL, "check"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "schema.toml:12:1" in text and "nulable = true" in text and "^^^^^^^" in text


def test_invalid_toml_points_at_the_position(tmp_path):
    _, diags = load_schema(_project(tmp_path, 'entity = "guest"\ntable = \n') / "schema.toml")
    (d,) = diags
    assert d.code == "E0301" and d.span.start == len('entity = "guest"\ntable = ')


def test_type_aliases_and_misspellings_are_suggested(tmp_path):
    for wrong, right in [("string", "text"), ("boolean", "bool"), ("datetime", "timestamp"), ("decimall", "decimal")]:
        schema = f'entity = "e"\ntable = "t"\nkey = "id"\n[fields.id]\ntype = "int"\nnullable = false\n[fields.x]\ntype = "{wrong}"\n'
        _, diags = load_schema(_project(tmp_path, schema) / "schema.toml")
        assert [d.help for d in diags] == [f"did you mean `{right}`?"], wrong
