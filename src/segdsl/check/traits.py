"""Traits: profile fields derived from source tables, declared in the schema.

A schema field with ``derive = 'sum(bookings.amount_inr where status = "completed")'``
is parsed and typed here by the same checker that types rules, so a trait and an
aggregate written inline in a rule mean exactly the same thing. The result is a schema
whose derived fields carry their :class:`segdsl.ir.Aggregate`, their type and their
nullability; the SQL backend and the in-memory profile builder both read that.

:func:`load_schema` is how every part of segdsl gets a schema: read
(:mod:`segdsl.schema.model`), then its traits typed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from segdsl.check.checker import Checker
from segdsl.diagnostics import Diagnostic, error
from segdsl.schema.model import Kind, Schema, channel_problems, read_schema, read_schema_dict
from segdsl.syntax import ast
from segdsl.syntax.parser import parse_expression
from segdsl.syntax.span import Span


def load_schema(path: str | Path) -> tuple[Schema | None, list[Diagnostic]]:
    """Read a schema file and type its traits."""
    schema, diags = read_schema(path)
    if schema is None:
        return None, diags
    typed, more = check_schema(schema)
    return typed, diags + more


def schema_from_dict(data: Mapping, path: str = "<schema>") -> tuple[Schema | None, list[Diagnostic]]:
    """Build a schema from a TOML document's data and type its traits."""
    schema, diags = read_schema_dict(data, path)
    if schema is None:
        return None, diags
    typed, more = check_schema(schema)
    return typed, diags + more


def check_schema(schema: Schema) -> tuple[Schema | None, list[Diagnostic]]:
    """Type a schema's traits (and what depends on their types: the ``days_since`` of a
    trait, a channel's consent held by a trait); None when one has an error."""
    if not any(f.derive_text and f.derive is None for f in schema.fields.values()):
        return schema, []
    typed, diags = _type_traits(schema)
    if typed is None:
        return None, diags
    problems = channel_problems(typed)
    if problems:
        return None, diags + problems
    return typed, diags


def _type_traits(schema: Schema) -> tuple[Schema | None, list[Diagnostic]]:
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
