"""Typed IR → SQL statements: the public entry points, and the caches that let each
rule generate only its own condition.

The trees come from :mod:`segdsl.sql.builder`. Around a rule's condition, everything
(the profile CTE, SELECT ... FROM ... ORDER BY, the view) depends on the schema,
target, as-of, form and traits, never on the rule's literals: on the verified families
its text is generated once per such context and reused (:class:`_ProfileCache`), and
the condition itself is assembled from per-shape templates (:mod:`segdsl.sql.shapes`).
Pretty-printed SQL, and every other dialect, is generated whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from sqlglot import exp

from segdsl import ir
from segdsl.diagnostics import Diagnostic, error
from segdsl.schema import Field, Schema
from segdsl.sql.builder import Builder, Unsupported, generate_sql
from segdsl.sql.shapes import Conditions
from segdsl.sql.targets import VERIFIED, Target, get_target

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
        order = _PROFILES.field_order(schema)
        derived = sorted(derived, key=lambda f: order.get(f.name, len(order)))
    try:
        builder.check_depth(node, rule)
        # Everything around the rule's condition (the profile CTE, SELECT ... FROM ...
        # ORDER BY, the view) depends on the schema, target, as-of, form and traits,
        # never on the rule's literals: its text is generated once and reused, and the
        # condition is assembled from its leaves' templates (_ProfileCache, shapes).
        # Pretty-printed SQL is generated whole: its indentation depends on the nesting.
        cache = None if pretty or tgt.family not in VERIFIED else _PROFILES.get(schema, tgt, as_of, params)
        if cache is None:
            statements = builder.statements(builder.cond(node), form, view_name, derived)
            return SqlResult(tuple(generate_sql(tgt, s, pretty, rule) for s in statements), builder.params, ())
        try:
            where = cache.conditions.where(builder, node)
        except Unsupported:
            # The whole tree, as generated without the templates, reports the error
            # the same way (the first in the tree, with the rule's span).
            bare, builder = builder.bare, Builder(schema, tgt, as_of, params)
            builder.bare = bare
            # Generated as a WHERE clause, so the condition sees the context it has in
            # the statement (some dialects write a predicate differently in a WHERE).
            where = generate_sql(tgt, exp.Where(this=builder.cond(node)), False, rule)
        templates, body_params = cache.templates(form, view_name, derived, builder)
        sql = tuple(cache.fill(t, where) for t in templates)
        builder.params.update(body_params)
    except Unsupported as exc:
        return SqlResult((), {}, (exc.diagnostic,))
    return SqlResult(sql, builder.params, ())


class _ProfileCache:
    """Generated SQL around rules, for one (schema, target, as-of, parameters).

    ``templates`` holds, per form, view name and traits, each statement's text with a
    placeholder condition in its WHERE; ``bodies`` the profile CTE per traits, spliced
    into a template once, in place of a placeholder query. A rule's SQL is its template
    with the condition's own text in place of the placeholder's. Both placeholders name
    a column by a random per-process token, so no schema or rule can produce their
    text, and they are replaced in the templates, which hold no rule text.
    """

    def __init__(self, tgt: Target, as_of: dt.datetime | None, params: bool):
        import secrets

        self.tgt = tgt
        self.as_of = as_of
        self.params = params
        token = secrets.token_hex(8)
        self.marker = exp.select(exp.Column(this=exp.to_identifier(f"segdsl_profile_{token}", quoted=True)),
                                 copy=False)
        self.marker_sql = generate_sql(tgt, self.marker.copy(), False, None)
        self.where = exp.Column(this=exp.to_identifier(f"segdsl_where_{token}", quoted=True))
        self.where_sql = generate_sql(tgt, exp.Where(this=self.where.copy()), False, None)
        self.bodies: dict[tuple, tuple[str, dict[str, Any]]] = {}
        self.shells: dict[tuple, tuple[tuple[str, ...], dict[str, Any]]] = {}
        self.conditions = Conditions(tgt)

    def body(self, derived: list[Field], builder: Builder) -> tuple[str, dict[str, Any]]:
        """The CTE body's SQL and its parameters (named t1, t2, ..., apart from the
        rule's own p1, p2, ...)."""
        # `bare` (traits the WHERE reads only where NULL and 0 select alike) shapes the CTE.
        key = (tuple(f.column for f in derived), frozenset(builder.bare))
        hit = self.bodies.get(key)
        if hit is None:
            own = Builder(builder.schema, self.tgt, self.as_of, self.params)
            own.bare = builder.bare
            hit = (generate_sql(self.tgt, own.profile(derived), False, None), own.params)
            if len(self.bodies) >= _CACHE_SIZE:
                self.bodies.clear()
            self.bodies[key] = hit
        return hit

    def templates(self, form: str, view_name: str, derived: list[Field],
                  builder: Builder) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The statements of ``form`` around a placeholder condition, and the CTE's
        parameters."""
        key = (form, view_name, tuple([f.column for f in derived]), frozenset(builder.bare))
        hit = self.shells.get(key)
        if hit is None:
            shell = Builder(builder.schema, self.tgt, self.as_of, self.params)
            statements = shell.statements(self.where.copy(), form, view_name, derived,
                                          cte=self.marker if derived else None)
            texts = tuple(generate_sql(self.tgt, s, False, None) for s in statements)
            body_params: dict[str, Any] = {}
            if derived:
                body, body_params = self.body(derived, builder)
                texts = tuple(_splice(t, self.marker_sql, body) for t in texts)
            hit = (texts, body_params)
            if len(self.shells) >= _CACHE_SIZE:
                self.shells.clear()
            self.shells[key] = hit
        return hit

    def fill(self, template: str, where: str) -> str:
        return _splice(template, self.where_sql, where)


def _splice(text: str, placeholder: str, replacement: str) -> str:
    """``text`` with the first occurrence of ``placeholder`` replaced (a statement
    without it, such as DROP VIEW, stays as it is)."""
    at = text.find(placeholder)
    if at < 0:
        return text
    return text[:at] + replacement + text[at + len(placeholder):]


class _ProfileCaches:
    """One :class:`_ProfileCache` per live schema object, target and as-of. Schemas are
    values (equal by content, unhashable), so they are told apart by identity; an entry
    goes when its schema is garbage-collected."""

    def __init__(self):
        self.by_schema: dict[int, tuple[Any, dict]] = {}

    def _entry(self, schema: Schema) -> tuple[Any, dict]:
        import weakref

        entry = self.by_schema.get(id(schema))
        if entry is None or entry[0]() is not schema:
            entry = (weakref.ref(schema, lambda _, i=id(schema): self.by_schema.pop(i, None)), {})
            self.by_schema[id(schema)] = entry
        return entry

    def field_order(self, schema: Schema) -> dict[str, int]:
        """Each field's position in the schema."""
        per_schema = self._entry(schema)[1]
        order = per_schema.get("field_order")
        if order is None:
            order = per_schema["field_order"] = {name: i for i, name in enumerate(schema.fields)}
        return order

    def get(self, schema: Schema, tgt: Target, as_of: dt.datetime | None, params: bool) -> _ProfileCache:
        per_schema = self._entry(schema)[1]
        key = (tgt.dialect, as_of, params)  # a Target is one per dialect, and slower to hash
        cache = per_schema.get(key)
        if cache is None:
            if len(per_schema) >= _CACHE_SIZE:
                per_schema.clear()
            cache = per_schema[key] = _ProfileCache(tgt, as_of, params)
        return cache


#: Bounds each level of the cache, so a long-running server compiling at ever new
#: as-of instants or trait sets stays small.
_CACHE_SIZE = 1024
_PROFILES = _ProfileCaches()


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
            zero_fails = not _PY_OPS[n.op](0, n.value)
        elif cls is ir.InSet:
            zero_fails = 0 not in n.values
        else:
            zero_fails = False
        (ok if positive and zero_fails else bad).add(f.name)

    walk(node, True)
    return list(derived.values()), ok - bad


_PY_OPS = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


