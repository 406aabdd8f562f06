"""Typed IR → SQL statements: the public entry points.

Every statement is one sqlglot tree built by :mod:`segdsl.backends.sql.builder` and generated
by sqlglot; no text is cut out of or spliced into generated SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from segdsl import ir
from segdsl.diagnostics import Diagnostic, error
from segdsl.ir.semantics import COMPARE
from segdsl.schema.model import Field, Schema
from segdsl.backends.sql.builder import Builder, Unsupported, generate_sql
from segdsl.backends.sql.targets import get_target

FORMS = ("select", "count", "view")


@attrs.frozen
class SqlResult:
    statements: tuple[str, ...]
    params: dict[str, Any]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def sql(self) -> str:
        return ";\n".join(self.statements)


def compile_rule(
    rule: ir.Node,
    schema: Schema,
    *,
    target: str = "postgres",
    form: str = "select",
    as_of: dt.datetime | None = None,
    params: bool = False,
    view_name: str = "segment",
    pretty: bool = True,
) -> SqlResult:
    """Compile one rule over ``schema.table`` in the given form.

    ``as_of`` pins the evaluation instant; ``None`` uses the database's clock (in UTC).
    With ``params`` every value is a bound parameter and ``SqlResult.params`` holds them.
    """
    tgt = get_target(target)
    if tgt is None:
        return SqlResult((), {}, (error("E0400", f"unknown SQL dialect `{target}`"),))
    if form not in FORMS:
        return SqlResult((), {}, (error("E0400", f"unknown form `{form}`; use one of {', '.join(FORMS)}"),))
    builder = Builder(schema, tgt, as_of, params)
    node = ir.negation_normal_form(rule)
    derived, builder.bare = _traits_read(node)
    if len(derived) > 1:  # in schema order, so rules reading the same traits share one CTE
        order = {name: i for i, name in enumerate(schema.fields)}
        derived = sorted(derived, key=lambda f: order.get(f.name, len(order)))
    try:
        builder.check_depth(node, rule)
        statements = builder.statements(builder.cond(node), form, view_name, derived)
        sql = tuple(generate_sql(tgt, s, pretty, rule) for s in statements)
    except Unsupported as exc:
        return SqlResult((), {}, (exc.diagnostic,))
    return SqlResult(sql, builder.params, ())


def compile_segment(segment: ir.Segment, schema: Schema, **kw) -> SqlResult:
    kw.setdefault("view_name", f"segment_{segment.name}")
    return compile_rule(segment.rule, schema, **kw)


def condition(rule: ir.Node, schema: Schema, *, target: str = "postgres", as_of: dt.datetime | None = None,
              params: bool = False):
    """The WHERE condition alone, as a sqlglot expression, with its parameters.

    Used by oracles that wrap a rule in other SQL (``(p) IS NULL``, ``SUM(CASE ...)``)."""
    tgt = get_target(target)
    assert tgt is not None, target
    builder = Builder(schema, tgt, as_of, params)
    return builder.condition(rule), builder.params


# --------------------------------------------------------------------------- builder


def _traits_read(node: ir.Node) -> tuple[list[Field], set[str]]:
    """In one walk of ``node`` (in negation normal form, as a WHERE clause): the traits
    it reads, in first-use order, and those of them it reads *only where NULL and 0
    select alike*: count/sum traits tested, outside any NOT, only by comparisons 0
    fails. For those the profile need not COALESCE a missing count or sum to 0, and
    the WHERE stays strict in them, so Postgres can turn the LEFT JOIN into a join."""
    derived: dict[str, Field] = {}
    ok: set[str] = set()
    bad: set[str] = set()

    def walk(n: ir.Node, positive: bool) -> None:
        cls = n.__class__
        if cls is ir.And or cls is ir.Or:
            for i in n.items:
                walk(i, positive)
            return
        if cls is ir.Not:
            return walk(n.item, False)
        if cls is ir.Member:
            return walk(n.rule, positive)
        f = getattr(n, "field", None)
        if f is None or f.derive is None:
            return
        derived.setdefault(f.name, f)
        if f.derive.fn not in ("count", "sum"):
            return
        if cls is ir.Cmp:
            zero_fails = not COMPARE[n.op](0, n.value)
        elif cls is ir.InSet:
            zero_fails = 0 not in n.values
        else:
            zero_fails = False
        (ok if positive and zero_fails else bad).add(f.name)

    walk(node, True)
    return list(derived.values()), ok - bad
