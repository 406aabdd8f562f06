"""AST → source text, on one line per rule, in canonical spelling.

The inverse of the parser for everything that carries meaning: ``parse(print(x))``
equals ``x``. Parentheses are written exactly where precedence (not > and > or) needs
them, or where the tree's shape says the user grouped operands. Numbers keep the text
the user wrote (``150_000`` stays). The formatter lays this text out over lines and
puts comments back; importers of other rule formats print through here too.
"""

from __future__ import annotations

from segdsl.syntax import ast

_PRECEDENCE = {"or": 1, "and": 2}


def print_expr(e: ast.Expr) -> str:
    """One rule as text. An and/or list costs no recursion per operand; nesting costs
    one level per group, which the parser caps."""
    return _expr(e, 0)


def expr_text(e: ast.Expr, context: int = 0) -> str:
    """``e`` as written where the surrounding operator binds with strength ``context``
    (0: nothing around it; see :func:`child_context`), parenthesised if it must be."""
    return _expr(e, context)


def child_context(parent: ast.BoolOp | ast.Not, child: ast.Expr) -> int:
    """The binding strength ``child`` is printed under as an operand of ``parent``."""
    if isinstance(parent, ast.Not):
        return 3
    mine = _PRECEDENCE[parent.op]
    # A same-op child was grouped by the user (`a and (b and c)`): keep it grouped.
    return mine + 1 if isinstance(child, ast.BoolOp) else mine


def needs_parens(e: ast.Expr, context: int) -> bool:
    return isinstance(e, ast.BoolOp) and _PRECEDENCE[e.op] < context


def _expr(e: ast.Expr, context: int) -> str:
    match e:
        case ast.BoolOp(op=op, items=items):
            text = f" {op} ".join(_expr(i, child_context(e, i)) for i in items)
            return f"({text})" if needs_parens(e, context) else text
        case ast.Not(item=item):
            inner = _expr(item, child_context(e, item))
            return f"not {inner}"
    return _predicate(e)


def _predicate(e: ast.Expr) -> str:
    match e:
        case ast.Truthy(operand=o):
            return operand_text(o)
        case ast.Compare(left=left, op=op, right=right):
            return f"{operand_text(left)} {op} {literal_text(right)}"
        case ast.CompareOperands(left=left, op=op, right=right):
            return f"{operand_text(left)} {op} {operand_text(right)}"
        case ast.InList(left=left, items=items, negated=neg):
            return f"{operand_text(left)} {'not in' if neg else 'in'} {literal_text(items)}"
        case ast.Between(left=left, low=low, high=high, negated=neg):
            word = "not between" if neg else "between"
            return f"{operand_text(left)} {word} {literal_text(low)} and {literal_text(high)}"
        case ast.IsNull(left=left, negated=neg):
            return f"{operand_text(left)} is {'not null' if neg else 'null'}"
        case ast.TextMatch(left=left, kind=kind, text=text, ignore_case=ic):
            return f"{operand_text(left)} {kind} {literal_text(text)}{' ignoring case' if ic else ''}"
        case ast.TagMatch(left=left, kind=kind, value=value):
            return f"{operand_text(left)} {kind} {literal_text(value)}"
        case ast.TimeWindow(left=left, kind=kind, duration=d):
            unit = d.unit if d.amount != 1 else d.unit[:-1]
            tail = " ago" if kind != "within" else ""
            return f"{operand_text(left)} {kind} {d.amount} {unit}{tail}"
        case ast.SegmentRef(name=name):
            return f"in segment {name}"
        case ast.Ranking(operand=o, kind=kind, amount=amount, population=population):
            among = "" if population is None else " among " + (
                _predicate(population) if isinstance(population, ast.SegmentRef) else f"({print_expr(population)})")
            if kind == "percent":
                return f"{operand_text(o)} in top {literal_text(amount)}%{among}"
            return f"top {literal_text(amount)} by {operand_text(o)}{among}"
        case ast.SplitRef(split=split, arm=arm):
            return f"in split {split}.{arm}"
        case ast.HoldoutRef(name=name):
            return f"in holdout {name}"
        case ast.Sequence(first=first, then=then, negated=neg, duration=d):
            unit = d.unit if d.amount != 1 else d.unit[:-1]
            word = "not followed by" if neg else "followed by"
            return f"{events_text(first)} {word} {events_text(then)} within {d.amount} {unit}"
    raise AssertionError(f"cannot print {e!r}")  # pragma: no cover


def operand_text(o: ast.Operand) -> str:
    if isinstance(o, ast.DaysSince):
        return f"days_since({o.field.name})"
    if isinstance(o, ast.Aggregate):
        text = o.source.name + (f".{o.column.name}" if o.column else "")
        if o.by is not None:
            text += f" by {o.by.name}"
        if o.where is not None:
            text += f" where {print_expr(o.where)}"
        return f"{o.fn}({text})"
    return o.name


def events_text(e: ast.Events) -> str:
    """``(SOURCE)`` or ``(SOURCE where RULE)``: one side of an event sequence."""
    return f"({e.source.name} where {print_expr(e.where)})" if e.where is not None else f"({e.source.name})"


def literal_text(lit: ast.Literal) -> str:
    match lit:
        case ast.ListLit(items=items):
            return "[" + ", ".join(literal_text(i) for i in items) + "]"
        case ast.IntLit(text=t) | ast.DecimalLit(text=t) | ast.TimestampLit(text=t):
            return t
        case ast.DateLit(value=v):
            return v.isoformat()
        case ast.StringLit(value=v):
            return string_text(v)
        case ast.BoolLit(value=v):
            return "true" if v else "false"
        case ast.NullLit():
            return "null"
    raise AssertionError(f"cannot print {lit!r}")  # pragma: no cover


def string_text(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
