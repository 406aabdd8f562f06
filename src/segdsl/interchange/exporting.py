"""Export: an AST → segdsl-json or react-querybuilder JSON text, with a diagnostic at the
`.seg` span of each construct the target format cannot express."""

from __future__ import annotations

import json

from segdsl.syntax import ast
from segdsl.diagnostics import Diagnostic, error
from segdsl.interchange.formats import JS_SPACE, FORMAT_NAMES, FORMATS
from segdsl.interchange.names import quoted, json_field_name
from segdsl.syntax.span import Span

#: Deepest rule exported; the parser allows 48 levels, so only a hand-built tree trips it.
MAX_EXPORT_DEPTH = 100

_COMPARE_WORDS = {"=": "eq", "!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_TEXT_WORDS = {"segdsl": {"contains": "contains", "starts with": "startsWith", "ends with": "endsWith"},
               "rqb": {"contains": "contains", "starts with": "beginsWith", "ends with": "endsWith"}}
_RQB_NEGATED_TEXT = {"contains": "doesNotContain", "starts with": "doesNotBeginWith", "ends with": "doesNotEndWith"}
_TAG_WORDS = {"has": "has", "has any": "hasAny", "has all": "hasAll"}


class _Num(str):
    """A JSON number, written exactly as this text (an exact decimal stays exact)."""


def export_json(item, fmt: str = "segdsl") -> tuple[str | None, tuple[Diagnostic, ...]]:
    """An AST → JSON text in ``fmt`` (``"segdsl"`` or ``"rqb"``).

    ``item`` is a :class:`segdsl.syntax.ast.SegmentDef` (one object), a module or a sequence of
    segments (a list, in segdsl-json), or a bare rule (:data:`segdsl.syntax.ast.Expr`, a
    group). A react-querybuilder query holds one rule and nothing about the segment.
    What the target cannot express is a diagnostic at the construct's `.seg` span."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown interchange format {fmt!r}; use one of {', '.join(FORMATS)}")
    ex = _Exporter(fmt)
    if isinstance(item, ast.Module):
        item = list(item.segments)
    if isinstance(item, (list, tuple)):
        if fmt == "rqb" and len(item) != 1:
            raise ValueError("a react-querybuilder query holds one segment's rule; export segments one at a time")
        value = [ex.segment(s) for s in item] if fmt == "segdsl" else ex.segment(item[0])
    elif isinstance(item, ast.SegmentDef):
        value = ex.segment(item)
    else:
        value = ex.top(item)
    if any(d.is_error for d in ex.diags):
        return None, tuple(ex.diags)
    return _dump(value) + "\n", tuple(ex.diags)


class _Exporter:
    def __init__(self, fmt: str):
        self.fmt = fmt
        self.diags: list[Diagnostic] = []

    def err(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diags.append(error(code, message, span, label=f"not expressible in {FORMAT_NAMES[self.fmt]}", help=help))

    def segment(self, seg: ast.SegmentDef):
        where, members = seg.where, seg.clause(ast.Members)
        if self.fmt == "rqb":
            if seg.kind == "static" or members is not None:
                self.err("E0535", f"static segment `{seg.name}` is a list of members, not a rule", seg.name_span,
                         help="export it as segdsl-json, which carries member lists")
                return None
            if where is None:
                self.err("E0537", f"segment `{seg.name}` has no rule to export", seg.name_span)
                return None
            return self.top(where)
        out: dict = {"id": seg.name}
        if seg.title is not None:
            out["name"] = seg.title.value
        if seg.kind != "dynamic":
            out["type"] = seg.kind
        if seg.description is not None:
            out["description"] = seg.description
        if seg.refresh is not None:
            out["refresh"] = seg.refresh
        if members is not None:
            out["members"] = [self.literal(i) for i in members.items.items]
        if where is not None:
            group = self.top(where)
            if group is not None:
                out["rules"] = group.pop("rules")
                out.update(group)
        elif members is None:
            self.err("E0537", f"segment `{seg.name}` has no rule to export", seg.name_span,
                     help="give it a `where` rule, or make it static with `members [...]`")
        return out

    def top(self, e: ast.Expr):
        depth = _expr_depth(e)
        if depth > MAX_EXPORT_DEPTH:
            self.err("E0538", f"the rule nests {depth} levels deep; the limit is {MAX_EXPORT_DEPTH}", e.span)
            return None
        return self.group(e)

    def group(self, e: ast.Expr) -> dict:
        negate = isinstance(e, ast.Not) and isinstance(e.item, ast.BoolOp)
        inner = e.item if negate else e
        if isinstance(inner, ast.BoolOp):
            out = {"combinator": self.combinator(inner.op)}
            rules = [self.rule(i) for i in inner.items]
        else:
            out = {"combinator": self.combinator("and")}
            rules = [self.rule(inner)]
        if negate:
            out["not"] = True
        out["rules"] = rules
        return out

    def combinator(self, op: str) -> str:
        return op.upper() if self.fmt == "segdsl" else op

    def rule(self, e: ast.Expr) -> dict | None:
        if isinstance(e, ast.BoolOp) or (isinstance(e, ast.Not) and isinstance(e.item, ast.BoolOp)):
            return self.group(e)
        if isinstance(e, ast.Not):
            inner = e.item
            if self.fmt == "segdsl" and isinstance(inner, ast.SegmentRef):
                return {"operator": "notInSegment", "value": inner.name}
            if self.fmt == "rqb" and isinstance(inner, ast.TextMatch) and not inner.ignore_case:
                out = self.predicate(inner)
                if out is not None:
                    out["operator"] = _RQB_NEGATED_TEXT[inner.kind]
                return out
            return {"combinator": self.combinator("and"), "not": True, "rules": [self.rule(inner)]}
        return self.predicate(e)

    def field(self, o: ast.Operand) -> dict:
        if isinstance(o, ast.Aggregate):
            self.err("E0539", f"an inline aggregate (`{o.fn}(...)`) cannot be expressed in {FORMAT_NAMES[self.fmt]}",
                     o.span, help="declare it as a trait in the schema (`derive = '...'`) and compare that field")
            return {"field": json_field_name(o.source.name)}
        if isinstance(o, ast.DaysSince):
            if self.fmt == "rqb":
                self.err("E0533", "`days_since(...)` cannot be expressed in react-querybuilder", o.span,
                         help="use a derived day-count field from the schema, or export as segdsl-json")
                return {"field": json_field_name(o.field.name)}
            return {"field": json_field_name(o.field.name), "daysSince": True}
        return {"field": json_field_name(o.name)}

    def predicate(self, e: ast.Expr) -> dict | None:
        rqb = self.fmt == "rqb"
        match e:
            case ast.Ranking():
                # A ranking judges an entity against a whole population; neither JSON
                # format has an operator that compares rows with each other.
                self.err("E0540", f"a ranking (`{'in top' if e.kind == 'percent' else 'top N by'}`) cannot be "
                                  f"expressed in {FORMAT_NAMES[self.fmt]}", e.span,
                         help="keep the rule in a .seg file; export the segments that do not rank")
                return None
            case ast.Sequence():
                word = "not followed by" if e.negated else "followed by"
                self.err("E0541", f"an event sequence (`{word}`) cannot be expressed in {FORMAT_NAMES[self.fmt]}",
                         e.span, help="a JSON rule tests the profile's fields one by one; keep rules with "
                         "sequences in .seg files")
                return None
            case ast.SegmentRef(name=name):
                if rqb:
                    self.err("E0534", "`in segment` cannot be expressed in react-querybuilder", e.span,
                             help="export as segdsl-json, or expand the referenced rule by hand")
                    return None
                return {"operator": "inSegment", "value": name}
            case ast.SplitRef() | ast.HoldoutRef():
                what = "`in split`" if isinstance(e, ast.SplitRef) else "`in holdout`"
                self.err("E0545", f"{what} cannot be expressed in {FORMAT_NAMES[self.fmt]}", e.span,
                         help="the format has no splits or holdouts; export the rule without it")
                return None
            case ast.Truthy(operand=o):
                # react-querybuilder has no bare boolean; `f` means exactly `f = true`.
                if rqb:
                    return {**self.field(o), "operator": "=", "value": True}
                return {**self.field(o), "operator": "isTrue"}
            case ast.Compare(left=o, op=op, right=lit):
                return {**self.field(o), "operator": op if rqb else _COMPARE_WORDS[op], "value": self.literal(lit)}
            case ast.CompareOperands(left=o, op=op, right=r):
                # The value names a field: react-querybuilder's "valueSource": "field".
                if isinstance(r, ast.Aggregate):
                    self.field(r)  # E0539, as on the left
                    return None
                if isinstance(r, ast.DaysSince):
                    self.err("E0527", f"`days_since(...)` on the right of a comparison cannot be expressed in "
                             f"{FORMAT_NAMES[self.fmt]}", r.span,
                             help="declare a derived day-count field in the schema (`days_since = \"...\"`) "
                                  "and compare with it")
                    return None
                return {**self.field(o), "operator": op if rqb else _COMPARE_WORDS[op],
                        "value": json_field_name(r.name), "valueSource": "field"}
            case ast.InList(left=o, items=items, negated=neg):
                word = ("notIn" if neg else "in") if rqb else ("nin" if neg else "in")
                return {**self.field(o), "operator": word, "value": self.list_items(items.items)}
            case ast.Between(left=o, low=low, high=high, negated=neg):
                return {**self.field(o), "operator": "notBetween" if neg else "between",
                        "value": self.list_items((low, high))}
            case ast.IsNull(left=o, negated=neg):
                if rqb:
                    return {**self.field(o), "operator": "notNull" if neg else "null", "value": None}
                return {**self.field(o), "operator": "isNotNull" if neg else "isNull"}
            case ast.TextMatch(left=o, kind=kind, text=text, ignore_case=ic):
                out = {**self.field(o), "operator": _TEXT_WORDS[self.fmt][kind], "value": text.value}
                if ic and rqb:
                    self.err("E0530", "`ignoring case` cannot be expressed in react-querybuilder", e.span,
                             help="react-querybuilder's text operators are case-sensitive; export as segdsl-json")
                elif ic:
                    out["ignoreCase"] = True
                return out
            case ast.TagMatch(left=o, kind=kind, value=value):
                if rqb:
                    self.err("E0531", f"tag-list operator `{kind}` cannot be expressed in react-querybuilder",
                             e.span, help="export as segdsl-json")
                    return None
                return {**self.field(o), "operator": _TAG_WORDS[kind], "value": self.literal(value)}
            case ast.TimeWindow(left=o, kind=kind, duration=d):
                if rqb:
                    self.err("E0532", f"relative time (`{kind}`) cannot be expressed in react-querybuilder",
                             e.span, help="react-querybuilder compares with fixed values; export as segdsl-json")
                    return None
                return {**self.field(o), "operator": kind, "value": {"amount": d.amount, "unit": d.unit}}
        raise AssertionError(f"cannot export {e!r}")  # pragma: no cover

    def list_items(self, items) -> list:
        if self.fmt == "rqb":
            for lit in items:
                if isinstance(lit, ast.StringLit) and lit.value != lit.value.strip(JS_SPACE):
                    self.err("E0536", f"react-querybuilder trims list values, so {quoted(lit.value)} would lose "
                                      "its surrounding spaces", lit.span, help="export as segdsl-json")
        return [self.literal(i) for i in items]

    def literal(self, lit: ast.Literal):
        match lit:
            case ast.ListLit(items=items):
                return [self.literal(i) for i in items]
            case ast.IntLit(value=v):
                return _Num(str(v))
            case ast.DecimalLit(value=v):
                return _Num(format(v, "f"))
            case ast.StringLit(value=v):
                return v
            case ast.BoolLit(value=v):
                return v
            case ast.NullLit():
                return None
            case ast.DateLit(value=v):
                return v.isoformat()
            case ast.TimestampLit(text=t):
                return t
        raise AssertionError(f"cannot export {lit!r}")  # pragma: no cover


def _expr_depth(e: ast.Expr) -> int:
    best = 0
    stack = [(e, 0)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, ast.BoolOp):
            stack.extend((i, d + 1) for i in node.items)
        elif isinstance(node, ast.Not):
            stack.append((node.item, d + 1))
        else:
            best = max(best, d)
    return best


# ------------------------------------------------------------------- JSON writer


def _dump(value, indent: int = 0) -> str:
    """JSON text, two-space indented, with small objects and lists kept on one line."""
    flat = _flat(value, 3)
    if flat is not None and indent + len(flat) <= 100:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        body = ",\n".join(f"{pad}{_scalar(k)}: {_dump(v, indent + 2)}" for k, v in value.items())
        return "{\n" + body + "\n" + " " * indent + "}"
    if isinstance(value, list):
        body = ",\n".join(pad + _dump(v, indent + 2) for v in value)
        return "[\n" + body + "\n" + " " * indent + "]"
    return _scalar(value)


def _flat(value, budget: int) -> str | None:
    if isinstance(value, dict):
        if budget == 0:
            return None
        parts = [(k, _flat(v, budget - 1)) for k, v in value.items()]
        if any(p is None for _, p in parts):
            return None
        return "{" + ", ".join(f"{_scalar(k)}: {p}" for k, p in parts) + "}"
    if isinstance(value, list):
        if budget == 0 or any(isinstance(v, (dict, list)) for v in value):
            return None
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _Num):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)
