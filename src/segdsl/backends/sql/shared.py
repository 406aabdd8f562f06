"""What the statement builder and the event-sequence writer share: the exception that
carries a refusal's diagnostic, a WHERE clause every engine reads as one, and time
arithmetic in whole units with each engine's own function (``Target.clock``,
``Target.instant_shift``)."""

from __future__ import annotations

from sqlglot import exp

from segdsl.diagnostics import Diagnostic


class Unsupported(Exception):
    """A construct the target cannot express: compiling stops with ``diagnostic``."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def where_clause(condition) -> exp.Where:
    """``WHERE condition``, without parentheses around the whole condition. Spark keeps
    its keywords unreserved (unless ``spark.sql.ansi.enforceReservedKeywords``), so after
    a table without an alias it reads ``t WHERE (FALSE)`` (or ``(flag)``) as the table
    aliased `WHERE`, its columns renamed: an error, or with a table of one column the
    whole table unfiltered."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    return exp.Where(this=condition)


def number(text: str):
    """A numeric literal from its text, a minus sign as sqlglot's Literal.number puts it
    (without parsing the text back to a number)."""
    if text[0] == "-":
        return exp.Neg(this=exp.Literal(this=text[1:], is_string=False))
    return exp.Literal(this=text, is_string=False)


def unit_shift(how: str, e, n: int, unit: str):
    """``e`` plus ``n`` (negative: minus) whole ``unit``s (DAY, HOUR, SECOND), with the
    engine's function for it: ``how`` is a ``Target.clock`` or ``Target.instant_shift``."""
    count = number(str(n))
    match how:
        case "current_date_utc" | "timestamp_add":
            # DATE_ADD on a date, TIMESTAMP_ADD / TIMESTAMP_SUB on an instant.
            fn = "DATE_ADD" if unit == "DAY" else "TIMESTAMP_ADD"
            if n < 0:
                fn, count = fn.replace("_ADD", "_SUB"), number(str(-n))
            return exp.Anonymous(this=fn, expressions=[e, exp.Interval(this=count, unit=exp.Var(this=unit))])
        case "convert_timezone" | "dateadd":
            return exp.Anonymous(this="DATEADD", expressions=[exp.Var(this=unit), count, e])
        case "with_timezone":
            return exp.Anonymous(this="date_add", expressions=[exp.Literal.string(unit.lower()), count, e])
    raise AssertionError(how)  # pragma: no cover
