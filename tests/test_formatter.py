"""`segdsl fmt`: one canonical layout, every comment kept, meaning never changed.

Golden-style cases pin the layout on hand-written messy input and put comments in every
position a user can. Hypothesis then writes whole modules as source text — random rules,
random comments, random whitespace and line breaks, CRLF files — and demands that the
output parses to the same AST with the same comments in the same order, and that
formatting it again changes nothing. The command is run through click's test runner.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl.syntax import formatter
from segdsl.cli.fmt import fmt
from segdsl.syntax.formatter import WIDTH, format_expression, format_source
from segdsl.syntax.parser import parse_expression, parse_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.seg"))


def fmt_ok(text: str) -> str:
    out, diags = format_source(text)
    assert diags == (), diags
    assert out is not None
    return out


def comment_texts(text: str) -> list[str]:
    module = parse_source("<t>", text).module
    assert module is not None
    return [c.text.rstrip(" \t\r") for c in module.comments]


def assert_faithful(src: str, out: str) -> None:
    before, after = parse_source("<in>", src), parse_source("<out>", out)
    assert after.module is not None, after.diagnostics
    assert after.module == before.module
    assert comment_texts(out) == comment_texts(src)


# ----------------------------------------------------------------------- layout


def test_messy_module_gets_the_canonical_layout():
    src = (
        "\n\nstatic   segment   vip\t\"VIP\"{members[1001,1002 ,1003,]}\n\n\n\n"
        "segment lapsed{refresh   weekly where days_since_booking>=180 description \"Gone\" }"
        "smart segment churn {where churn_risk_score >= 70 and(status=\"ACTIVE\")}\n"
        "dynamic segment d { where not(a or b) and not not c }"
    )
    assert fmt_ok(src) == (
        'static segment vip "VIP" {\n'
        "    members [1001, 1002, 1003]\n"
        "}\n"
        "\n"
        "segment lapsed {\n"
        "    refresh weekly\n"
        "    where days_since_booking >= 180\n"
        '    description "Gone"\n'
        "}\n"
        "\n"
        "smart segment churn {\n"
        '    where churn_risk_score >= 70 and status = "ACTIVE"\n'
        "}\n"
        "\n"
        "dynamic segment d {\n"
        "    where not (a or b) and not not c\n"
        "}\n"
    )


def test_literals_keep_their_spelling_and_strings_are_canonical():
    src = 'segment s "T\\"q" { where ltv >= 150_000 and d < 1_000.50 and ts > 2024-03-31T23:30:00+02:00 ' \
          'and t = "tab\there" and x within 1 days and y before 2 week ago }'
    assert fmt_ok(src) == (
        'segment s "T\\"q" {\n'
        "    where ltv >= 150_000\n"
        "      and d < 1_000.50\n"
        "      and ts > 2024-03-31T23:30:00+02:00\n"
        '      and t = "tab\\there"\n'
        "      and x within 1 day\n"
        "      and y before 2 weeks ago\n"
        "}\n"
    )


def test_long_rules_break_one_operand_per_line_and_recurse_into_groups():
    src = (
        "segment s { where membership_status = \"ACTIVE\" and (membership_tier in [\"Gold\", \"Platinum\"] "
        "or handicap_index_for_the_season < 15 or lifetime_rounds_played >= 200 or juniors) and (a or b) }"
    )
    out = fmt_ok(src)
    assert out == (
        "segment s {\n"
        '    where membership_status = "ACTIVE"\n'
        '      and (membership_tier in ["Gold", "Platinum"]\n'
        "           or handicap_index_for_the_season < 15\n"
        "           or lifetime_rounds_played >= 200\n"
        "           or juniors)\n"
        "      and (a or b)\n"
        "}\n"
    )
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_a_rule_that_fits_in_88_columns_stays_on_one_line():
    head = "    where "
    for width, lines in ((WIDTH, 3), (WIDTH + 1, 6)):
        rule = " and ".join(f"field_{i} >= {i}" for i in range(3))
        rule += " and " + "x" * (width - len(head) - len(rule) - len(" and  >= 0")) + " >= 0"
        assert len(head + rule) == width
        out = fmt_ok(f"segment s {{ where {rule} }}")
        assert len(out.splitlines()) == lines
        assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_and_inside_a_broken_or_is_parenthesised_only_when_it_breaks():
    src = (
        "segment s { where a_fairly_long_field_name > 1 or second_long_field_name < 2 and x "
        "or ccccccccccccccccccccccccccccccc and ddddddddddddddddddddddddddddddddd and eeeeeeeeeeeeeeeeeeeeeee }"
    )
    out = fmt_ok(src)
    assert out == (
        "segment s {\n"
        "    where a_fairly_long_field_name > 1\n"
        "       or second_long_field_name < 2 and x\n"
        "       or (ccccccccccccccccccccccccccccccc\n"
        "           and ddddddddddddddddddddddddddddddddd\n"
        "           and eeeeeeeeeeeeeeeeeeeeeee)\n"
        "}\n"
    )
    assert_faithful(src, out)


def test_long_lists_fill_lines_aligned_after_the_bracket():
    members = ", ".join(str(1000 + i) for i in range(30))
    out = fmt_ok(f"static segment s {{ members [{members}] }}")
    lines = out.splitlines()
    assert lines[1].startswith("    members [1000, 1001,")
    assert all(line.startswith(" " * 13 + "1") for line in lines[2:-1])
    assert lines[-2].endswith("1029]")
    assert all(len(line) <= WIDTH for line in lines)
    tags = ", ".join(f'"tag_number_{i}"' for i in range(8))
    out = fmt_ok(f"segment s {{ where a and interests has any [{tags}] }}")
    assert out.splitlines()[2].startswith('      and interests has any ["tag_number_0",')
    assert out.splitlines()[3].startswith(" " * 29 + '"tag_number_')


def test_aggregate_rules_break_like_groups():
    src = (
        'segment s { where count(bookings where status = "completed" and amount_inr >= 10_000 # big\n'
        " and booked_at within 365 days) >= 3 and sum(bookings.amount_inr) > 1000 }"
    )
    out = fmt_ok(src)
    assert out == (
        "segment s {\n"
        '    where count(bookings where status = "completed"\n'
        "                               and amount_inr >= 10_000  # big\n"
        "                               and booked_at within 365 days) >= 3\n"
        "      and sum(bookings.amount_inr) > 1000\n"
        "}\n"
    )
    assert_faithful(src, out)


def test_long_rankings_put_their_population_on_a_line_of_its_own():
    src = (
        "segment s { where email_opt_in and lifetime_value_in_rupees in top 10% among in segment "
        "active_members_of_the_club and top 500 by lifetime_value_in_rupees among (membership_status = "
        '"ACTIVE" and handicap < 15) and top 500 by lifetime_value_in_rupees among (membership_status = '
        '"ACTIVE" and handicap_index_for_the_season < 15 and lifetime_rounds_played >= 200) and (x or '
        "top 1_000 by count(bookings where status = \"completed\" and amount_inr >= 10_000 and booked_at "
        "within 365 days) among in segment win_back) and ltv in top 5% among in segment lapsed }"
    )
    out = fmt_ok(src)
    assert out == (
        "segment s {\n"
        "    where email_opt_in\n"
        "      and lifetime_value_in_rupees in top 10%\n"
        "              among in segment active_members_of_the_club\n"
        "      and top 500 by lifetime_value_in_rupees\n"
        '              among (membership_status = "ACTIVE" and handicap < 15)\n'
        "      and top 500 by lifetime_value_in_rupees\n"
        '              among (membership_status = "ACTIVE"\n'
        "                     and handicap_index_for_the_season < 15\n"
        "                     and lifetime_rounds_played >= 200)\n"
        "      and (x\n"
        '           or top 1_000 by count(bookings where status = "completed"\n'
        "                                                and amount_inr >= 10_000\n"
        "                                                and booked_at within 365 days)\n"
        "                  among in segment win_back)\n"
        "      and ltv in top 5% among in segment lapsed\n"
        "}\n"
    )
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert_faithful(src, out)
    assert fmt_ok(out) == out
    # The same rule from column 0, where the first line has room to spare.
    rule, diags = format_expression("top 500 by lifetime_value_in_rupees among in segment win_back_customers_of_2024")
    assert (rule, diags) == ("top 500 by lifetime_value_in_rupees among in segment win_back_customers_of_2024", ())


def test_comments_around_a_broken_ranking_stay_in_order():
    src = (
        "segment x { where a # c1\n"
        " and top 5 by ltv # c2\n"
        " # c3\n"
        " among # c4\n"
        " in segment lapsed_guests_from_long_ago_and_more_words_to_make_it_long # c5\n"
        " and top 5 by ltv among (a # c6\n"
        " or b) and top 5 by count(bookings where a # c7\n"
        " and b) among in segment s and ltv in top 5% among (# c8\n"
        " a or b # c9\n"
        " ) # c10\n"
        "}"
    )
    out = fmt_ok(src)
    assert out == (
        "segment x {\n"
        "    where a  # c1\n"
        "      and top 5 by ltv  # c2\n"
        "              # c3\n"
        "              among in segment lapsed_guests_from_long_ago_and_more_words_to_make_it_long  # c4\n"
        "      # c5\n"
        "      and top 5 by ltv\n"
        "              among (a  # c6\n"
        "                     or b)\n"
        "      and top 5 by count(bookings where a  # c7\n"
        "                                        and b)\n"
        "              among in segment s\n"
        "      and ltv in top 5% among (a or b)  # c8\n"
        "    # c9\n"
        "    # c10\n"
        "}\n"
    )
    assert_faithful(src, out)
    assert fmt_ok(out) == out


def test_dynamic_is_written_only_when_the_user_wrote_it():
    assert fmt_ok("segment a { where x }").startswith("segment a {")
    assert fmt_ok("dynamic segment a { where x }").startswith("dynamic segment a {")


def test_empty_and_comment_only_files():
    assert fmt_ok("") == ""
    assert fmt_ok("  \n\n\t\n") == ""
    assert fmt_ok("# one\n\n\n\n# two   \n# three") == "# one\n\n# two\n# three\n"


def test_crlf_files_stay_crlf():
    out = fmt_ok("# c\r\nsegment a {\r\n  where x # t\r\n}\r\n")
    assert out == "# c\r\nsegment a {\r\n    where x  # t\r\n}\r\n"


# --------------------------------------------------------------------- comments


def test_comments_in_every_position():
    src = """

# file header

# about vip
static segment vip "VIP" {   # after the brace
    # before members
    members [
        # founders
        1001,   # Alice
        1002, 1003 # Bob and Carol
        # last one
        , 1004
        # after the last item
    ]  # after members
    # before the brace
}  # after the brace
# right after a segment
segment spa { description "Spa" # trailing description
  refresh
  # inside a clause
  daily
  where # after where
     interests has any ["spa", "wellness"] # tags
     # own line between operands
     and not in segment lapsed and (a # inside a group
     or b) and ltv >= # inside a predicate
     # another inside it
     5
}
segment # inside the header
  h { where x }

# end of file 1


# end of file 2
"""
    out = fmt_ok(src)
    assert out == (
        "# file header\n"
        "\n"
        "# about vip\n"
        'static segment vip "VIP" {  # after the brace\n'
        "    # before members\n"
        "    members [  # founders\n"
        "             1001,  # Alice\n"
        "             1002, 1003,  # Bob and Carol\n"
        "             # last one\n"
        "             1004]  # after the last item\n"
        "    # after members\n"
        "    # before the brace\n"
        "}  # after the brace\n"
        "\n"
        "# right after a segment\n"
        "segment spa {\n"
        '    description "Spa"  # trailing description\n'
        "    refresh daily  # inside a clause\n"
        "    # after where\n"
        '    where interests has any ["spa", "wellness"]  # tags\n'
        "      # own line between operands\n"
        "      and not in segment lapsed\n"
        "      and (a  # inside a group\n"
        "           or b)\n"
        "      and ltv >= 5  # inside a predicate\n"
        "    # another inside it\n"
        "}\n"
        "\n"
        "# inside the header\n"
        "segment h {\n"
        "    where x\n"
        "}\n"
        "\n"
        "# end of file 1\n"
        "\n"
        "# end of file 2\n"
    )
    assert_faithful(src, out)
    assert fmt_ok(out) == out


def test_a_trailing_comment_never_swallows_code_and_two_never_share_a_line():
    src = "segment s { where a >= # one\n # two\n 1 and b # three\n}"
    out = fmt_ok(src)
    assert out == (
        "segment s {\n"
        "    where a >= 1  # one\n"
        "      # two\n"
        "      and b  # three\n"
        "}\n"
    )
    assert_faithful(src, out)


def test_comments_keep_hash_and_quote_characters():
    src = 'segment s { where t = "a # not a comment" # a "quoted" # comment\n}'
    out = fmt_ok(src)
    assert '    where t = "a # not a comment"  # a "quoted" # comment\n' in out
    assert_faithful(src, out)


# ---------------------------------------------------------------- safety nets


def test_text_that_does_not_parse_is_not_formatted():
    out, diags = format_source("segment s { where a and }", "bad.seg")
    assert out is None
    assert [d.code for d in diags] == ["E0010"]
    out, diags = format_expression("a and")
    assert out is None and diags


def test_a_layout_that_would_change_meaning_is_refused(monkeypatch):
    src = "segment s { where a and b }\n"
    monkeypatch.setattr(formatter._Formatter, "module", lambda self, module: "segment s {\n    where a or b\n}\n")
    out, (diag,) = format_source(src, "s.seg")
    assert out == src
    assert diag.code == "E0090" and "left unchanged" in diag.message
    # Losing a comment is refused just the same.
    monkeypatch.setattr(formatter._Formatter, "module", lambda self, module: "segment s {\n    where a and b\n}\n")
    assert format_source(src + "# kept\n")[1][0].code == "E0090"


def test_an_internal_error_leaves_the_text_unchanged(monkeypatch):
    def boom(self, module):
        raise RuntimeError("layout bug")

    monkeypatch.setattr(formatter._Formatter, "module", boom)
    out, (diag,) = format_source("segment s { where a }")
    assert out == "segment s { where a }" and diag.code == "E0090"
    assert "RuntimeError" in diag.notes[0]


# ------------------------------------------------------------------ expressions


def test_format_expression():
    assert format_expression("  a>=1   and(b or c) ") == ("a >= 1 and (b or c)", ())
    long = " or ".join(f"some_field_{i} > {i}" for i in range(8))
    out, diags = format_expression(f"# why\n{long} and x # tail")
    assert diags == ()
    assert out.splitlines()[:3] == ["# why", "some_field_0 > 0", "or some_field_1 > 1"]
    assert out.endswith("and x  # tail")
    assert parse_expression(out).expr == parse_expression(long + " and x").expr


# --------------------------------------------------------------------- examples


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_reach_a_fixed_point_with_the_same_meaning(path):
    src = path.read_text(encoding="utf-8")
    out = fmt_ok(src)
    assert_faithful(src, out)
    assert fmt_ok(out) == out


# ------------------------------------------------------------------- properties
# Source text is generated, not ASTs: the properties must hold for anything a person can
# type, whatever the spacing, the line breaks and the comments between tokens.

NAMES = st.builds(
    lambda stem, n: f"{stem}_{n}",  # the digit keeps every name clear of the keywords
    st.sampled_from(["a", "ltv", "tier", "email", "interests", "a_rather_long_field_name_for_wrapping"]),
    st.integers(0, 9),
)
STRINGS = st.text(alphabet='ab #"\\é\t{}()[],', max_size=6).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'
)
VALUES = st.one_of(
    st.sampled_from(["0", "-2", "150_000", "1_000.50", "-0.125", "true", "false", "null",
                     "2024-02-29", "2024-03-31T10:00", "2024-03-31T23:30:00.5+02:00"]),
    STRINGS,
)
COMMENTS = st.text(alphabet='ab #"é\t()', max_size=8).map(lambda s: "#" + s)
OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


@st.composite
def separator(draw):
    kind = draw(st.integers(0, 19))
    if kind < 11:
        return " "
    if kind < 14:
        return draw(st.sampled_from(["\n", "\n    ", "  ", "\t", "\n\n\n  "]))
    comment = draw(COMMENTS)
    return draw(st.sampled_from([" {}\n", "\n{}\n", "  {}\n\n", "\n\n   {}\n  ", "{}\n"])).format(comment)


@st.composite
def list_tokens(draw, values=VALUES, min_size=1):
    items = draw(st.lists(values, min_size=min_size, max_size=12))
    out = ["["]
    for i, item in enumerate(items):
        if i:
            out.append(",")
        out.append(item)
    if items and draw(st.booleans()):
        out.append(",")
    return out + ["]"]


SEGMENT_NAMES = st.builds(
    lambda stem, n: f"{stem}_{n}",
    st.sampled_from(["vip", "win_back", "active_members_of_the_club_this_season"]),
    st.integers(0, 9),
)


@st.composite
def aggregate_subject(draw):
    """``fn(source[.column] [by column] [where rule])``: what an aggregate predicate or a
    ranking reads."""
    subject = [draw(st.sampled_from(["count", "sum", "min", "max", "latest"])), "(", draw(NAMES)]
    subject += draw(st.sampled_from([[], [".", draw(NAMES)]]))
    subject += draw(st.sampled_from([[], ["by", draw(NAMES)]]))
    if draw(st.booleans()):
        subject += ["where", *draw(st.recursive(predicate(aggregates=False), _combine, max_leaves=4))]
    return [*subject, ")"]


@st.composite
def ranking(draw, subjects, populations):
    """``X in top P% [among ...]`` or ``top N by X [among ...]``, the population a
    segment or a parenthesised rule."""
    subject = draw(subjects)
    if draw(st.booleans()):
        head = [*subject, "in", "top", draw(PERCENTS)]
    else:
        head = ["top", draw(st.sampled_from(["1", "500", "1_000"])), "by", *subject]
    among = draw(st.one_of(
        st.just([]),
        SEGMENT_NAMES.map(lambda n: ["among", "in", "segment", n]),
        populations.map(lambda rule: ["among", "(", *rule, ")"]),
    ))
    return [*head, *among]


@st.composite
def predicate(draw, aggregates=True):
    name = draw(NAMES)
    kind = draw(st.integers(0, 15 if aggregates else 11))
    if kind >= 14:  # a ranking, of a field or an aggregate, over a population or not
        subjects = st.one_of(NAMES.map(lambda n: [n]), aggregate_subject())
        return draw(ranking(subjects, st.recursive(predicate(aggregates=False), _combine, max_leaves=4)))
    if kind >= 12:  # an aggregate over a source table, with or without its own rule
        return [*draw(aggregate_subject()), draw(OPS), draw(VALUES)]
    if kind == 0:
        return [name]
    if kind == 1:
        return [name, draw(OPS), draw(VALUES)]
    if kind == 2:
        return [name, *draw(st.sampled_from([["in"], ["not", "in"]])), *draw(list_tokens())]
    if kind == 3:
        return [name, *draw(st.sampled_from([["between"], ["not", "between"]])), draw(VALUES), "and", draw(VALUES)]
    if kind == 4:
        return [name, "is", *draw(st.sampled_from([[], ["not"]])), "null"]
    if kind == 5:
        op = draw(st.sampled_from([["contains"], ["starts", "with"], ["ends", "with"]]))
        return [name, *op, draw(STRINGS), *draw(st.sampled_from([[], ["ignoring", "case"]]))]
    if kind == 6:
        return [name, "has", draw(STRINGS)]
    if kind == 7:
        return [name, "has", draw(st.sampled_from(["any", "all"])), *draw(list_tokens(STRINGS))]
    if kind == 8:
        unit = draw(st.sampled_from(["day", "days", "week", "weeks"]))
        amount = draw(st.sampled_from(["0", "1", "30", "1_000"]))
        return draw(st.sampled_from([[name, "within", amount, unit], [name, "before", amount, unit, "ago"],
                                     [name, "after", amount, unit, "ago"]]))
    if kind == 9:
        return ["days_since", "(", name, ")", draw(OPS), draw(st.sampled_from(["-1", "0", "180"]))]
    if kind == 10:
        return draw(st.sampled_from([["in", "segment", name], ["in", "split", name, ".", draw(NAMES)],
                                     ["in", "holdout", name]]))
    return [name, draw(OPS), draw(VALUES)]


def _combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(lambda t: [*t[0], t[1], *t[2]]),
        children.map(lambda x: ["(", *x, ")"]),
        children.map(lambda x: ["not", *x]),
    )


RULES = st.recursive(predicate(), _combine, max_leaves=10)


@st.composite
def clause(draw):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return ["description", draw(STRINGS)]
    if kind == 1:
        return ["refresh", draw(st.sampled_from(["daily", "weekly", "hourly", "manual", "fortnightly"]))]
    if kind == 2:
        return ["members", *draw(list_tokens(st.sampled_from(["1001", "1002", "-7", "1_000_000", '"k-1"']), 0))]
    return ["where", *draw(RULES)]


@st.composite
def segment(draw):
    kind = draw(st.sampled_from([[], ["static"], ["smart"], ["dynamic"]]))
    title = draw(st.sampled_from([[], [draw(STRINGS)]]))
    clauses = draw(st.lists(clause(), max_size=4))
    return [*kind, "segment", draw(NAMES), *title, "{", *[t for c in clauses for t in c], "}"]


def join(draw, tokens) -> str:
    out = []
    for token in tokens:
        out.append(token)
        out.append(draw(separator()))
    return "".join(out)


PERCENTS = st.sampled_from(["10%", "45%", "33.33%", "0%", "1_000%", "5.125%"])


@st.composite
def split_or_holdout(draw):
    title = draw(st.sampled_from([[], [draw(STRINGS)]]))
    if draw(st.booleans()):
        return ["holdout", draw(NAMES), *title, draw(PERCENTS), "salt", draw(STRINGS)]
    items = draw(st.lists(st.one_of(st.builds(lambda s: ["salt", s], STRINGS),
                                    st.builds(lambda s: ["description", s], STRINGS),
                                    st.builds(lambda n, p: [n, p], NAMES, PERCENTS)), max_size=4))
    return ["split", draw(NAMES), *title, "{", *[t for i in items for t in i], "}"]


@st.composite
def module_text(draw):
    segments = draw(st.lists(st.one_of(segment(), segment(), split_or_holdout()), max_size=4))
    text = draw(st.sampled_from(["", "\n", "# header\n\n", "  # a\n# b\n"])) + join(draw, [t for s in segments for t in s])
    if draw(st.booleans()):
        text += draw(COMMENTS)  # a comment on the last line, no newline after it
    if draw(st.integers(0, 4)) == 0:
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=100)
@given(module_text())
def test_formatting_keeps_meaning_and_comments_and_is_idempotent(src):
    assert parse_source("<in>", src).module is not None, parse_source("<in>", src).diagnostics
    out = fmt_ok(src)
    assert_faithful(src, out)
    assert fmt_ok(out) == out
    if out:
        assert out.endswith("\n") and not out.endswith("\n\n") and not out.endswith("\n\r\n")
    for line in out.replace("\r\n", "\n").split("\n"):
        assert line == line.rstrip(" \t"), repr(line)


def _short_predicate():
    return st.one_of(
        NAMES.map(lambda n: [n]),
        st.tuples(NAMES, OPS, st.sampled_from(["0", "150_000", '"Gold"'])).map(list),
        SEGMENT_NAMES.map(lambda n: ["in", "segment", n]),
    )


def _flat_rule(items):
    """``a and b or c ...``: operands joined by random operators, no groups."""
    return st.lists(st.tuples(st.sampled_from(["and", "or"]), items), min_size=1, max_size=6).map(
        lambda pairs: [t for k, (op, item) in enumerate(pairs) for t in ([op] if k else []) + item]
    )


#: Chains of rankings of long names over long segment names and population rules, with
#: simple predicates between them: long lines with no single piece wider than a line.
LONG_RANKING_RULES = _flat_rule(st.one_of(
    _short_predicate(),
    ranking(NAMES.map(lambda n: [n]), _flat_rule(_short_predicate()).filter(lambda r: len(r) <= 11)),
))


@settings(max_examples=60)
@given(LONG_RANKING_RULES, st.data())
def test_long_rankings_break_within_the_width_keeping_meaning(tokens, data):
    src = "segment s {\n    where " + " ".join(tokens) + "\n}\n"
    out = fmt_ok(src)
    assert max(len(line) for line in out.splitlines()) <= WIDTH, out
    assert_faithful(src, out)
    assert fmt_ok(out) == out
    # The same tokens, spaced and commented at random, give the same meaning and a fixed point.
    messy = "segment s { where " + join(data.draw, tokens) + "\n}"
    out = fmt_ok(messy)
    assert_faithful(messy, out)
    assert fmt_ok(out) == out


@settings(max_examples=80)
@given(RULES, st.data())
def test_format_expression_keeps_meaning_and_is_idempotent(tokens, data):
    src = join(data.draw, tokens)
    out, diags = format_expression(src)
    assert diags == () and out is not None
    assert parse_expression(out).expr == parse_expression(src).expr
    assert format_expression(out) == (out, ())


# ---------------------------------------------------------------------- command


MESSY = "segment a {where x   and y}\n"
CLEAN = "segment a {\n    where x and y\n}\n"


def run(*args: str, input: bytes | None = None):
    result = CliRunner().invoke(fmt, list(args), input=input, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_fmt_rewrites_changed_files_only_and_keeps_their_mode(tmp_path):
    messy, clean = tmp_path / "messy.seg", tmp_path / "clean.seg"
    messy.write_text(MESSY)
    clean.write_text(CLEAN)
    messy.chmod(0o640)
    before = clean.stat().st_mtime_ns
    os.utime(clean, ns=(before - 10**9, before - 10**9))
    before = clean.stat().st_mtime_ns
    result = run(str(tmp_path))
    assert result.exit_code == 0, result.output
    assert messy.read_text() == CLEAN
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert clean.stat().st_mtime_ns == before  # not rewritten
    assert result.stderr.splitlines()[-1] == "reformatted 1 file, 1 unchanged"
    assert sorted(tmp_path.iterdir()) == [clean, messy]  # no temporary file left behind


def test_fmt_check_lists_files_and_writes_nothing(tmp_path):
    messy = tmp_path / "messy.seg"
    messy.write_text(MESSY)
    result = run("--check", str(messy))
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert result.stderr.splitlines()[-1] == "1 file would be reformatted, 0 unchanged"
    assert messy.read_text() == MESSY
    messy.write_text(CLEAN)
    assert run("--check", str(messy)).exit_code == 0


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(tmp_path):
    messy = tmp_path / "messy.seg"
    messy.write_text(MESSY.rstrip("\n"))
    result = run("--diff", str(messy))
    assert result.exit_code == 1
    assert result.stdout == (
        f"--- {messy}\n+++ {messy}\n@@ -1 +1,3 @@\n"
        "-segment a {where x   and y}\n\\ No newline at end of file\n"
        "+segment a {\n+    where x and y\n+}\n"
    )
    assert messy.read_text() == MESSY.rstrip("\n")
    messy.write_text(CLEAN)
    result = run("--diff", str(messy))
    assert (result.exit_code, result.stdout) == (0, "")


def test_fmt_leaves_unparseable_and_unreadable_files_alone(tmp_path):
    bad = tmp_path / "bad.seg"
    bad.write_text("segment a { where x and }\n")
    binary = tmp_path / "latin1.seg"
    binary.write_bytes(b'segment a { where t = "caf\xe9" }\n')
    good = tmp_path / "good.seg"
    good.write_text(MESSY)
    result = run(str(bad), str(binary), str(good), str(tmp_path / "missing.seg"))
    assert result.exit_code == 1
    assert bad.read_text() == "segment a { where x and }\n"
    assert binary.read_bytes() == b'segment a { where t = "caf\xe9" }\n'
    assert good.read_text() == CLEAN  # the others are still formatted
    err = result.stderr
    assert "error[E0010]: unexpected `}`" in err and f"--> {bad}:1:25" in err
    assert "error[E0001]: invalid UTF-8" in err
    assert f"error[E0004]: file `{tmp_path / 'missing.seg'}` does not exist" in err
    assert err.splitlines()[-1] == "reformatted 1 file, 0 unchanged, 3 could not be formatted"


def test_fmt_searches_directories_and_defaults_to_the_current_one(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "sub" / "a.seg").write_text(MESSY)
    (tmp_path / ".hidden" / "b.seg").write_text(MESSY)
    (tmp_path / "notes.txt").write_text(MESSY)
    monkeypatch.chdir(tmp_path)
    result = run("--check")
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {Path('sub') / 'a.seg'}\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(str(empty))
    assert result.exit_code == 0 and "no .seg files found" in result.stderr


def test_fmt_stdin_to_stdout():
    result = run("-", input=MESSY.encode())
    assert (result.exit_code, result.stdout) == (0, CLEAN)
    result = run("--check", "-", input=MESSY.encode())
    assert result.exit_code == 1
    result = run("--check", "-", input=CLEAN.encode())
    assert (result.exit_code, result.stdout) == (0, "")
    result = run("-", input=b"segment a { where }")
    assert result.exit_code == 1 and result.stdout == ""
    assert "--> <stdin>:1:19" in result.stderr
    result = run("-", "x.seg")
    assert result.exit_code == 2


def test_fmt_keeps_a_byte_order_mark_and_follows_symlinks(tmp_path):
    real = tmp_path / "real.seg"
    real.write_bytes(b"\xef\xbb\xbf" + MESSY.encode())
    link = tmp_path / "link.seg"
    link.symlink_to(real)
    assert run(str(link)).exit_code == 0
    assert link.is_symlink()
    assert real.read_bytes() == b"\xef\xbb\xbf" + CLEAN.encode()


def test_fmt_of_a_tree_leaves_links_out_of_it_alone(tmp_path):
    tree, outside = tmp_path / "project", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    target = outside / "target.seg"
    target.write_text(MESSY)
    (tree / "link.seg").symlink_to(Path("..") / "outside" / "target.seg")
    (tree / "own.seg").write_text(MESSY)
    (tree / "alias.seg").symlink_to("own.seg")  # a link inside the tree: that file, once
    result = run(str(tree))
    assert result.exit_code == 0, result.output
    assert target.read_text() == MESSY  # not rewritten
    assert (tree / "own.seg").read_text() == CLEAN and (tree / "alias.seg").is_symlink()
    assert f"skipped {tree / 'link.seg'}: a symbolic link to {target}, outside the directory given" in result.stderr
    assert result.stderr.splitlines()[-1] == "reformatted 1 file, 0 unchanged"
    # Named on its own, the link is followed, as before.
    assert run(str(tree / "link.seg")).exit_code == 0 and target.read_text() == CLEAN


def test_fmt_leaves_a_read_only_file_alone(tmp_path, monkeypatch):
    locked_down = tmp_path / "a.seg"
    locked_down.write_text(MESSY)
    locked_down.chmod(0o444)
    other = tmp_path / "b.seg"
    other.write_text(MESSY)
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert locked_down.read_text() == MESSY and other.read_text() == CLEAN
    assert f"segdsl: cannot write {locked_down}: the file is read-only (mode 0444)" in result.stderr
    assert result.stderr.splitlines()[-1] == "reformatted 1 file, 0 unchanged, 1 could not be formatted"
    # A file this user may not write (root's os.access says yes to anything: pretend).
    locked_down.chmod(0o644)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    result = run(str(locked_down))
    assert result.exit_code == 1 and locked_down.read_text() == MESSY
    assert f"segdsl: cannot write {locked_down}: the file is read-only (mode 0644)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg", "b.seg"]


def test_pre_commit_hooks_run_the_installed_commands():
    """Each hook's `entry` is a working `segdsl` command line (this also needs `fmt` to be
    registered on the `segdsl` group)."""
    from segdsl.cli.main import cli

    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    hooks = {}
    for line in text.splitlines():
        key, _, value = line.lstrip("- ").partition(": ")
        if key == "id":
            current = hooks.setdefault(value, {})
        elif key in ("entry", "language", "files"):
            current[key] = value
    assert set(hooks) == {"segdsl-check", "segdsl-fmt"}
    assert hooks["segdsl-check"]["entry"] == "segdsl check"
    assert hooks["segdsl-fmt"]["entry"] == "segdsl fmt --check"
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["files"] == r"\.seg$"
        program, *args = hook["entry"].split()
        assert program == "segdsl"
        result = CliRunner().invoke(cli, [*args, *map(str, EXAMPLES)])
        assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------- docs


def _doc_blocks() -> list[str]:
    """The code blocks of docs/formatting.md without a language tag: all .seg text."""
    found, current, lang = [], None, ""
    for line in (ROOT / "docs" / "formatting.md").read_text().splitlines(keepends=True):
        if line.startswith("```") and current is None:
            current, lang = [], line[3:].strip()
        elif line.startswith("```"):
            if not lang:
                found.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_the_examples_in_the_formatting_docs_are_true():
    layout, rule, aggregate, ranking, members, before, after = _doc_blocks()
    assert fmt_ok(layout) == layout
    for snippet in (rule, aggregate, ranking):
        assert fmt_ok("segment s {\n" + snippet + "}\n") == "segment s {\n" + snippet + "}\n"
    assert fmt_ok("static segment s {\n" + members + "}\n") == "static segment s {\n" + members + "}\n"
    assert fmt_ok(before) == after
