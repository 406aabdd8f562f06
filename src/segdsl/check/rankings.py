"""Typing and lowering of rankings: ``field in top P%`` and ``top N by field``, each
``among`` a population (docs/language.md, "Ranking")."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from segdsl import ir
from segdsl.check.messages import kind_name
from segdsl.diagnostics import error
from segdsl.ir.semantics import INT64_MAX
from segdsl.schema.model import ORDERED
from segdsl.syntax import ast
from segdsl.syntax.printer import print_expr

if TYPE_CHECKING:
    from segdsl.check.checker import Checker

#: Decimal places a percentage may have (`2.5%`, `0.0125%`): the percentile test stays
#: a product of small integers on every engine.
MAX_PERCENT_PLACES = 4


def check_ranking(ck: Checker, e: ast.Ranking) -> ir.Node | None:
    """``e`` typed and lowered to :class:`segdsl.ir.Rank`, or None after a diagnostic."""
    operand = ck.resolve(e.operand)
    f = ck.operand_field(operand)
    days = isinstance(operand, ast.DaysSince)
    ok = f is not None
    if f is not None and not days and f.kind not in ORDERED:
        ck.diags.append(
            error("E0160", f"`{f.name}` is {kind_name(f)}, which has no order to rank by", e.operand.span,
                  label="not rankable",
                  help="rank by a number, a date, a timestamp, `days_since(...)` or an aggregate")
        )
        ok = False
    percent = limit = None
    amount = e.amount
    if e.kind == "percent":
        value = Decimal(amount.value)
        places = -value.as_tuple().exponent if isinstance(amount, ast.DecimalLit) else 0
        if not Decimal(0) < value <= Decimal(100) or places > MAX_PERCENT_PLACES:
            why = ("a percentage has at most 4 decimal places" if places > MAX_PERCENT_PLACES
                   else "a percentage of a population is above 0 and at most 100")
            ck.diags.append(error("E0161", f"`{amount.text}%` is not a percentage a ranking can take", amount.span,
                                  label=why, help="write e.g. `ltv in top 10%` or `ltv in top 2.5%`"))
            ok = False
        percent = value.normalize() if ok else None
    else:
        if not isinstance(amount, ast.IntLit) or not 1 <= amount.value <= INT64_MAX:
            ck.diags.append(error("E0162", f"`top {amount.text}` does not name a number of entities", amount.span,
                                  label="1 or more",
                                  help="write a whole number of at least 1, e.g. `top 500 by ltv`"))
            ok = False
        else:
            limit = amount.value
    population = None
    if e.population is not None:
        population = ck.expr(e.population)
        ok = ok and population is not None
    if not ok:
        return None
    return ir.Rank(f, days, percent, limit, population, e.span, print_expr(e))
