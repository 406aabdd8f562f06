"""Conditions assembled from per-shape templates are the text of the whole tree.

``compile_rule`` writes a rule's condition from templates that sqlglot generated once
per leaf shape, with each value written apart (segdsl.sql.shapes). These tests build
typed rules directly -- values the parser never produces included: decimals with
trailing zeros, -0.0, backslashes and control characters, day bounds past the
calendar -- and demand, on every verified dialect, pinned and on the database clock,
with and without bound parameters, exactly the SQL and parameters that generating the
whole tree gives. The templates persist across examples, so later rules reuse shapes
that earlier ones built with other values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from segdsl import ir
from segdsl.diagnostics import error
from segdsl.project import load_workspace
from segdsl.schema import schema_from_dict
from segdsl.sql import compile as sqlc
from segdsl.sql import shapes
from segdsl.sql.builder import Unsupported
from segdsl.sql.targets import VERIFIED

SCHEMA, _ = schema_from_dict(
    {
        "entity": "guest",
        "table": "shapes_probe",
        "key": "id",
        "fields": {
            "id": {"type": "int", "nullable": False},
            "i": {"type": "int"},
            "d": {"type": "decimal(12, 2)", "column": "money"},
            "f": {"type": "float"},
            "t": {"type": "text"},
            "e": {"type": "enum", "values": ["Gold", "Silver", "gold"]},
            "b": {"type": "bool"},
            "joined": {"type": "date"},
            "ts": {"type": "timestamp"},
            "tags": {"type": "tags"},
            "strict": {"type": "text", "nullable": False},
        },
    }
)
assert SCHEMA is not None, _
F = SCHEMA.fields
UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 1, 12, tzinfo=UTC)
TARGETS = (*VERIFIED, "materialize")
OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])

TEXTS = st.one_of(
    st.sampled_from(["", "a", "Gold", "gold", "50%_off", "c\\d", "\\", "it's", "\x0b\\", "\t", "é", "segdsl_slot_"]),
    st.text(alphabet="aA%_\\'\" é\n\x00\x7f", max_size=6),
)
VALUES = {
    "i": st.sampled_from([0, 1, -1, 7, 2**53 + 1, -(2**63), 2**63 - 1]),
    "d": st.sampled_from([Decimal(x) for x in ("0", "1.0", "1.00", "-0.5", "1E+2", "0.125", "9999999999.99", "-0")]),
    "f": st.sampled_from([0.0, -0.0, 0.1, 2.5, -1.5, 1e10, 1e-7]),
    "t": TEXTS,
    "e": st.sampled_from(["Gold", "Silver", "gold"]),
    "b": st.booleans(),
    "joined": st.sampled_from([dt.date(2024, 2, 29), dt.date(2026, 11, 1), dt.date.min, dt.date.max]),
    "ts": st.sampled_from([dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC), dt.datetime(2026, 11, 1, tzinfo=UTC),
                           dt.datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=UTC)]),
    "strict": TEXTS,
}
DAYS = st.one_of(
    st.builds(ir.Day, date=st.sampled_from([dt.date(2024, 2, 29), dt.date.min, dt.date.max, dt.date(2026, 11, 1)])),
    st.builds(ir.Day, offset=st.sampled_from([0, -1, 1, -180, 365, None, 4_000_000, -4_000_000])),
)


@st.composite
def leaf(draw):
    kind = draw(st.integers(0, 8))
    if kind == 0:
        name = draw(st.sampled_from(sorted(VALUES)))
        return ir.Cmp(F[name], draw(OPS), draw(VALUES[name]))
    if kind == 1:
        name = draw(st.sampled_from(sorted(VALUES)))
        values = draw(st.lists(VALUES[name], min_size=1, max_size=4))
        return ir.InSet(F[name], tuple(dict.fromkeys(values)))
    if kind == 2:
        return ir.IsNull(F[draw(st.sampled_from(sorted(F)))])
    if kind == 3:
        return ir.IsTrue(F["b"])
    if kind == 4:
        field = F[draw(st.sampled_from(["t", "e", "strict"]))]
        return ir.TextMatch(field, draw(st.sampled_from(["contains", "starts", "ends"])), draw(TEXTS), draw(st.booleans()))
    if kind == 5:
        values = draw(st.lists(TEXTS, min_size=1, max_size=3))
        kind = draw(st.sampled_from(["has", "any", "all"]))
        return ir.TagMatch(F["tags"], kind, tuple(values[:1] if kind == "has" else dict.fromkeys(values)))
    if kind == 6:
        return ir.DayCmp(F[draw(st.sampled_from(["joined", "ts"]))], draw(OPS), draw(DAYS))
    if kind == 7:
        return ir.Const(draw(st.booleans()))
    return ir.Not(ir.IsNull(F[draw(st.sampled_from(["i", "t", "ts"]))]))


def _combine(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda xs: ir.And(tuple(xs))),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: ir.Or(tuple(xs))),
        children.map(ir.Not),
        st.builds(ir.Member, st.just("base"), children),
    )


RULES = st.recursive(leaf(), _combine, max_leaves=10)


def _whole(monkeypatch, rule, schema, **kw):
    """The same compilation with every statement generated whole, from one tree."""
    with monkeypatch.context() as m:
        m.setattr(sqlc._PROFILES, "get", lambda *a: None)
        return sqlc.compile_rule(rule, schema, **kw)


@given(rule=RULES, target=st.sampled_from(TARGETS), as_of=st.sampled_from([AS_OF, None]), params=st.booleans(),
       form=st.sampled_from(["select", "count"]))
def test_assembled_conditions_are_the_whole_trees_text(rule, target, as_of, params, form):
    kw = dict(target=target, as_of=as_of, params=params, form=form, pretty=False)
    assembled = sqlc.compile_rule(rule, SCHEMA, **kw)
    note(assembled.sql)
    # Not the monkeypatch fixture: hypothesis runs many examples in one test call.
    get, sqlc._PROFILES.get = sqlc._PROFILES.get, lambda *a: None
    try:
        whole = sqlc.compile_rule(rule, SCHEMA, **kw)
    finally:
        sqlc._PROFILES.get = get
    assert assembled == whole
    # And every shape was cut into a template: the shape functions agree with the
    # builder on each value and its order (where they did not, the leaf would be
    # generated whole: the same text, only slower).
    cache = sqlc._PROFILES.get(SCHEMA, sqlc.get_target(target), as_of, params)
    assert all(t is not shapes._NO_TEMPLATE for t in cache.conditions.shapes.values())


def test_equal_values_written_differently_keep_their_own_text(monkeypatch):
    """1.0 and 1.00, 0.0 and -0.0 are equal in Python; their literals differ."""
    for field, values in (("d", [Decimal("1.0"), Decimal("1.00"), Decimal("1E+2"), Decimal("100")]),
                          ("f", [0.0, -0.0]), ("i", [1, True])):
        for v in values:
            rule = ir.Cmp(F[field], "=", v)
            for target in TARGETS:
                kw = dict(target=target, as_of=AS_OF, pretty=False)
                assert sqlc.compile_rule(rule, SCHEMA, **kw) == _whole(monkeypatch, rule, SCHEMA, **kw), (field, v)


def test_a_value_spelling_a_sentinel_is_written_as_a_value(monkeypatch):
    """The templates are cut where the builder put sentinel columns; a value that spells a
    sentinel's text is only ever written as a literal, in its place."""
    kw = dict(target="postgres", as_of=AS_OF, pretty=False)
    sqlc.compile_rule(ir.Cmp(F["t"], "=", "x"), SCHEMA, **kw)
    conditions = sqlc._PROFILES.get(SCHEMA, sqlc.get_target("postgres"), AS_OF, False).conditions
    spelled = conditions.sentinel(0)[1]
    rule = ir.And((ir.Cmp(F["t"], "=", spelled), ir.TextMatch(F["t"], "contains", spelled, False),
                   ir.InSet(F["e"], (spelled, conditions.sentinel(1)[1]))))
    assembled = sqlc.compile_rule(rule, SCHEMA, **kw)
    assert assembled == _whole(monkeypatch, rule, SCHEMA, **kw)
    # Each value is a string literal holding the sentinel's text, and nothing else is.
    assert assembled.sql.count(spelled) == 3
    assert assembled.sql.count(f"'{spelled}'") == 3


def test_value_dependent_leaves_are_generated_whole(monkeypatch):
    """A bound past the calendar and SQLite's scaled decimals fold to constants by value:
    they take the whole tree's path, and give its text."""
    far = ir.DayCmp(F["joined"], ">=", ir.Day(offset=4_000_000))
    near = ir.DayCmp(F["joined"], ">=", ir.Day(offset=4))
    for rule in (far, near, ir.And((far, near)), ir.Cmp(F["d"], "=", Decimal("0.125"))):
        for target in TARGETS:
            kw = dict(target=target, as_of=AS_OF, pretty=False)
            assert sqlc.compile_rule(rule, SCHEMA, **kw) == _whole(monkeypatch, rule, SCHEMA, **kw)
    assert shapes._day_cmp(sqlc.Builder(SCHEMA, sqlc.get_target("postgres"), AS_OF, False), far) is None


def test_an_error_while_assembling_reports_what_the_whole_tree_reports(monkeypatch):
    """Any error on the way falls back to the whole tree, so diagnostics and SQL are the
    ones whole generation gives."""
    def fail(self, b, node):
        raise Unsupported(error("E0404", "boom"))

    rule = ir.And((ir.Cmp(F["i"], ">", 3), ir.TextMatch(F["t"], "ends", "x", True)))
    kw = dict(target="duckdb", as_of=AS_OF, params=True, pretty=False)
    expected = _whole(monkeypatch, rule, SCHEMA, **kw)
    monkeypatch.setattr(shapes.Conditions, "leaf", fail)
    assert sqlc.compile_rule(rule, SCHEMA, **kw) == expected


@pytest.mark.parametrize("target", TARGETS)
def test_every_example_leaf_has_a_template(target):
    """The shapes the example segments use are all cut into templates: none falls back
    to whole generation (which would be correct, and slow)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for domain in ("hospitality", "golf"):
        ws = load_workspace(sorted((root / "examples" / domain).glob("*.seg")))
        for params in (False, True):
            for seg in ws.segments.values():
                assert sqlc.compile_rule(seg.rule, ws.schema, target=target, as_of=AS_OF, params=params,
                                         pretty=False).ok
            cache = sqlc._PROFILES.get(ws.schema, sqlc.get_target(target), AS_OF, params)
            assert cache.conditions.shapes, "the examples should have leaves"
            assert all(t is not shapes._NO_TEMPLATE for t in cache.conditions.shapes.values())
