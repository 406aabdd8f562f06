"""Exact comparisons of integer-encoded numbers with decimal constants.

Decimals are stored as whole numbers of their last decimal place (cents for a scale of
2) in memory and on SQLite. ``x op c`` for such an integer ``x`` and any exact rational
``c`` is an integer bound — ``x >= 0.125`` on cents is ``n >= 13`` — or a constant when
no integer can equal ``c``. Both backends take their bounds from here.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fractions import Fraction


def scaled(value: int | Decimal, scale: int) -> Fraction:
    """``value`` in units of 10**-scale, exactly."""
    import fractions  # only decimals on SQLite and in memory need it

    return fractions.Fraction(value) * 10**scale


def integer_comparison(op: str, c: Fraction) -> tuple[str, int] | bool:
    """``x op c`` for integer x as ``(op', k)`` meaning ``x op' k``, or the constant truth
    value it has for every (non-null) x."""
    match op:
        case ">=":
            return (">=", math.ceil(c))
        case ">":
            return (">=", math.floor(c) + 1)
        case "<=":
            return ("<=", math.floor(c))
        case "<":
            return ("<", math.ceil(c))
        case "=":
            return ("=", c.numerator) if c.denominator == 1 else False
        case "!=":
            return ("!=", c.numerator) if c.denominator == 1 else True
    raise ValueError(f"unknown comparison {op!r}")
