"""A syntax error in one declaration hides nothing in the others: the parser recovers at
the next declaration, and a missing bracket is reported where it was opened."""

from __future__ import annotations

import time

from segdsl.syntax.parser import parse_expression, parse_source


def test_other_declarations_are_kept_and_the_broken_one_is_named():
    text = ('segment a { where ltv > }\n'
            'segment b { where ltv > 5 }\n'
            'static segment c { members [1, 2 }\n'
            'journey j { audience in segment b }\n'
            'smart segment d { where churn_risk_score >= 70 }\n')
    parsed = parse_source("r.seg", text)
    assert parsed.module is None  # the file as a whole does not parse (formatter, editors rely on it)
    assert [d.code for d in parsed.diagnostics] == ["E0010", "E0010"]
    assert [s.name for s in parsed.partial.segments] == ["b", "d"]
    assert [j.name for j in parsed.partial.journeys] == ["j"]
    assert parsed.broken == ("a", "c")
    # Spans stay offsets into the whole file.
    (b,) = [s for s in parsed.partial.segments if s.name == "b"]
    assert text[b.name_span.start:b.name_span.end] == "b"
    assert text[b.span.start:b.span.end] == "segment b { where ltv > 5 }"


def test_a_bad_literal_keeps_the_other_declarations():
    parsed = parse_source("r.seg", "segment a { where d > 2026-02-30 }\nsegment b { where x > 1 }\n")
    assert [d.code for d in parsed.diagnostics] == ["E0015"]
    assert [s.name for s in parsed.partial.segments] == ["b"] and parsed.broken == ("a",)


def test_a_missing_brace_points_at_the_brace_and_lists_no_parenthesis():
    text = "segment a {\n    where ltv > 5\n\nsegment b { where ltv > 6 }\n"
    (diag,) = parse_source("r.seg", text).diagnostics
    assert diag.message == "`{` is never closed"
    assert (diag.span.start, diag.span.end) == (10, 11)
    assert "`)`" not in (diag.help or "")


def test_a_closing_parenthesis_is_suggested_only_when_one_is_open():
    (diag,) = parse_source("r.seg", "segment a { where ltv > 5 5 }\n").diagnostics
    assert "`)`" not in diag.help
    (diag,) = parse_source("r.seg", "segment a { where (ltv > 5 5) }\n").diagnostics
    assert "`)`" in diag.help
    (diag,) = parse_expression("ltv > 5 5").diagnostics
    assert "`)`" not in diag.help


def test_keywords_inside_a_declaration_do_not_split_it():
    # `in segment x`, a keyword as a (bad) name and a kind before `segment`.
    parsed = parse_source("r.seg", "segment a { where in segment b and }\nstatic segment b { members [1] }\n")
    assert parsed.broken == ("a",) and [s.name for s in parsed.partial.segments] == ["b"]
    parsed = parse_source("r.seg", "segment segment { where x }\nsegment c { where x }\n")
    assert parsed.diagnostics and [s.name for s in parsed.partial.segments] == ["c"]


def test_recovery_stays_linear():
    good = "".join(f"segment s{i} {{ where ltv > {i} }}\n" for i in range(3_000))
    started = time.perf_counter()
    parse_source("big.seg", good)
    clean = time.perf_counter() - started
    started = time.perf_counter()
    parsed = parse_source("big.seg", "segment broken { where ltv > }\n" + good)
    recovering = time.perf_counter() - started
    assert len(parsed.partial.segments) == 3_000
    assert recovering < 6 * clean + 1.0, (clean, recovering)


def test_the_api_checks_the_declarations_that_parse():
    from pathlib import Path

    import segdsl

    schema = Path(__file__).resolve().parent.parent / "examples" / "hospitality" / "schema.toml"
    text = ("segment a { where ltv > }\n"
            "segment b { where in segment a and lvt > 5 }\n"
            "segment c { where in segment nowhere }\n")
    result = segdsl.check_modules(segdsl.parse(text, "r.seg"), schema)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("E0010", "unexpected `}`"),
        ("E0101", "unknown field `lvt`"),
        ("E0108", "unknown segment `nowhere`"),
    ]
