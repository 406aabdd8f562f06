"""One vocabulary, read from the grammar: the keywords, the terminals' patterns and the
editor's token scan agree with what Lark makes of ``grammar/segdsl.lark``, and every
place that lists the language's words (schema, parser, language server, the VS Code
grammar) has exactly them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from segdsl import ir
from segdsl.schema.model import read_schema_dict
from segdsl.syntax import keywords, tokens
from segdsl.syntax.keywords import KEYWORDS, NAME, first_words, terminal
from segdsl.syntax.parser import lark_parser, parse_expression, parse_source

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(ROOT.glob("examples/**/*.seg"))


def _lark_words() -> set[str]:
    """Every word a terminal of Lark's compiled grammar matches instead of ``NAME``."""
    lark = lark_parser("module")
    candidates = {t.pattern.value for t in lark.terminals if t.pattern.type == "str"}
    candidates |= set(re.findall(r"[A-Za-z_]+", keywords.grammar_text()))
    others = [re.compile(t.pattern.to_regexp()) for t in lark.terminals if t.name != "NAME"]
    return {w for w in candidates if NAME.fullmatch(w) and any(p.fullmatch(w) for p in others)}


def test_the_keywords_are_the_words_lark_reads_as_terminals():
    assert KEYWORDS == _lark_words()
    assert {"and", "segment", "days_since", "latest", "journey", "if", "days", "week"} <= KEYWORDS
    assert not {"ltv", "NAME", "completed", "lark"} & KEYWORDS


@pytest.mark.parametrize("name", ["NAME", "INT", "DECIMAL", "DATE", "TIMESTAMP", "STRING", "COMMENT"])
def test_a_terminal_pattern_matches_what_larks_does(name):
    # Lark turns `\n` in a /regexp/ into a line break before compiling it; the two
    # texts differ, so compare what they match, at every offset of every example.
    ours, lark = terminal(name), re.compile(lark_parser("module").get_terminal(name).pattern.to_regexp())
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLES] + [
        '"a\\"b" "c\\\\" "d\ne" "f\rg" # x\r\n 2024-02-30T25:61:00+01:00 -0_1 1_000.5_0 2024-01-01T1',
    ]
    for text in texts:
        for pos in range(len(text)):
            a, b = ours.match(text, pos), lark.match(text, pos)
            assert (a and a.end()) == (b and b.end()), (name, text[pos : pos + 30])


def test_first_words_follow_the_grammar():
    assert first_words("agg_fn") == ("count", "sum", "min", "max", "latest")
    assert first_words("segment_kind") == ("static", "smart", "dynamic")
    assert first_words("clause") == ("description", "refresh", "where", "members")
    assert set(first_words("UNIT")) == {"day", "days", "week", "weeks", "hour", "hours"}


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_a_keyword_cannot_name_a_field_nor_a_segment(word):
    _, diags = read_schema_dict({"entity": "e", "table": "t", "key": "id",
                                 "fields": {"id": {"type": "int", "nullable": False}, word: {"type": "int"}}})
    assert [d.message for d in diags] == [f"field `{word}`: `{word}` is a keyword of the language and cannot be a field name"]
    parsed = parse_source("k.seg", f"segment {word} {{ where x }}\n")
    assert parsed.module is None and parsed.diagnostics[0].code in ("E0010", "E0017")
    assert f"`{word}`" in parsed.diagnostics[0].message


def test_a_misplaced_keyword_is_named_as_one():
    (d,) = parse_expression("ltv > 1 and within > 2").diagnostics
    assert d.message == "`within` is a keyword, not a field name"


# ------------------------------------------------------------------ the editor scan


def test_every_terminal_has_a_kind_in_the_editor_scan():
    kinds = tokens.terminal_kinds()
    assert set(kinds) == {t.name for t in lark_parser("module").terminals}
    assert set(kinds.values()) <= {"name", "string", "number", "date", "op", "punct", "comment", "blank"}


def _lark_tokens(text: str) -> list[tuple[str, str, int]]:
    from lark import Lark

    basic = Lark(keywords.grammar_text(), parser="lalr", lexer="basic", start="module")
    kinds = tokens.terminal_kinds()
    return [(kinds[t.type], str(t), t.start_pos) for t in basic.lex(text, dont_ignore=True) if kinds[t.type] != "blank"]


def test_the_editor_scan_reads_every_example_as_larks_lexer_does():
    assert EXAMPLES
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        ours = []
        pos = 0
        for line in text.split("\n"):
            ours += [(kind, tok, start + pos) for kind, tok, start, _, _ in tokens.scan_line(line)]
            pos += len(line) + 1
        assert ours == _lark_tokens(text), path


def test_the_editor_scan_never_fails():
    scanned = tokens.scan_line("where ltv >= 1_000 and tier = 'Gold' or name = \"open ÷ ＝")
    assert [(k, t) for k, t, _, _, _ in scanned] == [
        ("name", "where"), ("name", "ltv"), ("op", ">="), ("number", "1_000"), ("name", "and"),
        ("name", "tier"), ("op", "="), ("other", "'"), ("name", "Gold"), ("other", "'"), ("name", "or"),
        ("name", "name"), ("op", "="), ("string", '"open ÷ ＝'),
    ]
    assert scanned[-1][4] is True  # the string is open
    assert [t[4] for t in tokens.scan_line('"a\\"b" "c\\"')] == [False, True]


# ------------------------------------------------------------ the VS Code grammar


def _textmate_words() -> tuple[set[str], set[str]]:
    """Words the VS Code grammar highlights: (keywords, refresh cadences)."""
    path = ROOT / "editors" / "vscode" / "syntaxes" / "segdsl.tmLanguage.json"
    repository = json.loads(path.read_text(encoding="utf-8"))["repository"]

    def words(rx: str) -> set[str]:
        out = set()
        for group in re.findall(r"\(([a-z_?|]+)\)", rx):  # (and|or|not), (days?|weeks?)
            for alt in group.split("|"):
                optional = re.fullmatch(r"([a-z_]*)([a-z_])\?", alt)
                out |= {optional[1], optional[1] + optional[2]} if optional else {alt}
        return out

    found = set()
    for entry in repository.values():
        for rx in [entry.get("match", "")] + [p.get("match", "") for p in entry.get("patterns", [])]:
            found |= words(rx)
    cadences = words(repository["refresh"]["match"]) - {"refresh"}
    return found - cadences, cadences


def test_the_vscode_grammar_highlights_exactly_the_keywords():
    highlighted, cadences = _textmate_words()
    assert highlighted == KEYWORDS, (
        f"missing from the VS Code grammar: {sorted(KEYWORDS - highlighted)}; "
        f"highlighted but not keywords: {sorted(highlighted - KEYWORDS)}"
    )
    assert cadences == set(ir.CADENCES)


def test_the_language_docs_list_exactly_the_keywords():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    listed = text[text.index("**Keywords** are lower-case and reserved") :]
    listed = listed[listed.index("```\n") + 4 :]
    listed = set(listed[: listed.index("```")].split())
    assert listed == KEYWORDS, f"missing: {sorted(KEYWORDS - listed)}; not keywords: {sorted(listed - KEYWORDS)}"
