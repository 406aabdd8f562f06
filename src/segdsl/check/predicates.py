"""Typing and lowering of the predicate forms (comparisons, lists, ranges, text, tags and
time windows) and of the literals they compare with; a mixin of the checker."""

from __future__ import annotations

from decimal import Decimal

from segdsl.syntax import ast
from segdsl import ir
from segdsl.check.messages import (
    example_condition,
    kind_name,
    literal_kind,
    plural,
    unordered_help,
)
from segdsl.diagnostics import Diagnostic, error, warning
from segdsl.ir.semantics import INT64_MAX, INT64_MIN, decimal_bound
from segdsl.schema.model import ORDERED, Field, Kind
from segdsl.syntax.printer import literal_text, operand_text
from segdsl.syntax.span import Span
from segdsl.check.suggest import did_you_mean, one_of


#: Longest span of days a rule may name (about 270 years): enough for any CRM, and far
#: from the edges of every engine's calendar.
MAX_DAYS = 100_000
#: Longest span of hours a rule may name: the same span as ``MAX_DAYS``.
MAX_HOURS = MAX_DAYS * 24

#: Kinds two fields may have to be compared with each other, by group: numbers (exact
#: integers and decimals, or floats with floats), dates, instants, text (text and enums
#: alike) and booleans. A float and an exact number are not compared: engines compare them
#: through a double, which rounds 64-bit integers and decimals.
_GROUP = {Kind.INT: "exact", Kind.DECIMAL: "exact", Kind.FLOAT: "float", Kind.DATE: "date",
           Kind.TIMESTAMP: "timestamp", Kind.TEXT: "text", Kind.ENUM: "text", Kind.BOOL: "bool"}

#: Significant digits a number literal may have: a float is a double, which separates
#: decimal numbers exactly up to 15 digits, and a decimal field has at most 15 (a longer
#: literal compared with one is first brought to the field's scale, exactly).
MAX_DIGITS = 15
_WHOLE_DIGITS_BOUND = 10**MAX_DIGITS


def comparable(left: Field, right: Field, op: str) -> bool:
    """Whether ``left op right`` is a comparison of two fields the checker accepts (the
    language server offers the fields that are)."""
    group = _GROUP.get(left.kind)
    if group is None or group != _GROUP.get(right.kind) or left.days_since or right.days_since:
        return bool(left.days_since and right.days_since)
    return op in ("=", "!=") or group not in ("text", "bool")


class PredicateChecks:
    """The predicate half of :class:`segdsl.check.checker.Checker`, which provides
    ``operand_field`` (the field a predicate's left side names)."""

    diags: list[Diagnostic]

    def compare(self, e: ast.Compare) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.right, ast.NullLit):
            text = operand_text(e.left)
            help_ = (f"write `{text} is {'not ' if e.op == '!=' else ''}null`" if f.nullable
                     else f"`{text}` is never null; compare it with a value, e.g. `{text} {example_condition(f)}`")
            self.diags.append(error("E0104", "comparing with null is never true", e.span, help=help_))
            return None
        if isinstance(e.left, ast.DaysSince):
            days = self.days_value(e.right)
            if days is None:
                return None
            return ir.DayCmp(f, ir.FLIP[e.op], ir.Day(offset=-days), e.span)
        if e.op not in ("=", "!=") and f.kind not in ORDERED:
            self.diags.append(
                error("E0105", f"`{e.op}` cannot order {plural(f)} the same way on every database",
                      e.span, label=f"`{f.name}` is {kind_name(f)}",
                      help=unordered_help(f))
            )
            return None
        if f.kind is Kind.TIMESTAMP and isinstance(e.right, ast.DateLit):
            return ir.DayCmp(f, e.op, ir.Day(date=e.right.value), e.span)
        if (f.kind is Kind.DECIMAL and isinstance(e.right, (ast.IntLit, ast.DecimalLit))
                and _digits(Decimal(e.right.value)) > MAX_DIGITS):
            # Too many digits to compare exactly, but the field has only `scale` places: the
            # same comparison with a bound at that scale is exact on every engine.
            exact = decimal_bound(e.op, e.right.value, f.type.scale or 0)
            if not isinstance(exact, bool) and _digits(exact[1]) <= MAX_DIGITS:
                return ir.Cmp(f, exact[0], exact[1], e.span)
        value = self.value(f, e.right)
        if value is _BAD:
            return None
        if f.kind is Kind.DECIMAL and e.op in ("=", "!=") and _scale(value.normalize()) > (f.type.scale or 0):
            self.diags.append(
                warning("W0205", f"`{f.name}` has {f.type.scale} decimal places, so it never equals {value}",
                        e.right.span, help=f"`{e.op}` is always {'false' if e.op == '=' else 'true'} for non-null values")
            )
        return ir.Cmp(f, e.op, value, e.span)

    def in_list(self, e: ast.InList) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        items = self.list_items(e.items, e.span)
        if items is None:
            return None
        if isinstance(e.left, ast.DaysSince):
            days = [self.days_value(i) for i in items]
            if any(d is None for d in days):
                return None
            node: ir.Node = ir.Or(
                tuple(ir.DayCmp(f, "=", ir.Day(offset=-d), e.span) for d in dict.fromkeys(days)), e.span
            )
        elif f.kind is Kind.TIMESTAMP and all(isinstance(i, ast.DateLit) for i in items):
            node = ir.Or(tuple(ir.DayCmp(f, "=", ir.Day(date=i.value), e.span) for i in items), e.span)
        else:
            if f.kind is Kind.TAGS:
                self.diags.append(
                    error("E0102", f"`{f.name}` is a tag list; `in` tests a single value", e.span,
                          help=f"write `{f.name} has any [...]`")
                )
                return None
            values = [self.value(f, i) for i in items]
            if _BAD in values:
                return None
            unique = list(dict.fromkeys(values))
            if len(unique) < len(values):
                self.diags.append(warning("W0203", "the list repeats a value", e.items.span, help="remove the duplicate"))
            node = ir.InSet(f, tuple(unique), e.span)
        return ir.Not(node, e.span) if e.negated else node

    def list_items(self, lst: ast.ListLit, span: Span) -> list | None:
        if not lst.items:
            self.diags.append(
                error("E0106", "an empty list matches nothing", lst.span,
                      help="list at least one value; databases disagree about `in ()`")
            )
            return None
        nulls = [i for i in lst.items if isinstance(i, ast.NullLit)]
        if nulls:
            self.diags.append(
                error("E0104", "null in a list never matches anything", nulls[0].span,
                      help="remove it and add `or <field> is null` if that is what you mean")
            )
            return None
        return list(lst.items)

    def between(self, e: ast.Between) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince):
            lo, hi = self.days_value(e.low), self.days_value(e.high)
            if lo is None or hi is None:
                return None
            a = ir.DayCmp(f, "<=", ir.Day(offset=-lo), e.span)
            b = ir.DayCmp(f, ">=", ir.Day(offset=-hi), e.span)
            lo_v, hi_v = lo, hi
        else:
            if f.kind not in ORDERED:
                self.diags.append(
                    error("E0105", f"`between` cannot order {plural(f)} the same way on every database",
                          e.span, help=unordered_help(f))
                )
                return None
            if f.kind is Kind.TIMESTAMP and isinstance(e.low, ast.DateLit) and isinstance(e.high, ast.DateLit):
                a = ir.DayCmp(f, ">=", ir.Day(date=e.low.value), e.span)
                b = ir.DayCmp(f, "<=", ir.Day(date=e.high.value), e.span)
                lo_v, hi_v = e.low.value, e.high.value
            else:
                lo_v, hi_v = self.value(f, e.low), self.value(f, e.high)
                if lo_v is _BAD or hi_v is _BAD:
                    return None
                a = ir.Cmp(f, ">=", lo_v, e.span)
                b = ir.Cmp(f, "<=", hi_v, e.span)
        if lo_v > hi_v:
            self.diags.append(
                warning("W0201", f"the range is empty: {lo_v} is greater than {hi_v}", e.span,
                        help=f"write `between {literal_text(e.high)} and {literal_text(e.low)}`; as written it is never true")
            )
        node: ir.Node = ir.And((a, b), e.span)
        return ir.Not(node, e.span) if e.negated else node

    def text_match(self, e: ast.TextMatch) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind is not Kind.TEXT:
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a text field; `{f.name}` is {kind_name(f)}", e.span,
                      help="use `=` or `in [...]`" if f.kind is Kind.ENUM else None)
            )
            return None
        if e.text.value == "":
            self.diags.append(
                warning("W0204", f"every text {e.kind} the empty string", e.text.span,
                        help=f"this only excludes rows where `{f.name}` is null; write `{f.name} is not null`")
            )
        kind = {"contains": "contains", "starts with": "starts", "ends with": "ends"}[e.kind]
        return ir.TextMatch(f, kind, e.text.value, e.ignore_case, e.span)

    def tag_match(self, e: ast.TagMatch) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind is not Kind.TAGS:
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a tag-list field; `{f.name}` is {kind_name(f)}", e.span,
                      help=(f"write `{f.name} = ...`" if f.kind in (Kind.TEXT, Kind.ENUM) else None))
            )
            return None
        if e.kind == "has":
            items = [e.value] if not isinstance(e.value, ast.ListLit) else None
            if items is None:
                self.diags.append(
                    error("E0102", "`has` takes one tag", e.value.span, help="write `has any [...]` or `has all [...]`")
                )
                return None
        else:
            if not isinstance(e.value, ast.ListLit):
                self.diags.append(error("E0102", f"`{e.kind}` takes a list of tags", e.value.span,
                                        help=f'write `{e.kind} ["a", "b"]`'))
                return None
            items = self.list_items(e.value, e.span)
            if items is None:
                return None
        values = []
        for item in items:
            if not isinstance(item, ast.StringLit):
                self.diags.append(error("E0102", "tags are strings", item.span, help='write the tag in quotes: "vip"'))
                return None
            values.append(item.value)
        kind = {"has": "has", "has any": "any", "has all": "all"}[e.kind]
        return ir.TagMatch(f, kind, tuple(dict.fromkeys(values)), e.span)

    def time_window(self, e: ast.TimeWindow) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind not in (Kind.DATE, Kind.TIMESTAMP):
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a date or timestamp field; `{f.name}` is {kind_name(f)}", e.span)
            )
            return None
        if e.duration.hours:
            return self.hour_window(e, f)
        n = e.duration.days
        if n > MAX_DAYS:
            self.diagnostics_too_long(e.duration)
            return None
        if e.kind == "within":
            # The last N days up to and including the as-of date.
            return ir.And(
                (ir.DayCmp(f, ">=", ir.Day(offset=-n), e.span), ir.DayCmp(f, "<=", ir.Day(offset=0), e.span)),
                e.span,
            )
        if e.kind == "before":
            return ir.DayCmp(f, "<", ir.Day(offset=-n), e.span)
        return ir.DayCmp(f, ">", ir.Day(offset=-n), e.span)

    def hour_window(self, e: ast.TimeWindow, f: Field) -> ir.Node | None:
        """``within N hours`` and ``before``/``after N hours ago``: exact instants, so only
        on timestamps; a date has no hours."""
        n = e.duration.amount
        if f.kind is not Kind.TIMESTAMP:
            days = -(-n // 24)
            form = f"{e.kind} {days} day{'s' if days != 1 else ''}{' ago' if e.kind != 'within' else ''}"
            self.diags.append(
                error("E0102", f"`{e.kind} ... hours` needs a timestamp; `{f.name}` is a date, which has no hours",
                      e.span, label="a date",
                      help=f"count whole days on a date: `{f.name} {form}`")
            )
            return None
        if n > MAX_HOURS:
            self.diags.append(
                error("E0118", f"a span of {n:,} hours is too long", e.duration.span,
                      help=f"the longest span is {MAX_HOURS:,} hours")
            )
            return None
        if e.kind == "within":
            # From N hours before the as-of instant up to the as-of instant, both included.
            return ir.And((ir.InstantCmp(f, ">=", n, e.span), ir.InstantCmp(f, "<=", 0, e.span)), e.span)
        return ir.InstantCmp(f, "<" if e.kind == "before" else ">", n, e.span)

    def compare_operands(self, e: ast.CompareOperands) -> ir.Node | None:
        """``left op right`` with an operand on each side."""
        left, right = self.resolve(e.left), self.resolve(e.right)
        f, g = self.operand_field(left), self.operand_field(right)
        if f is None or g is None:
            return None
        days = isinstance(left, ast.DaysSince), isinstance(right, ast.DaysSince)
        if days[0] and days[1]:
            # days_since(a) op days_since(b): D - date(a) op D - date(b), date(a) FLIP[op] date(b).
            return ir.FieldCmp(f, ir.FLIP[e.op], g, True, e.span)
        what_f = "a number of days" if days[0] else kind_name(f)
        what_g = "a number of days" if days[1] else kind_name(g)
        group_f = None if days[0] else _GROUP.get(f.kind)
        group_g = None if days[1] else _GROUP.get(g.kind)
        if group_f is None or group_f != group_g:
            pair = {group_f, group_g}
            if days[0] or days[1]:
                help_ = "compare `days_since(...)` with another `days_since(...)`, or with a whole number of days"
            elif pair == {"date", "timestamp"}:
                help_ = "compare their UTC days: `days_since(a) < days_since(b)` is `a` later than `b` by date"
            elif pair == {"exact", "float"}:
                help_ = ("databases compare a float with an integer or decimal through a double, which rounds; "
                         "compare the float with a literal, or declare both fields alike")
            else:
                help_ = "compare fields of the same kind: numbers, dates, timestamps, text or booleans"
            self.diags.append(
                error("E0119", f"`{operand_text(e.left)}` is {what_f} and `{operand_text(e.right)}` is {what_g}; "
                      "they cannot be compared", e.span, label=f"{what_f} vs {what_g}", help=help_)
            )
            return None
        if e.op not in ("=", "!=") and group_f in ("text", "bool"):
            self.diags.append(
                error("E0105", f"`{e.op}` cannot order {plural(f)} the same way on every database",
                      e.span, label=f"`{operand_text(e.left)}` is {kind_name(f)}", help=unordered_help(f))
            )
            return None
        return ir.FieldCmp(f, e.op, g, False, e.span)

    def diagnostics_too_long(self, duration: ast.Duration) -> None:
        self.diags.append(
            error("E0118", f"a span of {duration.days:,} days is too long", duration.span,
                  help=f"the longest span is {MAX_DAYS:,} days")
        )

    def days_value(self, lit: ast.Scalar) -> int | None:
        if isinstance(lit, ast.IntLit) and abs(lit.value) <= MAX_DAYS:
            return lit.value
        if isinstance(lit, ast.IntLit):
            self.diags.append(
                error("E0118", f"a span of {abs(lit.value):,} days is too long", lit.span,
                      help=f"the longest span is {MAX_DAYS:,} days")
            )
        else:
            self.diags.append(
                error("E0102", "days_since(...) is compared with a whole number of days", lit.span,
                      label="not a number of days")
            )
        return None

    def value(self, f: Field, lit: ast.Scalar):
        """The literal as a value of ``f``'s type, or _BAD after a diagnostic."""
        k = f.kind
        # The usual pairs, answered before the full match below (which repeats them).
        cls = lit.__class__
        if cls is ast.StringLit:
            if k is Kind.TEXT or (k is Kind.ENUM and lit.value in f.type.values):
                return lit.value
        elif cls is ast.IntLit:
            v = lit.value
            if k is Kind.INT and INT64_MIN <= v <= INT64_MAX:
                return v
            if k is Kind.DECIMAL and -_WHOLE_DIGITS_BOUND < v < _WHOLE_DIGITS_BOUND:  # at most MAX_DIGITS digits
                return Decimal(v)
        match lit:
            case ast.IntLit(value=v) if k is Kind.INT:
                if not INT64_MIN <= v <= INT64_MAX:
                    self.diags.append(error("E0115", "the number is outside the 64-bit integer range", lit.span))
                    return _BAD
                return v
            case ast.IntLit(value=v) | ast.DecimalLit(value=v) if k in (Kind.DECIMAL, Kind.FLOAT) and _digits(
                Decimal(v)
            ) > MAX_DIGITS:
                self.diags.append(
                    error("E0117", f"`{lit.text}` has more than {MAX_DIGITS} significant digits", lit.span,
                          label="too precise",
                          help=(f"`{f.name}` has {f.type.scale} decimal place{'' if f.type.scale == 1 else 's'}: "
                                f"write the value with at most {f.type.scale} (an ordering comparison such as "
                                "`>` is brought to them exactly)"
                                if k is Kind.DECIMAL else
                                "a float keeps 15 significant digits, so no engine tells such numbers apart; "
                                "write at most 15, choosing the value that says what you mean"))
                )
                return _BAD
            case ast.IntLit(value=v) if k is Kind.DECIMAL:
                return Decimal(v)
            case ast.IntLit(value=v) if k is Kind.FLOAT:
                if abs(v) > 2**53:
                    self.diags.append(error("E0115", "the number is too large to compare exactly with a float",
                                            lit.span))
                    return _BAD
                return float(v)
            case ast.DecimalLit(value=v) if k is Kind.DECIMAL:
                return v
            case ast.DecimalLit(value=v) if k is Kind.FLOAT:
                return float(v)
            case ast.DecimalLit() if k is Kind.INT:
                self.diags.append(
                    error("E0116", f"`{f.name}` holds whole numbers; compare it with a whole number", lit.span,
                          label="a decimal", help="a decimal against an integer column compares inexactly on some databases")
                )
                return _BAD
            case ast.StringLit(value=v) if k is Kind.TEXT:
                return v
            case ast.StringLit(value=v) if k is Kind.ENUM:
                if v in f.type.values:
                    return v
                self.diags.append(
                    error("E0103", f"`{v}` is not a value of `{f.name}`", lit.span, label="not declared",
                          help=did_you_mean(v, f.type.values, quote='"')
                          or f"the values are {one_of(f.type.values, quote=chr(34))}")
                )
                return _BAD
            case ast.BoolLit(value=v) if k is Kind.BOOL:
                return v
            case ast.DateLit(value=v) if k is Kind.DATE:
                return v
            case ast.TimestampLit(value=v) if k is Kind.TIMESTAMP:
                return v
        self.diags.append(
            error("E0102", f"`{f.name}` is {kind_name(f)}, but this is {literal_kind(lit)}", lit.span,
                  label=f"expected {kind_name(f)}", help=f"e.g. `{f.name} {example_condition(f)}`")
        )
        return _BAD


_BAD = object()


def _digits(d: Decimal) -> int:
    return len(d.normalize().as_tuple().digits) if d else 1


def _scale(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0
