"""The hand-written fast path (`segdsl.fastparse`) against the Lark grammar.

The fast path may decline any text (return None, and Lark parses it), but whenever it
returns a tree that tree must be Lark's tree exactly: same nodes, same values, same
literal texts and same spans, which plain `==` on the AST does not compare. Hypothesis
writes the text: well-formed rules with random spacing and comments, the same rules
mutated, token soup glued with and without spaces, and nesting around MAX_DEPTH. Typical
rules (the benchmark's and every rule in the examples) must all take the fast path.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_formatter import RULES, join

from segdsl import ast, parser
from segdsl.fastparse import parse_rule
from segdsl.parser import MAX_DEPTH, parse_expression, parse_source
from segdsl.source import check_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.seg"))


def _bench_rules():
    # bench/ is not an installed package: load its rule generator (stdlib only) by path.
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_rules = _bench_rules()


def differences(a, b, where="expr") -> list[str]:
    """Every field that differs, the fields left out of `==` (spans, texts) included."""
    if type(a) is not type(b):
        return [f"{where}: {type(a).__name__} != {type(b).__name__}"]
    if attrs.has(type(a)):
        fields = attrs.fields(type(a))
        return [d for f in fields for d in differences(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")]
    if isinstance(a, tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for k, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{k}]")]
    # Leaves by type and repr too: Decimal("1.0") == Decimal("1.00"), 1 == True.
    same = type(a) is type(b) and a == b and repr(a) == repr(b)
    return [] if same else [f"{where}: {a!r} != {b!r}"]


def both(text: str):
    """(fast path's tree or None, Lark's ExprResult-like ParseResult) for ``text``."""
    src, diags = check_text("<expr>", text)
    assert src is not None
    if diags:
        return None, None
    return parse_rule(src), parser._parse(src, "expression")


def assert_agrees(text: str, *, fast_required: bool = False) -> bool:
    fast, lark = both(text)
    if lark is None:
        return False
    if fast is None:
        assert not fast_required, f"fast path declined {text!r}: {lark.diagnostics}"
    else:
        assert lark.diagnostics == (), f"fast path accepted {text!r}, Lark says {lark.diagnostics}"
        assert differences(fast, lark.module) == [], text
    # And parse_expression, which tries the fast path first, answers exactly as Lark.
    result = parse_expression(text)
    assert result.diagnostics == lark.diagnostics
    if lark.module is not None:
        assert differences(result.expr, lark.module) == []
    return fast is not None


# ------------------------------------------------------------------- typical rules


def test_every_benchmark_rule_takes_the_fast_path_and_equals_lark():
    for rule in bench_rules.generate():
        assert_agrees(rule.text, fast_required=True)


def _example_rules() -> list[tuple[str, str]]:
    out = []
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        module = parse_source(str(path), text).module
        assert module is not None
        exprs = [(c.span, c.expr) for s in module.segments for c in s.clauses if isinstance(c, ast.Where)]
        exprs += [(i.span, i.expr) for j in module.journeys for i in j.items if isinstance(i, ast.Audience)]
        for span, expr in exprs:
            # The clause's span starts at its keyword and ends where the rule ends.
            keyword = re.match(r"where|audience", text[span.start : span.end]).group()
            out.append((f"{path.relative_to(ROOT)}:{span.start}", text[span.start + len(keyword) : span.end]))
    return out


EXAMPLE_RULES = _example_rules()


def test_the_examples_have_rules():
    assert len(EXAMPLE_RULES) >= 20


@pytest.mark.parametrize("rule", [r for _, r in EXAMPLE_RULES], ids=[i for i, _ in EXAMPLE_RULES])
def test_every_example_rule_takes_the_fast_path_and_equals_lark(rule):
    assert_agrees(rule, fast_required=True)


@pytest.mark.parametrize(
    "text",
    [
        "(a) or b",  # the group's parentheses belong to the enclosing span
        "not (a and b)",
        "((x)) and not ((y or z))",
        "x = 1 and (y or z)",
        'sum(b.c by d where x in [1,] and not (y)) >= 1.5',
        "count(bookings where (status = \"done\")) > 0",
        "latest(consents.granted by recorded_at)",
        'x contains "a\\"\\\\\\n\\t" ignoring case',
        "x within 1_0 weeks or y before 1 day ago or z after 2 week ago",
        "days_since(x) not between -1 and 2.50",
        "not in segment vip_guests",
        "x has any [] and y has all [\"a\", \"b\",] and z has \"q\"",
        "t >= 2024-02-29T10:00:00.123+05:30 and d < 2024-02-29 and n is not null",
        "x>1and(y<=2)or z!=-3",
        "x = 1 # why\n  and y # and why not\n",
    ],
)
def test_constructs_take_the_fast_path_and_equal_lark(text):
    assert_agrees(text, fast_required=True)


@pytest.mark.parametrize(
    "text",
    [
        "x before 3 daysago",  # Lark's contextual lexer splits words the fast path keeps whole
        "x notin [1]",
        "in segmentx",
        "x = 1 and days > 3",  # a keyword read as a field name: Lark reports it
        "count(where) > 1",
        "x = \"\\q\"",  # unknown escape
        "x = 2024-02-30",  # no such day
        "x within -1 days",
        "x = 1 and",
        "x == 1",
        "",
        "   # only a comment",
        "x = 'a'",
    ],
)
def test_the_fast_path_declines_what_lark_must_judge(text):
    fast, _ = both(text)
    assert fast is None
    assert_agrees(text)


def test_nesting_at_and_past_max_depth():
    def nots(n):
        return "not " * n + "x"

    def groups(n):
        text = "a"
        for k in range(n):
            text = f"(b{k} {'and' if k % 2 else 'or'} {text})"
        return text

    def aggregates(n):
        text = "x"
        for _ in range(n):
            text = f"count(s where {text}) > 0"
        return text

    for make in (nots, groups):
        assert assert_agrees(make(MAX_DEPTH))
        assert not assert_agrees(make(MAX_DEPTH + 1))
        assert parse_expression(make(MAX_DEPTH + 1)).diagnostics[0].code == "E0013"
    # The aggregate resets the count: its comparison is a plain predicate.
    assert assert_agrees(aggregates(20), fast_required=True)
    # Parentheses alone do not count, however deep; past its own limit the fast path
    # hands them to Lark, which keeps its own stack.
    assert assert_agrees("(" * 40 + "x" + ")" * 40)
    assert not assert_agrees("(" * 500 + "x" + ")" * 500)
    assert parse_expression("(" * 500 + "x" + ")" * 500).expr is not None


def test_every_grammar_keyword_is_a_keyword_to_the_fast_path():
    """A word the fast path treats as a name must never be a grammar literal: where the
    contextual lexer reads a keyword as a name, Lark reports it, so the fast path must
    decline."""
    grammar = re.sub(r"//[^\n]*", "", parser._grammar_text())
    literals = set(re.findall(r'"([a-z_]+)"', grammar))
    assert literals and literals <= parser._KEYWORDS


# ------------------------------------------------------------------- properties


@settings(max_examples=300)
@given(RULES, st.data())
def test_well_formed_rules_take_the_fast_path_and_equal_lark(tokens, data):
    assert_agrees(join(data.draw, tokens), fast_required=True)


SOUP = st.sampled_from(
    sorted(parser._KEYWORDS)
    + ["a", "x1", "ltv", "_x", "notin", "segmentx", "daysago", "trueand", "isnull", "Count", "AND", "Not", "é"]
    + ["0", "-1", "1_000", "1_", "1__0", "1.5", "-0.5", "1.", ".5", "007", "2024-01-01", "2024-02-30",
       "2024-01-011", "2024-01-01T10:00", "2024-01-01T10:00:00.1234567", "2024-01-01T25:00Z",
       "2024-01-01T10:00-05:00", "2024-01-01T10:00+0530"]
    + ['"a"', '"a\\"b"', '"\\q"', '"\\\\"', '"', "'s'", "\u201cq\u201d", '"#"']
    + ["(", ")", "[", "]", ",", ".", "=", "!=", "<", "<=", ">", ">=", "==", "-", "--", "#c\n", "\u00a0", "\x0c", "{"]
)
GLUE = st.sampled_from(["", " ", " ", "\n", "\t", " # c\n", "\r\n"])


@settings(max_examples=400)
@given(st.lists(st.tuples(SOUP, GLUE), min_size=1, max_size=14))
def test_token_soup_is_declined_or_parsed_as_lark_does(pairs):
    assert_agrees("".join(t + g for t, g in pairs))


@st.composite
def mutated_rule(draw):
    text = join(draw, draw(RULES))
    for _ in range(draw(st.integers(1, 3))):
        if not text:
            break
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        op = draw(st.integers(0, 4))
        if op == 0:
            text = text[:i] + text[j:]  # delete a slice
        elif op == 1:
            text = text[:i] + draw(SOUP) + draw(GLUE) + text[i:]  # insert a token
        elif op == 2:
            text = text[:i] + text[i:j] + text[i:]  # repeat a slice
        elif op == 3:
            text = text[:i] + re.sub(r"[ \t]+", "", text[i:j]) + text[j:]  # glue tokens together
        else:
            text = text[:i] + text[i:j].upper() + text[j:]
    return text


@settings(max_examples=400)
@given(mutated_rule())
def test_mutated_rules_are_declined_or_parsed_as_lark_does(text):
    assert_agrees(text)


@settings(max_examples=60)
@given(st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3), st.data())
def test_generated_nesting_near_max_depth(depth, data):
    text = "x"
    for k in range(depth):
        kind = data.draw(st.sampled_from(["not", "and", "or", "paren", "agg"]), label=f"level {k}")
        if kind == "not":
            text = f"not {text}"
        elif kind == "paren":
            text = f"({text})"
        elif kind == "agg":
            text = f"count(s where {text}) >= 1"
        else:
            text = f"(y{k} {kind} {text})"
    assert_agrees(text)
