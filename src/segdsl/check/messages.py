"""Wording for the checker's messages: how kinds and literals are named, and the
examples and hints offered in help. Operands and literals are quoted as the user would
write them, by :mod:`segdsl.syntax.printer` (one spelling for messages, the formatter
and importers alike)."""

from __future__ import annotations

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
        Kind.INT: ">= 1", Kind.DECIMAL: ">= 100.00", Kind.FLOAT: ">= 0.5", Kind.TEXT: '= "text"',
        Kind.BOOL: "= true", Kind.DATE: ">= 2024-01-01", Kind.TIMESTAMP: "within 30 days",
        Kind.ENUM: f'= "{f.type.values[0]}"' if f.type.values else '= "value"', Kind.TAGS: 'has "tag"',
    }[f.kind]


def unordered_help(f: Field) -> str:
    if f.kind is Kind.TEXT:
        return "text order depends on each database's collation; use `=`, `in [...]` or `starts with`"
    if f.kind is Kind.ENUM:
        return f"list the values you want: `{f.name} in [...]`"
    return "use `=` or `!=`"
