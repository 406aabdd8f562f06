"""A hand-written fast path for bare rules: text → the same ``ast.Expr`` Lark builds.

``parser.parse_expression`` tries this first and falls back to Lark whenever it returns
None. It accepts only what it can parse with certainty — the whole expression language,
written with whole-word tokens and no keyword standing in for a name — and gives up on
anything else: every syntax error, a bad literal, a keyword where a name goes (Lark's
contextual lexer would read it as a name and report it), nesting past ``MAX_DEPTH``.
So the grammar in ``grammar/segdsl.lark`` stays the definition of the language and
Lark stays the only source of diagnostics; tests/test_fastparse.py checks, on generated
text, that whenever this returns a tree it is Lark's tree, spans included.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from segdsl import ast
from segdsl.parser import _KEYWORDS, MAX_DEPTH, unescape
from segdsl.span import SourceFile, Span

# One alternation, tried in the order Lark's lexer tries the same terminals where they
# compete (timestamp, date, decimal, int); blanks and comments are skipped as the prefix
# of the next token, so every match is one token and the last is END. A word is always
# read whole: where Lark would split one (`notin` after a field reads as `not in`), the
# word is not what the parser expects there and it gives up.
_TOKEN = re.compile(
    r"(?:[ \t\r\n]+|#[^\n]*)*(?:"
    + "|".join(
        [
            r"(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)",
            r"(?P<TIMESTAMP>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
            r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)",
            r"(?P<DATE>[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9T]))",
            r"(?P<DECIMAL>-?[0-9](?:_?[0-9])*\.[0-9](?:_?[0-9])*)",
            r"(?P<INT>-?[0-9](?:_?[0-9])*)",
            r'(?P<STRING>"(?:[^"\\\n\r]|\\[^\n\r])*")',
            r"(?P<OP>!=|<=|>=|[=<>])",
            r"(?P<punct>[()\[\],.])",
            r"(?P<END>\Z)",
            r"(?P<bad>[\s\S])",
        ]
    )
    + ")"
)
#: A token's kind is its text for keywords and punctuation, else its group's name.
_KINDS = {word: word for word in _KEYWORDS} | {p: p for p in "()[],."}
_AGG_FNS = frozenset({"count", "sum", "min", "max", "latest"})
_UNITS = {"day": "days", "days": "days", "week": "weeks", "weeks": "weeks"}
_TEXT_KINDS = {"contains": "contains", "starts": "starts with", "ends": "ends with"}
_END = "END"
#: Parentheses and aggregate rules nested deeper than this go to Lark, which keeps its
#: own stack; this parser recurses once per level.
_MAX_LEVEL = 64


class _GiveUp(Exception):
    pass


def parse_rule(src: SourceFile) -> ast.Expr | None:
    """The rule in ``src`` as Lark's ``expression`` start rule would build it, or None
    when this parser does not handle the text (then Lark must)."""
    get = _KINDS.get
    kinds: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in _TOKEN.finditer(src.text):
        group = m.lastindex
        text = m[group]
        kinds.append(get(text, m.lastgroup))
        texts.append(text)
        starts.append(m.start(group))
        ends.append(m.end())
    if kinds[0] == _END or "bad" in kinds:
        return None
    p = _Parser(src.path, kinds, texts, starts, ends)
    try:
        node = p.expr()[0]
    except (_GiveUp, IndexError, KeyError, ValueError, InvalidOperation, RecursionError):
        return None
    if p.kinds[p.i] != _END:
        return None
    return node


class _Parser:
    """Recursive descent over the token arrays. Each expression method returns
    ``(node, start, end, depth)``: ``start``/``end`` are where the node sits in the text
    *with* any parentheses around it (what Lark's ``propagate_positions`` calls the
    container, which the enclosing node's span reaches to), ``depth`` the nesting the
    builder's ``_nest`` counts."""

    __slots__ = ("path", "kinds", "texts", "starts", "ends", "i", "level")

    def __init__(self, path, kinds, texts, starts, ends):
        self.path = path
        self.kinds = kinds
        self.texts = texts
        self.starts = starts
        self.ends = ends
        self.i = 0
        self.level = 0

    # -- boolean structure

    def expr(self):
        first = self.and_expr()
        if self.kinds[self.i] != "or":
            return first
        items = [first]
        while self.kinds[self.i] == "or":
            self.i += 1
            items.append(self.and_expr())
        return self._bool("or", items)

    def and_expr(self):
        first = self.not_expr()
        if self.kinds[self.i] != "and":
            return first
        items = [first]
        while self.kinds[self.i] == "and":
            self.i += 1
            items.append(self.not_expr())
        return self._bool("and", items)

    def _bool(self, op, items):
        depth = 1 + max(item[3] for item in items)
        if depth > MAX_DEPTH:
            raise _GiveUp
        start, end = items[0][1], items[-1][2]
        node = ast.BoolOp(op, tuple(item[0] for item in items), Span(self.path, start, end))
        return node, start, end, depth

    def not_expr(self):
        kinds = self.kinds
        nots = []
        while kinds[self.i] == "not":
            nots.append(self.starts[self.i])
            self.i += 1
        if len(nots) > MAX_DEPTH:
            raise _GiveUp
        node, start, end, depth = self.predicate()
        for at in reversed(nots):
            depth += 1
            if depth > MAX_DEPTH:
                raise _GiveUp
            node, start = ast.Not(node, Span(self.path, at, end)), at
        return node, start, end, depth

    # -- predicates

    def predicate(self):
        kinds, i, path = self.kinds, self.i, self.path
        kind = kinds[i]
        if kind == "(":
            self._enter()
            self.i = i + 1
            node, _, _, depth = self.expr()
            close = self._expect(")")
            self.level -= 1
            return node, self.starts[i], self.ends[close], depth
        if kind == "in":
            self.i = i + 1
            self._expect("segment")
            name = self._expect("NAME")
            start, end = self.starts[i], self.ends[name]
            name_span = Span(path, self.starts[name], end)
            return ast.SegmentRef(self.texts[name], name_span, Span(path, start, end)), start, end, 0
        left, start, end = self.operand()
        i = self.i
        kind = kinds[i]
        if kind == "OP":
            self.i = i + 1
            right = self.value()
            node = ast.Compare(left, self.texts[i], right, Span(path, start, right.span.end))
        elif kind == "in":
            self.i = i + 1
            items = self.list_()
            node = ast.InList(left, items, False, Span(path, start, items.span.end))
        elif kind == "not":
            self.i = i + 1
            if kinds[i + 1] == "in":
                self.i = i + 2
                items = self.list_()
                node = ast.InList(left, items, True, Span(path, start, items.span.end))
            else:
                self._expect("between")
                node = self._between(left, start, True)
        elif kind == "between":
            self.i = i + 1
            node = self._between(left, start, False)
        elif kind == "is":
            self.i = i + 1
            negated = kinds[i + 1] == "not"
            if negated:
                self.i += 1
            last = self._expect("null")
            node = ast.IsNull(left, negated, Span(path, start, self.ends[last]))
        elif kind in _TEXT_KINDS:
            self.i = i + 1
            if kind != "contains":
                self._expect("with")
            text = self._string(self._expect("STRING"))
            stop = text.span.end
            ignore = kinds[self.i] == "ignoring"
            if ignore:
                self.i += 1
                stop = self.ends[self._expect("case")]
            node = ast.TextMatch(left, _TEXT_KINDS[kind], text, ignore, Span(path, start, stop))
        elif kind == "has":
            self.i = i + 1
            nxt = kinds[i + 1]
            if nxt == "any" or nxt == "all":
                self.i = i + 2
                value = self.list_()
                tag_kind = "has " + nxt
            else:
                value = self.value()
                tag_kind = "has"
            node = ast.TagMatch(left, tag_kind, value, Span(path, start, value.span.end))
        elif kind == "within":
            self.i = i + 1
            duration = self.duration()
            node = ast.TimeWindow(left, "within", duration, Span(path, start, duration.span.end))
        elif kind == "before" or kind == "after":
            self.i = i + 1
            duration = self.duration()
            ago = self._expect("ago")
            node = ast.TimeWindow(left, kind, duration, Span(path, start, self.ends[ago]))
        else:
            node = ast.Truthy(left, Span(path, start, end))
        return node, node.span.start, node.span.end, 0

    def _between(self, left, start, negated):
        low = self.value()
        self._expect("and")
        high = self.value()
        return ast.Between(left, low, high, negated, Span(self.path, start, high.span.end))

    # -- operands: (node, start, end)

    def operand(self):
        kinds, i, path = self.kinds, self.i, self.path
        kind = kinds[i]
        if kind == "NAME":
            self.i = i + 1
            span = Span(path, self.starts[i], self.ends[i])
            return ast.FieldRef(self.texts[i], span), span.start, span.end
        if kind == "days_since":
            self.i = i + 1
            self._expect("(")
            name = self._name_ref(self._expect("NAME"))
            close = self._expect(")")
            start, end = self.starts[i], self.ends[close]
            return ast.DaysSince(name, Span(path, start, end)), start, end
        if kind in _AGG_FNS:
            return self.aggregate()
        raise _GiveUp

    def aggregate(self):
        kinds, i = self.kinds, self.i
        self.i = i + 1
        self._expect("(")
        source = self._name_ref(self._expect("NAME"))
        column = by = where = None
        if kinds[self.i] == ".":
            self.i += 1
            column = self._name_ref(self._expect("NAME"))
        if kinds[self.i] == "by":
            self.i += 1
            by = self._name_ref(self._expect("NAME"))
        if kinds[self.i] == "where":
            self.i += 1
            self._enter()
            where, _, _, depth = self.expr()
            self.level -= 1
            if depth + 1 > MAX_DEPTH:
                raise _GiveUp
        close = self._expect(")")
        start, end = self.starts[i], self.ends[close]
        return ast.Aggregate(self.texts[i], source, column, by, where, Span(self.path, start, end)), start, end

    def _name_ref(self, i):
        return ast.FieldRef(self.texts[i], Span(self.path, self.starts[i], self.ends[i]))

    # -- literals

    def duration(self):
        amount = self._expect("INT")
        unit = self.i
        if self.kinds[unit] not in _UNITS:
            raise _GiveUp
        self.i = unit + 1
        value = int(self.texts[amount].replace("_", ""))
        if value < 0:
            raise _GiveUp  # Lark reports it
        return ast.Duration(value, _UNITS[self.kinds[unit]], Span(self.path, self.starts[amount], self.ends[unit]))

    def list_(self):
        kinds = self.kinds
        open_ = self._expect("[")
        items = []
        if kinds[self.i] != "]":
            items.append(self.value())
            while kinds[self.i] == ",":
                self.i += 1
                if kinds[self.i] == "]":
                    break
                items.append(self.value())
        close = self._expect("]")
        return ast.ListLit(tuple(items), Span(self.path, self.starts[open_], self.ends[close]))

    def value(self):
        i = self.i
        kind = self.kinds[i]
        text = self.texts[i]
        span = Span(self.path, self.starts[i], self.ends[i])
        self.i = i + 1
        if kind == "INT":
            return ast.IntLit(int(text.replace("_", "")), text, span)
        if kind == "STRING":
            return self._string(i)
        if kind == "DECIMAL":
            return ast.DecimalLit(Decimal(text.replace("_", "")), text, span)
        if kind == "true" or kind == "false":
            return ast.BoolLit(kind == "true", span)
        if kind == "null":
            return ast.NullLit(span)
        if kind == "DATE":
            return ast.DateLit(dt.date.fromisoformat(text), span)  # ValueError: Lark reports it
        if kind == "TIMESTAMP":
            value = dt.datetime.fromisoformat(text)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            return ast.TimestampLit(value.astimezone(dt.timezone.utc), text, span)
        raise _GiveUp

    def _string(self, i):
        value, unknown = unescape(self.texts[i][1:-1])
        if unknown:
            raise _GiveUp  # Lark reports it
        return ast.StringLit(value, Span(self.path, self.starts[i], self.ends[i]))

    # -- helpers

    def _expect(self, kind):
        i = self.i
        if self.kinds[i] != kind:
            raise _GiveUp
        self.i = i + 1
        return i

    def _enter(self):
        self.level += 1
        if self.level > _MAX_LEVEL:
            raise _GiveUp
