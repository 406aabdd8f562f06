"""Traits: profile fields derived from source tables, declared in the schema.

A schema field with ``derive = 'sum(bookings.amount_inr where status = "completed")'``
is parsed and typed here by the same checker that types rules, so a trait and an
aggregate written inline in a rule mean exactly the same thing. The result is a schema
whose derived fields carry their :class:`segdsl.ir.Aggregate`, their type and their
nullability; the SQL backend and the in-memory profile builder both read that.
"""

from __future__ import annotations

import attrs

from segdsl.syntax import ast
from segdsl.diagnostics import Diagnostic, error
from segdsl.schema.model import Kind, Schema
from segdsl.syntax.span import Span


def resolve_traits(schema: Schema) -> tuple[Schema | None, list[Diagnostic]]:
    from segdsl.check.checker import Checker
    from segdsl.syntax.parser import parse_expression

    diags: list[Diagnostic] = []
    fields = dict(schema.fields)
    checker = Checker(schema)
    for f in schema.fields.values():
        if not f.derive_text:
            continue
        where = f"{schema.path}: fields.{f.name}.derive"
        note = (f"in `derive = '{f.derive_text}'`",)
        parsed = parse_expression(f.derive_text, where)
        if parsed.expr is None:
            diags.extend(attrs.evolve(d, notes=d.notes + note) for d in parsed.diagnostics)
            continue
        if not (isinstance(parsed.expr, ast.Truthy) and isinstance(parsed.expr.operand, ast.Aggregate)):
            diags.append(
                error("E0135", f"field `{f.name}`: `derive` must be one aggregate", Span(where, 0, 0), notes=note,
                      help='e.g. `derive = \'sum(bookings.amount_inr where status = "completed")\'`')
            )
            continue
        before = len(checker.diags)
        derived = checker.aggregate_field(parsed.expr.operand, name=f.name, column=f.name)
        diags.extend(attrs.evolve(d, notes=d.notes + note) for d in checker.diags[before:])
        if derived is not None:
            fields[f.name] = attrs.evolve(derived, doc=f.doc, model=f.model, derive_text=f.derive_text)
    for f in list(fields.values()):
        if f.days_since and fields[f.days_since].derive_text:
            target = fields[f.days_since]
            if target.kind not in (Kind.DATE, Kind.TIMESTAMP):
                diags.append(error("E0302", f"field `{f.name}`: `days_since` must name a date or timestamp field",
                                   Span(schema.path, 0, 0)))
                continue
            fields[f.name] = attrs.evolve(f, nullable=target.nullable)
    if any(d.is_error for d in diags):
        return None, diags
    return attrs.evolve(schema, fields=fields), diags
