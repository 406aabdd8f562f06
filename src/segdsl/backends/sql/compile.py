"""Typed IR → SQL statements: the public entry points.

Every statement is one sqlglot tree built by :mod:`segdsl.backends.sql.builder` and generated
by sqlglot; no text is cut out of or spliced into generated SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

from segdsl import ir
from segdsl.diagnostics import Diagnostic, error
from segdsl.schema.model import Field, Schema
from segdsl.backends.sql.builder import Builder, generate_sql
from segdsl.backends.sql.shared import Unsupported
from segdsl.backends.sql.references import Plan, plan_references
from segdsl.backends.sql.targets import get_target

FORMS = ("select", "count", "view")


@attrs.frozen
class SqlResult:
    statements: tuple[str, ...]
    params: dict[str, Any]
    diagnostics: tuple[Diagnostic, ...]
    #: Functions the SQL calls that the engine does not have and the connection must
    #: be given (SQLite's bucket hash: see docs/language.md#splits-and-holdouts).
    functions: tuple[str, ...] = ()

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
    columns: Sequence[Field] = (),
    limit: int | None = None,
) -> SqlResult:
    """Compile one rule over ``schema.table`` in the given form.

    ``as_of`` pins the evaluation instant; ``None`` uses the database's clock (in UTC).
    With ``params`` every value is a bound parameter and ``SqlResult.params`` holds them.
    ``columns`` (form ``select`` only) selects these fields of each member after its key,
    traits computed as the rule's are; ``limit`` keeps the first members in key order.
    """
    tgt = get_target(target)
    if tgt is None:
        return SqlResult((), {}, (error("E0400", f"unknown SQL dialect `{target}`"),))
    if form not in FORMS:
        return SqlResult((), {}, (error("E0400", f"unknown form `{form}`; use one of {', '.join(FORMS)}"),))
    builder = Builder(schema, tgt, as_of, params)
    node = ir.negation_normal_form(rule)
    plan = plan_references(node, schema)
    if columns:
        plan = _with_columns(plan, columns)
    try:
        builder.check_depth(plan, rule)
        statements = builder.statements(plan, form, view_name, columns=columns, limit=limit)
        sql = tuple(generate_sql(tgt, s, pretty, rule) for s in statements)
    except Unsupported as exc:
        return SqlResult((), {}, (exc.diagnostic,))
    return SqlResult(sql, builder.params, (), tuple(sorted(builder.functions)))


def _with_columns(plan: Plan, columns: Sequence[Field]) -> Plan:
    """The plan with the traits among ``columns`` in the profile and read by the main
    block; none of them may stay NULL where its count or sum is 0 (see
    ``references._traits_read``), as it is shown, not only tested."""
    extra = [f for f in columns if f.derive is not None]
    if not extra:
        return plan
    derived = {f.name: f for f in plan.derived}
    for f in extra:
        derived.setdefault(f.name, f)
    main = plan.main
    traits = {f.name: f for f in main.traits}
    for f in extra:
        traits.setdefault(f.name, f)
    main = attrs.evolve(main, traits=tuple(traits.values()))
    return attrs.evolve(plan, blocks=(*plan.blocks[:-1], main), derived=tuple(derived.values()),
                        bare=plan.bare - {f.name for f in extra})


def compile_ranked(rank: ir.Rank, schema: Schema, *, target: str = "postgres", as_of: dt.datetime | None = None,
                   params: bool = False) -> SqlResult:
    """The SELECT of what ``rank`` ranks: the key and the ranked field's value of each
    entity of its population whose value is not NULL, so the cut-off can be found from
    them (:func:`segdsl.ir.semantics.rank_cutoff`), as ``plan`` and ``size`` report it."""
    ranked = ir.Not(ir.IsNull(rank.field, rank.span), rank.span)
    rule = ranked if rank.population is None else ir.And((rank.population, ranked), rank.span)
    return compile_rule(rule, schema, target=target, as_of=as_of, params=params, pretty=False, columns=(rank.field,))


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
