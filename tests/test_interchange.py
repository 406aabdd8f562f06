"""Import and export of JSON rule formats (segdsl-json, react-querybuilder).

The seed's example imports and sizes exactly like the hand-written segment; round trips
are lossless (hypothesis); untrusted JSON gives diagnostics, never exceptions, and never
`.seg` text that reads differently from what the JSON meant; every E05xx code fires.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl.syntax import ast
from segdsl import interchange
from segdsl.check.checker import check_modules
from segdsl.interchange import export_json, import_json, read_json
from segdsl.interchange.formats import JS_SPACE
from segdsl.syntax.parser import parse_source
from segdsl.syntax.printer import string_text
from segdsl.project.workspace import load_workspace
from segdsl.check.traits import load_schema, schema_from_dict
from segdsl.lifecycle.sizes import sizes_in_memory
from segdsl.syntax.span import Span

ROOT = Path(__file__).resolve().parent.parent
GOLF = ROOT / "examples" / "golf"
SEED_JSON = GOLF / "json" / "active_golfers.json"
SEED_RQB = GOLF / "json" / "active_golfers.rqb.json"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
GOLF_SCHEMA, _ = load_schema(GOLF / "schema.toml")

SCHEMA, _ = schema_from_dict(
    {
        "entity": "member",
        "table": "member_profile",
        "key": "member_id",
        "fields": {
            "member_id": {"type": "int", "nullable": False},
            "visits": {"type": "int"},
            "booking_count_30d": {"type": "int"},
            "x2": {"type": "int"},
            "ltv": {"type": "decimal(12, 2)"},
            "ratio": {"type": "float"},
            "email": {"type": "text"},
            "tier": {"type": "enum", "values": ["Bronze", "Silver", "Gold", "Platinum"]},
            "opted_in": {"type": "bool", "nullable": False},
            "sms_ok": {"type": "bool"},
            "joined_on": {"type": "date"},
            "last_seen_at": {"type": "timestamp"},
            "days_since_seen": {"days_since": "last_seen_at"},
            "interests": {"type": "tags", "nullable": False},
            "churn_score": {"type": "int", "model": "churn"},
        },
    }
)
BASE = parse_source("base.seg", "segment base { where visits > 1 }\n").module


def imported(data, fmt="auto", schema=SCHEMA, **kw):
    text, diags = import_json(data, "in.json", schema, fmt, **kw)
    return text, diags


def errors(diags) -> list:
    return [(d.code, d.message) for d in diags if d.is_error]


def codes(diags) -> set[str]:
    return {d.code for d in diags}


def where_of(text: str) -> ast.Expr:
    module = parse_source("out.seg", text).module
    assert module is not None, text
    return module.segments[0].where


# ------------------------------------------------------------------ the seed


@pytest.fixture(scope="module")
def golf_reference():
    """The hand-written segment, its size as `segdsl size` computes it, and the profile."""
    from segdsl.backends.memory.profile import load_profile

    ws = load_workspace([GOLF / "segments.seg"])
    assert ws.ok, [d.message for d in ws.diagnostics if d.is_error]
    seg = ws.segments["active_golfers_low_handicap"]
    module = next(m for m in ws.modules.values() if any(s.name == seg.name for s in m.segments))
    where = next(s for s in module.segments if s.name == seg.name).where
    data = ROOT / "seeds" / "golf"
    (size,) = sizes_in_memory([seg], GOLF_SCHEMA, data, AS_OF)
    return seg, where, size.size, load_profile(GOLF_SCHEMA, data, [seg.rule], AS_OF)


@pytest.mark.parametrize("path, fmt", [(SEED_JSON, "segdsl"), (SEED_JSON, "auto"), (SEED_RQB, "rqb"), (SEED_RQB, "auto")])
def test_seed_example_imports_checks_and_sizes_like_the_hand_written_segment(path, fmt, golf_reference):
    from segdsl.backends.memory.columnar import evaluate

    reference, expected_where, expected_size, table = golf_reference
    text, diags = import_json(path.read_bytes(), str(path), GOLF_SCHEMA, fmt, name="active_golfers_low_handicap")
    assert not errors(diags) and text is not None
    assert where_of(text) == expected_where
    checked = check_modules([parse_source("imported.seg", text).module], GOLF_SCHEMA)
    assert checked.ok, checked.diagnostics
    mine = checked.segments["active_golfers_low_handicap"]
    members = evaluate(mine.rule, table, AS_OF)
    assert int(members.sum()) == expected_size
    # Not only as many members: the same members, condition by condition, so the
    # comparison means something even when the data leaves the whole segment empty.
    assert (evaluate(reference.rule, table, AS_OF) == members).all()
    sizes = []
    for a, b in zip(reference.rule.items, mine.rule.items, strict=True):
        mask = evaluate(b, table, AS_OF)
        assert (evaluate(a, table, AS_OF) == mask).all()
        sizes.append(int(mask.sum()))
    assert sum(0 < n < table.n_rows for n in sizes) >= 4, sizes


def test_seed_name_becomes_identifier_and_title():
    text, diags = import_json(SEED_JSON.read_bytes(), "active_golfers.json", GOLF_SCHEMA)
    assert not errors(diags)
    assert text.startswith('segment active_golfers_low_handicap "Active Golfers - Low Handicap" {\n')
    seg = parse_source("x.seg", text).module.segments[0]
    out, _ = export_json(seg, "segdsl")
    # Export gives back the seed's object, plus the identifier it was given.
    assert json.loads(out) == {"id": "active_golfers_low_handicap", **json.loads(SEED_JSON.read_text())}


def test_rqb_without_name_takes_the_file_name():
    text, _ = import_json(SEED_RQB.read_bytes(), "ui/active_golfers.rqb.json", GOLF_SCHEMA)
    assert text.startswith("segment active_golfers {")


# ---------------------------------------------------------- conversions


def test_camel_case_fields_and_did_you_mean():
    assert interchange.snake_case("bookingCount30d") == "booking_count_30d"
    assert interchange.snake_case("HTTPStatus") == "http_status"
    assert interchange.json_field_name("booking_count_30d") == "bookingCount30d"
    assert interchange.json_field_name("x2") == "x2"  # camelCase would not map back
    assert interchange.identifier_for("Café Regulars — 2024") == "cafe_regulars_2024"
    assert interchange.identifier_for("2024 VIPs") == "segment_2024_vips"
    assert interchange.identifier_for("Static") == "static_segment"
    doc = {"combinator": "and", "rules": [{"field": "bookingCnt30d", "operator": ">=", "value": 2}]}
    text, diags = imported(json.dumps(doc), "rqb")
    (d,) = diags
    assert d.code == "E0508" and text is None
    assert d.help == "did you mean `bookingCount30d` (`booking_count_30d`)?"
    assert "rules[0].field" in d.notes[0]


def test_rqb_string_values_convert_by_field_type():
    doc = {"combinator": "or", "not": True, "rules": [
        {"field": "visits", "operator": "between", "value": "1, 10"},
        {"field": "ltv", "operator": ">=", "value": " 150000.50 "},
        {"field": "tier", "operator": "notIn", "value": "Gold,Platinum"},
        {"field": "email", "operator": "in", "value": ["a\\,b", "c"]},
        {"field": "email", "operator": "in", "value": "x\\,y, z,,"},
        {"field": "smsOk", "operator": "=", "value": "false"},
        {"field": "joinedOn", "operator": "between", "value": ["2024-01-01", "2024-12-31"]},
        {"field": "lastSeenAt", "operator": "<", "value": "2024-03-31T10:00:00.000Z"},
        {"field": "email", "operator": "doesNotBeginWith", "value": "test"},
        {"field": "email", "operator": "null", "value": "stale text the UI left"},
        {"id": "r9", "field": "visits", "operator": "=", "value": "3", "disabled": True},
    ]}
    text, diags = imported(json.dumps(doc), "auto")
    assert not errors(diags)
    assert print_rule(text) == (
        'not (visits between 1 and 10 or ltv >= 150000.50 or tier not in ["Gold", "Platinum"]'
        ' or email in ["a\\\\,b", "c"] or email in ["x,y", "z"] or sms_ok = false'
        ' or joined_on between 2024-01-01 and 2024-12-31 or last_seen_at < 2024-03-31T10:00:00.000Z'
        ' or not email starts with "test" or email is null)'
    )


def print_rule(text: str) -> str:
    from segdsl.syntax.printer import print_expr

    return print_expr(where_of(text))


def test_rqb_independent_combinators_bind_and_tighter():
    doc = {"rules": [{"field": "visits", "operator": "=", "value": 1}, "and",
                     {"field": "visits", "operator": "=", "value": 2}, "or",
                     {"field": "visits", "operator": "=", "value": 3}]}
    text, diags = imported(json.dumps(doc), "rqb")
    assert not errors(diags)
    assert print_rule(text) == "visits = 1 and visits = 2 or visits = 3"


def test_numbers_stay_exact():
    doc = {"id": "s", "rules": [{"field": "ltv", "operator": "eq", "value": 0.1},
                                {"field": "ratio", "operator": "gte", "value": 1e-7},
                                {"field": "visits", "operator": "lt", "value": 1e3}], "combinator": "AND"}
    text, diags = imported(json.dumps(doc))
    assert not errors(diags)
    assert print_rule(text) == "ltv = 0.1 and ratio >= 0.0000001 and visits < 1000"


def test_static_and_smart_segments_round_trip():
    src = ('static segment vips "VIPs" {\n    members [1001, 1002]\n}\n'
           'smart segment churny "Likely to churn" {\n    description "say \\"hi\\"\\n\\tbye"\n'
           '    refresh hourly\n    where churn_score >= 70 and not in segment base\n}\n'
           'segment plain {\n    where email ends with "@x.org" ignoring case and days_since(joined_on) <= 30\n'
           '      and last_seen_at within 2 weeks\n}\n')
    module = parse_source("s.seg", src).module
    out, diags = export_json(module, "segdsl")
    assert not errors(diags)
    text, diags = imported(out, known=[BASE])
    assert not errors(diags)
    assert parse_source("t.seg", text).module.segments == module.segments
    assert export_json(parse_source("t.seg", text).module, "segdsl")[0] == out


# ------------------------------------------------------------ round trips

_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=_BIDI) | st.sampled_from('"\\\n\t,'),
    max_size=8,
)
_RQB_ITEM = _TEXT.filter(lambda s: s == s.strip(JS_SPACE))
_INT = st.integers(-(10**6), 10**6).flatmap(lambda n: st.sampled_from([str(n), f"{n:_}"]))
_DEC = st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f"))
_DATE = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat)
_TS = st.builds(
    lambda d, fmt, off: d.strftime(fmt) + off,
    st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2100, 12, 30)),
    st.sampled_from(["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]),
    st.sampled_from(["", "Z", "+02:00", "-05:30"]),
)
_OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
_EQ = st.sampled_from(["=", "!="])


def _list(items, rqb=False):
    return st.lists(items, min_size=1, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")


def _predicates(rqb: bool):
    s = _TEXT.map(string_text)
    item = (_RQB_ITEM if rqb else _TEXT).map(string_text)
    tier = st.sampled_from(["Bronze", "Silver", "Gold", "Platinum"]).map(string_text)
    int_field = st.sampled_from(["visits", "booking_count_30d", "x2", "churn_score"])
    neg = st.sampled_from(["", "not "])
    common = [
        st.tuples(int_field, _OPS, _INT).map(" ".join),
        st.tuples(int_field, neg, _list(_INT)).map(lambda t: f"{t[0]} {t[1]}in {t[2]}"),
        st.tuples(int_field, neg, _INT, _INT).map(lambda t: f"{t[0]} {t[1]}between {t[2]} and {t[3]}"),
        st.tuples(st.just("days_since_seen"), _OPS, st.integers(-1000, 1000).map(str)).map(" ".join),
        st.tuples(st.just("ltv"), _OPS, _DEC | _INT).map(" ".join),
        st.tuples(st.just("ltv"), neg, _DEC, _DEC).map(lambda t: f"ltv {t[1]}between {t[2]} and {t[3]}"),
        st.tuples(st.just("ratio"), _OPS, _DEC).map(" ".join),
        st.tuples(st.just("email"), _EQ, s).map(" ".join),
        st.tuples(st.just("email"), neg, _list(item)).map(lambda t: f"email {t[1]}in {t[2]}"),
        st.tuples(st.sampled_from(["contains", "starts with", "ends with"]), s).map(lambda t: f"email {t[0]} {t[1]}"),
        st.tuples(st.just("tier"), _EQ, tier).map(" ".join),
        st.tuples(st.just("tier"), neg, _list(tier)).map(lambda t: f"tier {t[1]}in {t[2]}"),
        st.tuples(st.sampled_from(["opted_in", "sms_ok"]), _EQ, st.sampled_from(["true", "false"])).map(" ".join),
        st.tuples(st.just("joined_on"), _OPS, _DATE).map(" ".join),
        st.tuples(st.just("joined_on"), neg, _DATE, _DATE).map(lambda t: f"joined_on {t[1]}between {t[2]} and {t[3]}"),
        st.tuples(st.just("last_seen_at"), _OPS, _TS | _DATE).map(" ".join),
        st.tuples(st.just("last_seen_at"), neg, _list(_TS) | _list(_DATE)).map(lambda t: f"last_seen_at {t[1]}in {t[2]}"),
        st.tuples(st.just("last_seen_at"), neg, _TS, _TS).map(lambda t: f"last_seen_at {t[1]}between {t[2]} and {t[3]}"),
        st.tuples(st.sampled_from(sorted(SCHEMA.fields)), st.sampled_from(["is null", "is not null"])).map(" ".join),
        # Two fields compared: "valueSource": "field" in both formats.
        st.tuples(int_field | st.just("ltv"), _OPS, int_field | st.just("ltv")).map(" ".join),
        st.tuples(st.just("email"), _EQ, st.sampled_from(["tier", "email"])).map(" ".join),
        st.tuples(st.just("days_since_seen"), _OPS, st.just("days_since_seen")).map(" ".join),
    ]
    if rqb:
        return st.one_of(common)
    only_segdsl = [
        st.sampled_from(["opted_in", "sms_ok"]),
        st.tuples(st.sampled_from(["contains", "starts with", "ends with"]), s).map(
            lambda t: f"email {t[0]} {t[1]} ignoring case"),
        st.tuples(st.sampled_from(["has", "has any", "has all"]), s, _list(s)).map(
            lambda t: f"interests has {t[1]}" if t[0] == "has" else f"interests {t[0]} {t[2]}"),
        st.tuples(st.sampled_from(["joined_on", "last_seen_at"]), st.sampled_from(["within", "before", "after"]),
                  st.integers(0, 5000), st.sampled_from(["day", "days", "week", "weeks"])).map(
            lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]}" + ("" if t[1] == "within" else " ago")),
        st.tuples(st.just("last_seen_at"), st.sampled_from(["within", "before", "after"]),
                  st.integers(0, 5000), st.sampled_from(["hour", "hours"])).map(
            lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]}" + ("" if t[1] == "within" else " ago")),
        st.tuples(st.sampled_from(["joined_on", "last_seen_at"]), _OPS, st.integers(-1000, 1000)).map(
            lambda t: f"days_since({t[0]}) {t[1]} {t[2]}"),
        st.sampled_from(["in segment base", "not in segment base"]),
    ]
    return st.one_of(common + only_segdsl)


def _rules(rqb: bool):
    return st.recursive(
        _predicates(rqb),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=4).map(lambda xs: " and ".join(f"({x})" for x in xs)),
            st.lists(inner, min_size=2, max_size=4).map(lambda xs: " or ".join(f"({x})" for x in xs)),
            inner.map(lambda x: f"not ({x})"),
        ),
        max_leaves=10,
    )


def _round_trip(rule: str, fmt: str) -> None:
    module = parse_source("a.seg", f"segment s {{\n    where {rule}\n}}\n").module
    assert module is not None, rule
    first, diags = export_json(module.segments[0], fmt)
    assert first is not None, diags
    text, diags = import_json(first, "a.json", SCHEMA, fmt, name="s", known=[BASE])
    assert text is not None, (rule, first, [d.message for d in diags])
    back = parse_source("b.seg", text).module.segments[0]
    assert back == module.segments[0]  # .seg → JSON → .seg: the same AST
    again, _ = export_json(back, fmt)
    assert again == first  # JSON → .seg → JSON: stable


@settings(max_examples=100)
@given(_rules(rqb=False))
def test_round_trip_segdsl_json(rule):
    _round_trip(rule, "segdsl")


@settings(max_examples=100)
@given(_rules(rqb=True))
def test_round_trip_react_querybuilder(rule):
    _round_trip(rule, "rqb")


@settings(max_examples=60)
@given(
    title=st.none() | _TEXT.filter(bool),
    description=st.none() | _TEXT,
    refresh=st.none() | st.sampled_from(["manual", "hourly", "daily", "weekly"]),
    kind=st.sampled_from(["", "dynamic ", "smart ", "static "]),
    members=st.lists(st.integers(1, 10**9).map(str), max_size=5),
)
def test_round_trip_segment_metadata(title, description, refresh, kind, members):
    lines = [f"{kind}segment s{' ' + string_text(title) if title is not None else ''} {{"]
    if description is not None:
        lines.append(f"    description {string_text(description)}")
    if refresh:
        lines.append(f"    refresh {refresh}")
    lines.append(f"    members [{', '.join(members)}]" if kind == "static " else "    where churn_score >= 70")
    module = parse_source("m.seg", "\n".join(lines) + "\n}\n").module
    first, _ = export_json(module, "segdsl")
    text, diags = import_json(first, "m.json", SCHEMA)
    assert text is not None, diags
    assert parse_source("n.seg", text).module.segments == module.segments
    assert export_json(parse_source("n.seg", text).module, "segdsl")[0] == first


def test_truthy_exports_to_rqb_as_equals_true():
    module = parse_source("a.seg", "segment s { where opted_in and not sms_ok }").module
    out, _ = export_json(module.segments[0], "rqb")
    assert json.loads(out)["rules"][0] == {"field": "optedIn", "operator": "=", "value": True}
    text, _ = imported(out, "rqb", name="s")
    assert print_rule(text) == "opted_in = true and not sms_ok = true"


# ---------------------------------------------------------- untrusted input


@settings(max_examples=200)
@given(value=st.text(st.characters() | st.sampled_from(["\ud800", "\udfff", "\r", "\x00", "\u202e", '"', "\\"])),
       op=st.sampled_from(["eq", "contains", "in"]))
def test_adversarial_strings_are_exact_or_rejected(value, op):
    rule = {"field": "email", "operator": op, "value": [value] if op == "in" else value}
    data = json.dumps({"id": "s", "rules": [rule, {"field": "email", "operator": "endsWith", "value": value}],
                       "combinator": "OR"})
    text, diags = imported(data)
    if text is None:
        assert codes(diags) == {"E0510"}
        return
    first, second = where_of(text).items
    got = first.items.items[0].value if op == "in" else getattr(first, "right", getattr(first, "text", None)).value
    assert got == value and second.text.value == value


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
    | st.sampled_from(["eq", "in", "=", "and", "OR", "emailOptIn", "handicap", "rules", "ACTIVE"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["field", "operator", "value", "rules", "combinator", "not", "name", "id",
                                       "type", "members", "daysSince", "ignoreCase", "x"]), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=100)
@given(doc=_JSON, fmt=st.sampled_from(["auto", "segdsl", "rqb"]))
def test_random_json_never_raises(doc, fmt):
    data = json.dumps(doc)
    text, diags = import_json(data, "f.json", GOLF_SCHEMA, fmt)
    assert (text is None) == any(d.is_error for d in diags)
    for d in diags:
        assert d.span is None or 0 <= d.span.start <= d.span.end <= len(data)
    if text is not None:
        assert check_modules([parse_source("o.seg", text).module], GOLF_SCHEMA).ok


@given(st.text(max_size=40))
def test_random_text_never_raises(data):
    text, diags = import_json(data, "f.json", GOLF_SCHEMA)
    assert text is not None or diags


def test_ten_thousand_nested_groups_is_a_diagnostic():
    deep = '{"combinator": "and", "rules": [' * 10_000 + "]}" * 10_000
    text, diags = imported(deep)
    assert text is None and codes(diags) == {"E0503"}
    # Nesting that is valid JSON but deeper than a rule may be: also E0503.
    rule = {"field": "visits", "operator": ">", "value": 1}
    for _ in range(60):
        rule = {"combinator": "and", "not": True, "rules": [rule]}
    _, diags = imported(json.dumps(rule), "rqb")
    assert codes(diags) == {"E0503"}
    # Single-rule groups without `not` add no nesting to the rule.
    rule = {"field": "visits", "operator": ">", "value": 1}
    for _ in range(90):
        rule = {"combinator": "and", "rules": [rule]}
    text, _ = imported(json.dumps(rule), "rqb")
    assert print_rule(text) == "visits > 1"


def test_huge_arrays():
    values = list(range(10_000))
    doc = {"id": "s", "rules": [{"field": "visits", "operator": "in", "value": values}], "combinator": "AND"}
    text, diags = imported(json.dumps(doc))
    assert not errors(diags) and len(where_of(text).items.items) == 10_000
    bad = {"id": "s", "rules": [{"field": "tier", "operator": "in", "value": [True] * 20_000}], "combinator": "AND"}
    text, diags = imported(json.dumps(bad))
    assert text is None and 1 <= len(diags) <= interchange.MAX_ERRORS


def test_json_error_positions():
    text, (d,) = imported('{\n  "id": "s",\n  "rules": [1,]\n}')
    assert d.code == "E0501" and text is None
    src = "{\n  \"id\": \"s\",\n  \"rules\": [1,]\n}"
    line = src[: d.span.start].count("\n") + 1
    assert line == 3 and src[d.span.start] == "]"
    _, (d,) = imported('{"id": "s", "rules": [], "rules": []}')
    assert d.code == "E0506" and d.span.start == len('{"id": "s", "rules": [], ')
    root, diags = read_json('{"a": [1, {"b": "c"}]}', "x.json")
    assert root.value["a"].value[1].value["b"].start == 16 and diags == []


def test_diagnostics_from_the_checker_point_into_the_json():
    doc = '{"id": "s", "rules": [{"field": "tier", "operator": "eq", "value": "gold"}], "combinator": "AND"}'
    text, (d,) = imported(doc)
    assert text is None and d.code == "E0103"
    assert doc[d.span.start:d.span.end] == '"gold"'
    assert d.help == 'did you mean "Gold"?'
    assert "rules[0].value" in d.notes[-1] and 'imported as `tier = "gold"`' in d.notes[-1]


# ------------------------------------------------------------ every code

_RULE = '{"field": "visits", "operator": "gt", "value": 1}'
IMPORT_CASES = [
    ("E0501", "segdsl", '{"id": "s", "rules": [' + _RULE + ",]}"),
    ("E0501", "segdsl", '{1: 2}'),
    ("E0502", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "gt", "value": NaN}]}'),
    ("E0502", "rqb", '{"combinator": "and", "rules": [{"field": "visits", "operator": ">", "value": -Infinity}]}'),
    ("E0503", "rqb", "[" * 500 + "]" * 500),
    ("E0504", "segdsl", '{"id": "s", "rules": {"field": "visits"}}'),
    ("E0504", "segdsl", '{"id": "s", "rules": [' + _RULE + ", " + _RULE + "]}"),
    ("E0504", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "between", "value": [1]}]}'),
    ("E0504", "segdsl", '{"id": "s", "type": "static", "members": [1], "rules": []}'),
    ("E0504", "segdsl", '"just a string"'),
    ("E0505", "segdsl", ('{"id": "s", "rules": [{"field": "email", "operator": "contains", "value": "x", '
                         '"ignorecase": true}]}')),
    ("E0506", "segdsl", '{"id": "s", "id": "t", "rules": [' + _RULE + "]}"),
    ("E0507", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "greaterThan", "value": 1}]}'),
    ("E0507", "rqb", '{"combinator": "and", "rules": [{"field": "visits", "operator": "gte", "value": 1}]}'),
    ("E0508", "segdsl", '{"id": "s", "rules": [{"field": "vists", "operator": "gt", "value": 1}]}'),
    ("E0509", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "gt", "value": "1"}]}'),
    ("E0509", "rqb", '{"combinator": "and", "rules": [{"field": "visits", "operator": ">", "value": "1e5"}]}'),
    ("E0509", "rqb", '{"combinator": "and", "rules": [{"field": "joinedOn", "operator": "=", "value": "2023-02-29"}]}'),
    ("E0509", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "eq", "value": null}]}'),
    ("E0509", "segdsl", '{"id": "s", "rules": [{"field": "visits", "operator": "eq", "value": 1e999999}]}'),
    ("E0509", "segdsl", ('{"id": "s", "rules": [{"field": "joinedOn", "operator": "within", '
                         '"value": {"amount": -3, "unit": "days"}}]}')),
    ("E0510", "segdsl", '{"id": "s", "rules": [{"field": "email", "operator": "eq", "value": "a\\u0001b"}]}'),
    ("E0510", "segdsl", '{"id": "s", "name": "x\\r", "rules": [' + _RULE + "]}"),
    ("E0510", "segdsl", '{"id": "s", "rules": [{"field": "email", "operator": "eq", "value": "\\ud800"}]}'),
    ("E0511", "segdsl", '{"id": "s", "rules": [], "combinator": "AND"}'),
    ("E0511", "rqb", '{"combinator": "and", "disabled": true, "rules": [' + _RULE + "]}"),
    ("E0512", "rqb", '{"combinator": "xor", "rules": [' + _RULE.replace('"gt"', '">"') + "]}"),
    ("E0513", "segdsl", '{"id": "2fast", "rules": [' + _RULE + "]}"),
    ("E0513", "segdsl", '{"name": "!!!", "rules": [' + _RULE + "]}"),
    ("E0514", "rqb", ('{"combinator": "and", "rules": [{"field": "email", "operator": "contains", "value": "x2", '
                      '"valueSource": "field"}]}')),
    ("E0504", "segdsl", ('{"id": "s", "rules": [{"field": "visits", "operator": "gt", "value": "x2", '
                         '"valueSource": "column"}]}')),
    ("E0508", "rqb", ('{"combinator": "and", "rules": [{"field": "visits", "operator": "=", "value": "x3", '
                      '"valueSource": "field"}]}')),
]


@pytest.mark.parametrize("code, fmt, data", IMPORT_CASES)
def test_import_diagnostics(code, fmt, data):
    text, diags = imported(data, fmt)
    assert text is None
    assert code in codes(diags), [(d.code, d.message) for d in diags]
    for d in diags:
        assert 0 <= d.span.start <= d.span.end <= len(data)


def test_raw_bidi_character_in_json_text():
    text, diags = imported('{"id": "s", "rules": [{"field": "email", "operator": "eq", "value": "a\u202eb"}]}')
    assert text is None and codes(diags) == {"E0002"}


def test_internal_mismatch_is_a_diagnostic(monkeypatch):
    monkeypatch.setattr(interchange, "print_expr", lambda e: "visits > 999")
    text, diags = imported('{"id": "s", "rules": [' + _RULE + "]}")
    assert text is None and codes(diags) == {"E0529"}


EXPORT_CASES = [
    ("E0530", 'segment s { where email contains "x" ignoring case }'),
    ("E0531", 'segment s { where interests has any ["golf"] }'),
    ("E0532", "segment s { where joined_on within 30 days }"),
    ("E0533", "segment s { where days_since(joined_on) > 3 }"),
    ("E0534", "segment s { where in segment base }"),
    ("E0535", "static segment s { members [1] }"),
    ("E0536", 'segment s { where email in [" padded"] }'),
    ("E0537", "segment s { }"),
    ("E0539", "segment s { where count(visits) > 1 }"),
    ("E0527", "segment s { where days_since_seen > days_since(joined_on) }"),
    ("E0540", "segment s { where visits in top 10% among in segment base }"),
    ("E0545", "segment s { where not in split t.a }"),
    ("E0541", "segment s { where opted_in and (visits) not followed by (visits) within 7 days }"),
]


@pytest.mark.parametrize("code, src", EXPORT_CASES)
def test_export_diagnostics_point_at_the_seg_source(code, src):
    module = parse_source("e.seg", src).module
    text, diags = export_json(module.segments[0], "rqb")
    assert text is None and codes(diags) == {code}
    (d,) = diags
    assert d.span.path == "e.seg"
    if code not in ("E0535", "E0537"):
        assert src[d.span.start:d.span.end] in src.split("where ")[1]


def test_an_event_sequence_is_refused_by_segdsl_json_too():
    src = "segment s { where (visits) followed by (visits) within 1 day }"
    text, diags = export_json(parse_source("e.seg", src).module.segments[0], "segdsl")
    assert text is None and codes(diags) == {"E0541"}
    assert "followed by" in diags[0].message


def test_export_depth_limit():
    sp = Span("x.seg", 0, 1)
    e = ast.Truthy(ast.FieldRef("opted_in", sp), sp)
    for _ in range(interchange.MAX_EXPORT_DEPTH + 1):
        e = ast.Not(e, sp)
    text, diags = export_json(e, "segdsl")
    assert text is None and codes(diags) == {"E0538"}


def test_a_ranking_is_not_exported_in_either_format():
    module = parse_source("e.seg", "segment s { where top 5 by visits and opted_in }").module
    for fmt in ("segdsl", "rqb"):
        text, diags = export_json(module.segments[0], fmt)
        assert text is None and codes(diags) == {"E0540"}


def test_every_code_is_tested():
    source = "".join(p.read_text() for p in sorted((ROOT / "src" / "segdsl" / "interchange").glob("*.py")))
    defined = set(re.findall(r'"(E05\d\d)"', source))
    tested = {c for c, _, _ in IMPORT_CASES} | {c for c, _ in EXPORT_CASES} | {"E0529", "E0538"}
    assert defined == tested
    documented = set(re.findall(r"\bE05\d\d\b", (ROOT / "docs" / "interchange.md").read_text()))
    assert defined <= documented


# --------------------------------------------------------------------- CLI


def _invoke(*args, cwd: Path = ROOT):
    from segdsl.cli.interchange import export, import_

    command = {"import": import_, "export": export}[args[0]]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(command, [str(a) for a in args[1:]], catch_exceptions=False)
    finally:
        os.chdir(old)


def test_cli_import_to_stdout_and_file(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_bytes(SEED_JSON.read_bytes())
    r = _invoke("import", seed, "--schema", GOLF / "schema.toml", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("segment active_golfers_low_handicap")
    out = tmp_path / "out.seg"
    r = _invoke("import", SEED_RQB, "-o", out, "--name", "seed")
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("segment seed {") and r.stdout == ""


def test_cli_import_in_the_project_sees_its_segments(tmp_path):
    # In the golf project the seed's segment already exists: importing it again is a duplicate.
    r = _invoke("import", "json/active_golfers.json", cwd=GOLF)
    assert r.exit_code == 1 and "error[E0107]" in r.stderr and "Traceback" not in r.output
    assert "json/active_golfers.json:2:" in r.stderr
    doc = tmp_path / "winback.json"
    doc.write_text('{"name": "Win back", "rules": [{"operator": "inSegment", "value": "lapsing_players"},'
                   '{"field": "emailOptIn", "operator": "isTrue"}], "combinator": "AND"}')
    r = _invoke("import", doc, cwd=GOLF)
    assert r.exit_code == 0, r.output
    assert "in segment lapsing_players and email_opt_in" in r.stdout


def test_cli_import_failures(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"combinator": "and", "rules": [{"field": "handicap", "operator": "<", "value": "low"}]}')
    r = _invoke("import", bad, "--schema", GOLF / "schema.toml")
    assert r.exit_code == 1 and "error[E0509]" in r.stderr and r.stdout == ""
    r = _invoke("import", bad, "--schema", GOLF / "schema.toml", "--message-format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["diagnostics"][0]["location"]["line"] == 1
    r = _invoke("import", bad, cwd=tmp_path)
    assert r.exit_code == 1 and "E0304" in r.stderr
    assert _invoke("import", bad, "--format", "yaml").exit_code == 2
    assert _invoke("import", tmp_path / "missing.json").exit_code == 2


def test_cli_export():
    r = _invoke("export", GOLF / "segments.seg", "--segment", "active_golfers_low_handicap", "--format", "rqb")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rules"][2] == {"field": "handicap", "operator": "<", "value": 15}
    r = _invoke("export", GOLF / "segments.seg")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 7
    r = _invoke("export", GOLF / "segments.seg", "--format", "rqb", "-s", "competition_players")
    assert r.exit_code == 1 and "error[E0531]" in r.stderr and "segments.seg:" in r.stderr
    assert _invoke("export", GOLF / "segments.seg", "--format", "rqb").exit_code == 2
    r = _invoke("export", GOLF / "segments.seg", "-s", "active_golfers")
    assert r.exit_code == 2 and "did you mean" in r.output


def test_cli_export_checks_first(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    (project / "segdsl.toml").write_text(f'schema = "{(GOLF / "schema.toml").as_posix()}"\n')
    bad = project / "bad.seg"
    bad.write_text("segment s { where handicapp < 3 }\n")
    r = _invoke("export", bad, cwd=project)
    assert r.exit_code == 1 and "error[E0101]" in r.stderr and "did you mean `handicap`?" in r.stderr
    # Outside any project there is no schema to check against: the file is only parsed.
    lone = tmp_path_factory.mktemp("lone") / "x.seg"
    lone.write_text("segment s { where anything_goes < 3 }\n")
    r = _invoke("export", lone, cwd=lone.parent)
    assert r.exit_code == 0 and json.loads(r.stdout)["rules"][0]["field"] == "anythingGoes"
    lone.write_text("segment s { where anything_goes < }\n")
    r = _invoke("export", lone, cwd=lone.parent)
    assert r.exit_code == 1 and "error[E0010]" in r.stderr
