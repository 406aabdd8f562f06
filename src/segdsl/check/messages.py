"""Wording for the checker's messages: how kinds and literals are named, and the
examples and hints offered in help. Operands and literals are quoted as the user would
write them, by :mod:`segdsl.syntax.printer` (one spelling for messages, the formatter
and importers alike)."""

from __future__ import annotations

import attrs

from segdsl.diagnostics import Diagnostic
from segdsl.syntax import ast
from segdsl.schema.model import Field, Kind, Schema


def kind_name(f: Field) -> str:
    return {
        Kind.INT: "an integer", Kind.DECIMAL: "a decimal", Kind.FLOAT: "a float", Kind.TEXT: "text",
        Kind.BOOL: "a boolean", Kind.DATE: "a date", Kind.TIMESTAMP: "a timestamp", Kind.ENUM: "an enum",
        Kind.TAGS: "a tag list",
    }[f.kind]


def first_time_field(src: Schema) -> str:
    for f in src.fields.values():
        if f.kind in (Kind.TIMESTAMP, Kind.DATE):
            return f.name
    return "<column>"


def plural(f: Field) -> str:
    return {Kind.TEXT: "text values", Kind.ENUM: "enum values", Kind.BOOL: "booleans",
            Kind.TAGS: "tag lists"}.get(f.kind, "these values")


def literal_kind(lit: ast.Scalar) -> str:
    return {
        ast.IntLit: "a whole number", ast.DecimalLit: "a decimal number", ast.StringLit: "a string",
        ast.BoolLit: "a boolean", ast.DateLit: "a date", ast.TimestampLit: "a timestamp", ast.NullLit: "null",
    }[type(lit)]


def example_condition(f: Field) -> str:
    return {
        Kind.INT: ">= 1", Kind.DECIMAL: f">= {10 ** max(0, min(2, (f.type.precision or 5) - (f.type.scale or 0) - 1))}"
        + (f".{'0' * f.type.scale}" if f.type.scale else ""), Kind.FLOAT: ">= 0.5", Kind.TEXT: '= "text"',
        Kind.BOOL: "= true", Kind.DATE: ">= 2024-01-01", Kind.TIMESTAMP: "within 30 days",
        Kind.ENUM: f'= "{f.type.values[0]}"' if f.type.values else '= "value"', Kind.TAGS: 'has "tag"',
    }[f.kind]


def unordered_help(f: Field) -> str:
    if f.kind is Kind.TEXT:
        return "text order depends on each database's collation; use `=`, `in [...]` or `starts with`"
    if f.kind is Kind.ENUM:
        return f"list the values you want: `{f.name} in [...]`"
    return "use `=` or `!=`"


_NUMERIC = (Kind.INT, Kind.DECIMAL, Kind.FLOAT)


def source_column_help(name: str, schema: Schema, predicate: ast.Expr | None = None) -> str | None:
    """Help for a name that is no field of the entity but a column of one of its sources
    (``amount > 5``): the aggregates that say it per entity, built from the predicate as
    written when there is one (``sum(orders.amount) > 5``, ``count(orders where amount > 5) >= 1``)."""
    from segdsl.syntax.printer import print_expr

    found = [(s, src.fields[name]) for s, src in schema.sources.items() if name in src.fields]
    if not found:
        return None
    source, column = found[0]
    rest = None
    if isinstance(predicate, ast.Compare) and isinstance(predicate.left, ast.FieldRef) and predicate.left.name == name:
        rest = print_expr(predicate)[len(name):]  # ` > 5`, as written
    examples = []
    if rest is not None and column.kind in _NUMERIC:
        examples.append(f"`sum({source}.{name}){rest}`")
    condition = (f"{name}{rest}" if rest is not None
                 else print_expr(predicate) if predicate is not None and _reads_only(predicate, name)
                 else f"{name} {example_condition(column)}")
    examples.append(f"`count({source} where {condition}) >= 1`")
    names = [f"`{s}`" for s, _ in found]
    where = f"source {names[0]}" if len(names) == 1 else f"sources {', '.join(names[:-1])} and {names[-1]}"
    return (f"`{name}` is a column of the {where}, not a field of `{schema.entity}`: "
            f"aggregate it per {schema.entity}, e.g. {' or '.join(examples)}")


def _reads_only(predicate: ast.Expr, name: str) -> bool:
    """Whether ``predicate`` is a plain predicate on the field ``name`` (so it can be put
    inside an aggregate's ``where`` as written)."""
    left = getattr(predicate, "operand", None) or getattr(predicate, "left", None)
    return isinstance(left, ast.FieldRef) and left.name == name and not isinstance(predicate, (ast.BoolOp, ast.Not))


def example_rule(schema: Schema) -> str:
    """A condition drawn from ``schema`` itself, for help texts: its first numeric field
    (not the key), else its first field."""
    fields = [f for f in schema.fields.values() if f.name != schema.key.name]
    f = next((f for f in fields if f.kind in _NUMERIC), fields[0] if fields else schema.key)
    return f"{f.name} {example_condition(f)}"


def with_schema_examples(d: Diagnostic, schema: Schema) -> Diagnostic:
    """A parser's diagnostic with the example its help lacks, drawn from ``schema`` (the
    parser knows no schema): a field's condition, a segment name for the entity."""
    if d.code != "E0017" or d.help is None:
        return d
    if d.help == "a condition starts with a field":
        return attrs.evolve(d, help=f"{d.help}, e.g. `{example_rule(schema)}`")
    if d.help == "choose another name" and d.span is not None and "segment name" in d.message:
        word = d.message.split("`")[1]
        return attrs.evolve(d, help=f"{d.help}, e.g. `{word}_{schema.entity}s`")
    return d
