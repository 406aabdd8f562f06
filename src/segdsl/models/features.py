"""Model features as segdsl expressions, evaluated by segdsl's own profile builder.

A feature is an aggregate over a source table (``count(bookings where ...)``) or a day
count of an entity field (``days_since(signup_date)``), written in the language a rule
uses. It is parsed with :func:`segdsl.syntax.parser.parse_expression`, checked against the
project's schema with :func:`segdsl.check.checker.check_expression`, and evaluated at an
instant with :func:`segdsl.backends.memory.profile.build_profile` — so a feature means exactly what the
same text means in a segment, at that as-of.

No leakage: every aggregate is bounded in time with ``before 0 days ago`` (strictly
before the as-of date), so rows dated on or after the as-of never reach a feature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from segdsl.syntax import ast
from segdsl import ir
from segdsl.data.tables import EPOCH_ORDINAL, US_PER_DAY, Table
from segdsl.schema.model import Field, Kind, Schema


class ModelError(Exception):
    """A problem a user can fix (a feature that does not check, missing data); the
    command prints the message without a traceback."""


@attrs.frozen
class Feature:
    """One numeric input: the segdsl ``expr``, then NULL → ``missing``, clipped to
    ``[0, cap]``, then ``log1p`` when ``log``. Dates and timestamps become the number of
    UTC calendar days from their date to the as-of date (``days_since``)."""

    name: str
    expr: str
    doc: str
    log: bool = False
    cap: float | None = None
    missing: float = 0.0

    def describe(self) -> dict:
        return {"name": self.name, "expression": self.expr, "doc": self.doc,
                "transform": _transform_text(self)}


def _transform_text(f: Feature) -> str:
    text = "value"
    if f.missing:
        text = f"value, {_num(f.missing)} when null"
    if f.cap is not None:
        text = f"min({text}, {_num(f.cap)})"
    return f"log(1 + {text})" if f.log else text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@attrs.frozen
class Compiled:
    """A checked expression: an aggregate (a derived field) or ``days_since`` of a field."""

    text: str
    field: Field
    days_since: bool


def compile_expr(schema: Schema, text: str, name: str) -> Compiled:
    """Parse and check one feature expression against ``schema``; raises ModelError with
    the diagnostics when it does not check."""
    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression

    parsed = parse_expression(text, f"<feature {name}>")
    expr = parsed.expr
    operand = expr.operand if isinstance(expr, ast.Truthy) else None
    if not isinstance(operand, (ast.Aggregate, ast.DaysSince)):
        problems = "; ".join(d.message for d in parsed.diagnostics) or "not an aggregate or days_since(field)"
        raise ModelError(f"feature `{name}`: `{text}`: {problems}")
    # `operand is not null` types the operand without asking it to be a boolean.
    node, diags = check_expression(ast.IsNull(operand, True, expr.span), schema)
    errors = [d for d in diags if d.is_error]
    if node is None or errors:
        raise ModelError(f"feature `{name}`: `{text}`: " + "; ".join(d.message for d in errors))
    field = ir.fields_used(node)[0]
    if isinstance(operand, ast.DaysSince):
        return Compiled(text, field, True)
    return Compiled(text, attrs.evolve(field, name=name, column=f"_feature_{name}"), False)


def evaluate(schema: Schema, entity: Table, sources: Mapping[str, Table], exprs: Mapping[str, Compiled],
             as_of: dt.datetime) -> dict[str, np.ndarray]:
    """Each expression's value per entity row at ``as_of``, as float64 with NaN for NULL
    (counts and sums are never NULL). Decimals are in units, dates and timestamps are
    day counts to the as-of date."""
    from segdsl.backends.memory.profile import build_profile

    aggregates = [c.field for c in exprs.values() if not c.days_since]
    profile = build_profile(schema, entity, sources, aggregates, as_of)
    day = as_of.astimezone(dt.timezone.utc).date().toordinal() - EPOCH_ORDINAL
    out: dict[str, np.ndarray] = {}
    for name, c in exprs.items():
        f = c.field
        col = profile.columns[f.column]
        values = col.values.astype(np.float64)
        match f.kind:
            case Kind.TIMESTAMP:
                values = day - np.floor_divide(col.values, US_PER_DAY).astype(np.float64)
            case Kind.DATE:
                values = day - col.values.astype(np.float64)
            case Kind.DECIMAL:
                values = values / 10 ** (f.type.scale or 0)
            case Kind.INT | Kind.FLOAT:
                pass
            case _:
                raise ModelError(f"`{c.text}` is {f.kind.value}; a feature must be a number, date or timestamp")
        out[name] = np.where(col.valid, values, np.nan)
    return out


def transform(features: Sequence[Feature], raw: Mapping[str, np.ndarray]) -> np.ndarray:
    """The design matrix (rows × features) before standardization."""
    cols = []
    for f in features:
        x = np.where(np.isnan(raw[f.name]), f.missing, raw[f.name])
        x = np.clip(x, 0.0, np.inf if f.cap is None else f.cap)
        cols.append(np.log1p(x) if f.log else x)
    return np.column_stack(cols) if cols else np.zeros((0, 0))
