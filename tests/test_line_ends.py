"""Line ends are the ones editors show: ``\\n``, ``\\r\\n`` and a lone ``\\r``, everywhere.

What a reviewer reads must be what runs: a comment stops at a lone carriage return (an
editor, a diff and an LSP client all start a new line there), and U+2028/U+2029, which
some viewers break lines at and others do not, are rejected outside strings. Line and
column numbers, in the CLI's diagnostics as in the language server, count lines the
way LSP does, so ``file:line:column`` points where the editor shows it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.lsp.text import UTF16, UTF32, LineIndex, scan
from segdsl.syntax import ast
from segdsl.syntax.formatter import format_source
from segdsl.syntax.parser import parse_bytes, parse_expression, parse_source
from segdsl.syntax.span import SourceFile, line_starts

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
SCHEMA = ROOT / "examples" / "hospitality" / "schema.toml"


def where_of(text: str) -> ast.Expr:
    result = parse_source("t.seg", text)
    assert result.module is not None, result.diagnostics
    (seg,) = result.module.segments
    (clause,) = [c for c in seg.clauses if isinstance(c, ast.Where)]
    return clause.expr


# ------------------------------------------------------------------- counting lines


def test_line_starts_count_lf_crlf_and_lone_cr_only():
    text = "a\nb\r\nc\rd\u2028e\u2029f\x85g\x0ch"
    assert line_starts(text) == [0, 2, 5, 7]
    src = SourceFile("t.seg", text)
    assert [src.line_text(n) for n in range(1, src.line_count + 1)] == ["a", "b", "c", "d\u2028e\u2029f\x85g\x0ch"]
    h = text.index("h")
    assert src.position(h).line == 4 and src.position(h).column == h - 7 + 1
    assert src.offset_of(4, 3) == text.index("e")
    # A CR before LF is one line end, not two.
    assert SourceFile("t", "x\r\n\r\ny").position(5).line == 3


def test_line_index_agrees_with_lsp():
    text = "😀a\r\nb\u2028c\rd\n"
    index = LineIndex(text)
    assert index.line_starts == [0, 4, 8, 10]
    assert index.position(text.index("a"), UTF16) == (0, 2)  # the emoji is two UTF-16 units
    assert index.position(text.index("a"), UTF32) == (0, 1)
    assert index.position(text.index("c"), UTF16) == (1, 2)  # U+2028 is a character on line 1
    assert index.position(text.index("d"), UTF16) == (2, 0)
    # Inside a CRLF is the end of its line; past a line's end clamps to it (not into the next line).
    assert index.position(3) == (0, 3)
    assert index.offset(0, 99) == text.index("\r")
    assert index.offset(1, 99) == text.index("c") + 1
    assert index.offset(3, 0) == len(text) and index.offset(9, 9) == len(text)
    assert index.offset(0, 1, UTF16) == 1  # half of the emoji: after it
    assert index.offset(1, 2, UTF32) == text.index("c")


def test_token_scan_ends_comments_at_a_lone_cr():
    text = "# note\rltv > 1\r\n# x\u2028y z\n"
    sc = scan(text)
    assert [t.text for t in sc.tokens] == ["ltv", ">", "1"]
    assert sc.comments == ((0, 6), (text.index("# x"), text.index(" z\n") + 2))


# --------------------------------------------------------------------- the grammar


def test_code_after_a_lone_cr_is_code_not_comment():
    """The issue's example: `# note<CR>ltv > 1 and email_opt_in` shows a rule in review;
    it is the rule that runs."""
    text = "segment s {\n    # note\r    where ltv > 1 and email_opt_in\n}\n"
    rule = where_of(text)
    assert isinstance(rule, ast.BoolOp) and rule.op == "and" and len(rule.items) == 2
    # A trailing comment stops at the CR too: the second line of the rule counts.
    rule = where_of("segment s {\n    where email_opt_in # reachable\r      and ltv > 1\n}\n")
    assert isinstance(rule, ast.BoolOp) and len(rule.items) == 2
    module = parse_source("t.seg", "# a\rsegment s { where ltv > 1 } # b\r").module
    assert [c.text for c in module.comments] == ["# a", "# b"]
    expr = parse_expression("ltv > 1 # why\rand email_opt_in")
    assert isinstance(expr.expr, ast.BoolOp) and len(expr.expr.items) == 2


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_unicode_line_separators_outside_strings_are_errors(separator: str):
    for text, where in [
        (f"# one{separator}segment s {{ where ltv > 1 }}\n", "in a comment"),
        (f"segment s {{ where ltv > 1{separator}and email_opt_in }}\n", "outside a string"),
    ]:
        result = parse_source("t.seg", text)
        assert result.module is None
        (d,) = result.diagnostics
        assert d.code == "E0005" and where in d.message and f"U+{ord(separator):04X}" in d.message
        assert d.span.start == text.index(separator) and d.help
    # In a string it is data: a CRM field may hold one.
    text = f'segment s {{ where note = "a{separator}b" # "quoted" in a comment\n}}\n'
    assert parse_source("t.seg", text).module is not None


def test_next_line_u0085_is_rejected_everywhere():
    text = 'segment s { where note = "a\x85b" }\n'
    (d,) = parse_source("t.seg", text).diagnostics
    assert d.code == "E0002" and "U+0085 (NEXT LINE)" in d.message and d.span.start == text.index("\x85")


def test_invalid_utf8_position_counts_lsp_lines():
    data = "segment s {\r    where note = \"".encode() + b"\xe9\"\r}\r"
    result = parse_bytes("t.seg", data)
    (d,) = result.diagnostics
    assert d.code == "E0001"
    pos = result.source.position(d.span.start)
    assert (pos.line, pos.column) == (2, 19)


# ------------------------------------------------------------------- the formatter


def test_formatter_treats_a_lone_cr_as_a_line_end():
    text = "# header\rsegment s {\r    where email_opt_in # reachable\r      and ltv > 1\r}\r"
    out, diags = format_source(text)
    assert diags == ()
    assert out == ("# header\nsegment s {\n    where email_opt_in  # reachable\n      and ltv > 1\n}\n")
    assert format_source(out) == (out, ())
    # CRLF files keep CRLF; a blank line made of CRs is a blank line.
    out, _ = format_source("# a\r\rsegment s { where ltv > 1 }\r\n")
    assert out == "# a\n\nsegment s {\n    where ltv > 1\n}\n"
    out, _ = format_source("segment s { where ltv > 1 }\r\n# a\r\n")
    assert out == "segment s {\r\n    where ltv > 1\r\n}\r\n\r\n# a\r\n"


def test_formatter_refuses_a_line_separator_in_a_comment():
    out, diags = format_source("segment s { where ltv > 1 } # a\u2028b\n")
    assert out is None and [d.code for d in diags] == ["E0005"]


# ------------------------------------------------------------------------ the CLI


def run(*args: str, cwd: Path, code: int) -> subprocess.CompletedProcess:
    proc = subprocess.run([SEGDSL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def test_cli_line_numbers_agree_with_editors(tmp_path: Path):
    shutil.copy(SCHEMA, tmp_path / "schema.toml")
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\n')
    # Line 3 as an editor shows it: lone CRs end lines 1 and 2, and the U+2028 in the
    # string on line 1 ends none.
    (tmp_path / "a.seg").write_bytes('segment a "one\u2028two" {\r    where ltv > 1 # note\r      and bogus\r}\r'.encode())
    out = run("check", "a.seg", cwd=tmp_path, code=1).stdout
    assert "error[E0101]: unknown field `bogus`" in out
    assert "--> a.seg:3:11" in out
    assert "3 |       and bogus" in out
    data = json.loads(run("check", "a.seg", "--format", "json", cwd=tmp_path, code=1).stdout)
    (d,) = data["diagnostics"]
    assert (d["location"]["line"], d["location"]["column"]) == (3, 11)


def test_cli_reports_a_line_separator_with_its_position(tmp_path: Path):
    shutil.copy(SCHEMA, tmp_path / "schema.toml")
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\n')
    (tmp_path / "b.seg").write_bytes("segment b {\n    # hidden\u2028where ltv > 1\n    where ltv > 2\n}\n".encode())
    out = run("check", "b.seg", cwd=tmp_path, code=1).stdout
    assert "error[E0005]: U+2028 (LINE SEPARATOR) in a comment is not allowed" in out
    assert "--> b.seg:2:13" in out
    assert "2 |     # hidden\ufffdwhere ltv > 1" in out  # shown, never as a line break
    assert "= help:" in out
    proc = run("fmt", "--check", "b.seg", cwd=tmp_path, code=1)
    assert "E0005" in proc.stdout + proc.stderr


def test_imported_json_values_keep_unicode_line_separators():
    """A CRM value may hold U+2028; in a .seg string it is allowed, so an imported rule
    keeps it exactly (E0005 is for .seg text outside strings only)."""
    from segdsl.interchange import import_json
    from segdsl.check.traits import load_schema

    schema, _ = load_schema(SCHEMA)
    value = "a\u2028b\u2029c"
    data = json.dumps({"id": "s", "rules": [{"field": "email", "operator": "eq", "value": value}]})
    text, diags = import_json(data, "in.json", schema, "auto")
    assert text is not None, diags
    assert where_of(text).right.value == value
