"""Source text → the same segments in one canonical layout, with every comment kept.

The layout is computed from the AST; :mod:`segdsl.syntax.printer` spells every rule, list and
literal, and this module only decides where lines break and puts the comments back by
their position between tokens. The rules are documented in ``docs/formatting.md``.

Formatting never changes meaning: the output is parsed again and compared with the
input (the AST, spans aside, and the comments in order). Should they ever differ, the
text is returned unchanged with ``E0090`` instead of a file that means something else.
"""

from __future__ import annotations

import bisect

import attrs

from segdsl.syntax import ast
from segdsl.diagnostics import Diagnostic, error
from segdsl.syntax.printer import (
    child_context,
    expr_text,
    events_text,
    literal_text,
    needs_parens,
    operand_text,
    string_text,
)
from segdsl.syntax.span import LINE_BREAK, Span, count_line_breaks, has_line_break, line_end

#: Longest line the layout aims for. Comments, and single tokens longer than the
#: space left, may run past it; nothing else does.
WIDTH = 88
#: Indentation of the clauses inside a segment's braces.
INDENT = 4

_UNCHANGED = "the formatter could not keep this file's meaning; it was left unchanged"


def format_source(
    text: str, path: str = "<input>", limit: int | None = None
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """Format a ``.seg`` module. Returns the formatted text and no diagnostics; ``None``
    and the parse diagnostics when the text does not parse; ``None`` and ``E0003`` when
    the result would be larger than ``limit`` bytes (default: the size every segdsl
    command reads, :data:`~segdsl.syntax.source.MAX_SOURCE_BYTES`); or the text
    unchanged and ``E0090`` in the (never expected) case that formatting would change
    its meaning."""
    from segdsl.syntax.parser import parse_source

    parsed = parse_source(path, text)
    if parsed.module is None:
        return None, parsed.diagnostics
    return format_module(text, parsed.module, path, limit)


def format_module(
    text: str, module: ast.Module, path: str = "<input>", limit: int | None = None
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """:func:`format_source` for a module already parsed from ``text``, or edited from
    such a module: a node it adds has a span in ``text`` (empty, where it goes), which
    tells which comments come before and after it. The result is checked to parse to
    ``module`` (spans aside) with its comments, as :func:`format_source` checks."""
    from segdsl.syntax.parser import parse_source
    from segdsl.syntax.source import MAX_SOURCE_BYTES

    try:
        out = _Formatter(text, module.comments).module(module)
    except Exception as exc:  # noqa: BLE001 - a formatter bug must not cost the user's file
        return text, (_unchanged(path, exc),)
    limit = MAX_SOURCE_BYTES if limit is None else limit
    size = len(out) if len(out) * 4 <= limit else len(out.encode("utf-8"))
    if size > limit:
        # Not a formatter bug: the layout adds indentation to a file near the cap.
        return None, (error(
            "E0003", f"formatted, the file would be {size:,} bytes; the limit is {limit:,} bytes",
            Span(path, 0, 0), help="split the segments over several files"),)
    again = parse_source(path, out)
    if (
        again.module is None
        or again.module != module
        or _texts(again.module.comments) != _texts(module.comments)
    ):
        return text, (_unchanged(path),)
    return out, ()


def format_expression(text: str, path: str = "<expr>") -> tuple[str | None, tuple[Diagnostic, ...]]:
    """Format a bare rule (what follows ``where``), laid out from column 0, without a
    final newline. Same contract as :func:`format_source`."""
    from segdsl.syntax.parser import find_comments, parse_expression

    parsed = parse_expression(text, path)
    if parsed.expr is None or parsed.source is None:
        return None, parsed.diagnostics
    # ExprResult carries no comments; the parser's own scanner finds them.
    comments = _scan_comments(parsed.source, find_comments(text))
    try:
        out = _Formatter(text, comments).expression(parsed.expr)
    except Exception as exc:  # noqa: BLE001 - see format_source
        return text, (_unchanged(path, exc),)
    again = parse_expression(out, path)
    if again.expr is None or again.expr != parsed.expr or _texts(_scan_comments(again.source, find_comments(out))) != _texts(
        comments
    ):
        return text, (_unchanged(path),)
    return out, ()


def _scan_comments(src, found) -> tuple[ast.Comment, ...]:
    return tuple(ast.Comment(t, src.span(s, e)) for s, e, t in found)


def _unchanged(path: str, exc: Exception | None = None) -> Diagnostic:
    return error(
        "E0090",
        _UNCHANGED,
        Span(path, 0, 0),
        notes=(f"internal error: {type(exc).__name__}: {exc}",) if exc is not None else (),
        help="this is a bug in `segdsl fmt`; please report it with the file",
    )


def _clean(comment: str) -> str:
    """A comment as written out: trailing blanks (and a CRLF file's CR) dropped."""
    return comment.rstrip(" \t\r")


def _texts(comments) -> list[str]:
    return [_clean(c.text) for c in comments]


# --------------------------------------------------------------------------- lines


@attrs.define
class _Line:
    """One output line: ``text`` at column ``col``, then its comments. The first comment
    trails the text; any others are written on their own lines just after it."""

    col: int
    text: str
    comments: list[str] = attrs.field(factory=list)


def _own(col: int, comment: str) -> _Line:
    return _Line(col, "", [comment])


def _spill(line: _Line, col: int) -> list[_Line]:
    """Move all but the first of ``line``'s comments onto lines of their own at ``col``
    (one comment per line: two on one line would read back as one)."""
    extra, line.comments[1:] = line.comments[1:], []
    return [_own(col, c) for c in extra]


def _render(lines: list[_Line]) -> str:
    out = []
    for line in lines:
        for extra in [line, *_spill(line, line.col)]:
            pad = " " * extra.col
            if extra.text:
                text = pad + extra.text + (f"  {extra.comments[0]}" if extra.comments else "")
            else:
                text = pad + extra.comments[0] if extra.comments else ""
            out.append(text.rstrip(" \t"))
    return "\n".join(out)


# ---------------------------------------------------------------------- formatter


class _Formatter:
    """Lays out one module. Every node handles the comments that lie between its first
    token and its end; a comment before a node's first token belongs to whoever places
    the node (the gap before it in a list of operands, or the line above a clause)."""

    def __init__(self, text: str, comments) -> None:
        self.text = text
        ordered = sorted(comments, key=lambda c: c.span.start)
        self.starts = [c.span.start for c in ordered]
        self.comments = [_clean(c.text) for c in ordered]

    # -- comments by position

    def within(self, lo: int, hi: int) -> list[tuple[int, str]]:
        i = bisect.bisect_left(self.starts, lo)
        j = bisect.bisect_left(self.starts, hi)
        return list(zip(self.starts[i:j], self.comments[i:j]))

    def any(self, lo: int, hi: int) -> bool:
        return bisect.bisect_left(self.starts, lo) < bisect.bisect_left(self.starts, hi)

    def split_gap(self, lo: int, hi: int) -> tuple[list[str], list[str]]:
        """Comments in ``[lo, hi)``: those on the line where ``lo`` is (at most one),
        which trail that line, and the rest, which go on lines of their own."""
        same, own = [], []
        for start, text in self.within(lo, hi):
            (own if has_line_break(self.text, lo, start) else same).append(text)
        return same, own

    def blank_between(self, lo: int, hi: int) -> bool:
        return count_line_breaks(self.text, lo, hi) >= 2

    def texts(self, lo: int, hi: int) -> list[str]:
        return [t for _, t in self.within(lo, hi)]

    # -- module and segments

    def module(self, module: ast.Module) -> str:
        lines: list[_Line] = []
        prev_end, prev_line = 0, None
        # Segments, journeys, splits and holdouts, in the order the file has them.
        decls = (*module.segments, *module.journeys, *module.splits, *module.holdouts)
        for seg in sorted(decls, key=lambda d: d.span.start):
            hoisted, body = self.declaration(seg)
            self._module_gap(lines, prev_end, prev_line, seg.span.start, hoisted)
            lines.extend(body)
            prev_end, prev_line = seg.span.end, body[-1]
        self._module_gap(lines, prev_end, prev_line, len(self.text), None)
        if not lines:
            return ""
        first = LINE_BREAK.search(self.text)
        newline = "\r\n" if first is not None and first.group() == "\r\n" else "\n"
        return (_render(lines) + "\n").replace("\n", newline)

    def _module_gap(self, lines, prev_end, prev_line, next_start, hoisted) -> None:
        """Comments between two segments (or the file's ends), one blank line kept
        between paragraphs of comments, and always one after a segment."""
        items = self.within(prev_end, next_start)
        if prev_line is not None and items and not has_line_break(self.text, prev_end, items[0][0]):
            prev_line.comments.append(items.pop(0)[1])
        after = prev_end
        for k, (start, text) in enumerate(items):
            first = k == 0
            if (first and prev_line is not None) or (not first and self.blank_between(after, start)):
                lines.append(_Line(0, ""))
            lines.append(_own(0, text))
            after = start + len(text)
        if hoisted is None:  # the end of the file
            return
        gap_blank = self.blank_between(after, next_start) if items else prev_line is not None
        if gap_blank and lines:
            lines.append(_Line(0, ""))
        lines.extend(_own(0, c) for c in hoisted)

    def declaration(self, decl) -> tuple[list[str], list[_Line]]:
        match decl:
            case ast.SegmentDef():
                return self.segment(decl)
            case ast.Journey():
                return self.journey(decl)
            case ast.Split():
                header = f"split {decl.name}" + (f" {string_text(decl.title.value)}" if decl.title else "")
                return self._block(header, decl, decl.items)
        # A holdout is one line; comments inside it go on the lines above.
        h = decl
        text = (f"holdout {h.name}" + (f" {string_text(h.title.value)}" if h.title else "")
                + f" {h.share.text}% salt {string_text(h.salt.value)}")
        return self.texts(h.span.start, h.span.end), [_Line(0, text)]

    def segment(self, seg: ast.SegmentDef) -> tuple[list[str], list[_Line]]:
        kind = f"{seg.kind} " if seg.kind != "dynamic" or seg.kind_explicit else ""
        header = f"{kind}segment {seg.name}" + (f" {string_text(seg.title.value)}" if seg.title else "")
        return self._block(header, seg, seg.clauses)

    def journey(self, j: ast.Journey) -> tuple[list[str], list[_Line]]:
        header = f"journey {j.name}" + (f" {string_text(j.title.value)}" if j.title else "")
        return self._block(header, j, j.items)

    def _block(self, header: str, decl, items) -> tuple[list[str], list[_Line]]:
        """A declaration's header, its items one per line, and its closing brace."""
        seg = decl
        brace = self._skip_trivia(seg.title.span.end if seg.title else seg.name_span.end)
        # Comments inside the header cannot stay there: they go on the lines above it.
        hoisted = self.texts(seg.span.start, brace)
        head = _Line(0, header + " {")
        lines = [head]
        prev_end, prev_line = brace + 1, head
        for clause in items:
            same, own = self.split_gap(prev_end, clause.span.start)
            prev_line.comments.extend(same)
            lines.extend(_spill(prev_line, INDENT))
            lifted, body = self.clause(clause)
            lines.extend(_own(INDENT, c) for c in own + lifted)
            lines.extend(body)
            prev_end, prev_line = clause.span.end, body[-1]
        close = seg.span.end - 1
        same, own = self.split_gap(prev_end, close)
        prev_line.comments.extend(same)
        lines.extend(_spill(prev_line, INDENT))
        lines.extend(_own(INDENT, c) for c in own)
        if len(lines) == 1 and not head.comments:
            head.text = header + " {}"
        else:
            lines.append(_Line(0, "}"))
        return hoisted, lines

    def _skip_trivia(self, pos: int) -> int:
        text = self.text
        while pos < len(text):
            if text[pos] in " \t\r\n":
                pos += 1
            elif text[pos] == "#":
                pos = line_end(text, pos)
            else:
                break
        return pos

    def clause(self, clause: ast.Clause) -> tuple[list[str], list[_Line]]:
        """A clause's lines, and the comments to lift above it."""
        span = clause.span
        match clause:
            case ast.Description(text=t):
                return [], [_Line(INDENT, f"description {string_text(t.value)}", self.texts(span.start, span.end))]
            case ast.Refresh(cadence=cadence):
                return [], [_Line(INDENT, f"refresh {cadence}", self.texts(span.start, span.end))]
            case ast.Members(items=items):
                prefix = "members "
                lines = self.list(items, INDENT + len(prefix), 0, self.texts(span.start, items.span.start))
                return [], self._prefix(prefix, INDENT, lines)
            case ast.Where(expr=rule) | ast.Audience(expr=rule):
                prefix = "where " if isinstance(clause, ast.Where) else "audience "
                first = _first(rule)
                lines = self.expr(rule, INDENT + len(prefix), 0, river=True)
                lines[-1].comments.extend(self.texts(rule.span.end, span.end))
                return self.texts(span.start, first), self._prefix(prefix, INDENT, lines)
            case ast.Send(channel=channel, template=template, condition=condition):
                text = f"send {channel} {string_text(template.value)}"
                if condition is not None:
                    text += f" if {'not ' if condition[0] else ''}{condition[1]}"
                return [], [_Line(INDENT, text, self.texts(span.start, span.end))]
            case ast.Wait(duration=d):
                return [], [_Line(INDENT, f"wait {_duration(d)}", self.texts(span.start, span.end))]
            case ast.Salt(text=t):
                return [], [_Line(INDENT, f"salt {string_text(t.value)}", self.texts(span.start, span.end))]
            case ast.Arm(name=name, weight=w):
                return [], [_Line(INDENT, f"{name} {w.text}%", self.texts(span.start, span.end))]
            case ast.Goal(event=event, duration=d):
                return [], [_Line(INDENT, f"goal {event} within {_duration(d)}", self.texts(span.start, span.end))]
        raise AssertionError(f"cannot format {clause!r}")  # pragma: no cover

    def expression(self, rule: ast.Expr) -> str:
        lines = [_own(0, c) for c in self.texts(0, _first(rule))]
        body = self.expr(rule, 0, 0)
        body[-1].comments.extend(self.texts(rule.span.end, len(self.text)))
        return _render(lines + body)

    @staticmethod
    def _prefix(prefix: str, col: int, lines: list[_Line]) -> list[_Line]:
        lines[0].text = prefix + lines[0].text
        lines[0].col = col
        return lines

    # -- rules

    def expr(self, e: ast.Expr, col: int, tail: int, river: bool = False) -> list[_Line]:
        """``e`` laid out with its first character at ``col``; ``tail`` characters (closing
        parentheses) will follow its last line. ``river``: see :meth:`boolop`."""
        match e:
            case ast.BoolOp():
                return self.boolop(e, col, tail, river)
            case ast.Not(item=item):
                lines = self.operand(item, needs_parens(item, child_context(e, item)), col + 4, tail)
                lines[-1].comments.extend(self.texts(item.span.end, e.span.end))
                return self._prefix("not ", col, lines)
        return self.predicate(e, col, tail)

    def operand(self, e: ast.Expr, paren: bool, col: int, tail: int) -> list[_Line]:
        if not paren:
            return self.expr(e, col, tail)
        lines = self.expr(e, col + 1, tail + 1)
        lines[-1].text += ")"
        return self._prefix("(", col, lines)

    def flat(self, e: ast.Expr, col: int, tail: int) -> bool:
        """Whether ``e`` stays on one line at ``col``: it fits, and no comment inside it
        has to end a line before its last operand."""
        return col + len(expr_text(e)) + tail <= WIDTH and not self.forced(e)

    def forced(self, e: ast.Expr) -> bool:
        while True:
            match e:
                case ast.BoolOp(items=items):
                    if self.any(_first(e), _first(items[-1])):
                        return True
                    e = items[-1]
                case ast.Not(item=item):
                    e = item
                case ast.Ranking(population=pop) if pop is not None and not isinstance(pop, ast.SegmentRef):
                    if self.forced(_ranking_head(e)):
                        return True
                    e = pop
                case _:
                    agg = _aggregate_split(e, expr_text(e))
                    if agg is not None:
                        e = agg[1]
                        continue
                    lst = _list_of(e)
                    return bool(lst and lst.items) and self.any(lst.span.start, lst.items[-1].span.start)

    def boolop(self, e: ast.BoolOp, col: int, tail: int, river: bool) -> list[_Line]:
        """One line if it fits, else one operand per line with the operator leading.
        A `where` rule's own operators are right-aligned in the space `where ` leaves, so
        its operands line up (a "river"); a group's operators start under its first
        operand, so they stand visibly inside the group's parenthesis."""
        if self.flat(e, col, tail):
            return [_Line(col, expr_text(e), self.texts(_first(e), e.span.end))]
        items = e.items
        last = items[-1]
        op = e.op
        op_col, item_col = (col - len(op) - 1, col) if river and col > len(op) else (col, col + len(op) + 1)
        lines: list[_Line] = []
        for i, item in enumerate(items):
            at = col if i == 0 else item_col
            item_tail = tail if item is last else 0
            paren = needs_parens(item, child_context(e, item))
            if not paren and isinstance(item, ast.BoolOp):
                # An `and` inside a broken `or` needs no parentheses, but gets them when it
                # breaks too, so that the eye sees its extent (the tree is the same).
                paren = not self.flat(item, at, item_tail)
            body = self.operand(item, paren, at, item_tail)
            if i:
                same, own = self.split_gap(items[i - 1].span.end, _first(item))
                lines[-1].comments.extend(same)
                lines.extend(_spill(lines[-1], op_col))
                lines.extend(_own(op_col, c) for c in own)
                self._prefix(f"{op} ", op_col, body)
            lines.extend(body)
        lines[-1].comments.extend(self.texts(last.span.end, e.span.end))
        return lines

    def predicate(self, e: ast.Expr, col: int, tail: int) -> list[_Line]:
        if isinstance(e, ast.Ranking) and e.population is not None:
            return self.ranking(e, col, tail)
        text = expr_text(e)
        agg = _aggregate_split(e, text)
        if agg is not None:
            return self.aggregate(e, agg, col, tail)
        if isinstance(e, ast.Sequence) and col + len(text) + tail > WIDTH:
            # Too long for one line: the second side and its window go on a line of
            # their own, indented under the first (comments inside trail that line).
            first = events_text(e.first)
            rest = text[len(first) + 1:]
            return [_Line(col, first), _Line(col + 4, rest, self.texts(e.span.start, e.span.end))]
        lst = _list_of(e)
        if lst is None or not text.endswith(literal_text(lst)):
            # Atomic: a comment inside it can only trail its line.
            return [_Line(col, text, self.texts(e.span.start, e.span.end))]
        prefix = text[: len(text) - len(literal_text(lst))]
        lines = self.list(lst, col + len(prefix), tail, self.texts(e.span.start, lst.span.start))
        lines[-1].comments.extend(self.texts(lst.span.end, e.span.end))
        return self._prefix(prefix, col, lines)

    def ranking(self, e: ast.Ranking, col: int, tail: int) -> list[_Line]:
        """A ranking over a population. Too long for one line, its population goes on a
        line of its own, indented under the ranking as an event sequence's second side
        is: ``top 500 by ltv`` / ``    among in segment x``. A population rule still too
        long there breaks like a parenthesised group, from the column after ``among (``;
        an aggregate being ranked breaks as it does anywhere else."""
        pop = e.population
        if col + len(expr_text(e)) + tail <= WIDTH and not self.forced(e):
            return [_Line(col, expr_text(e), self.texts(e.span.start, e.span.end))]
        head = _ranking_head(e)
        lines = self.predicate(head, col, 0)
        inner = col + INDENT
        # Comments between the ranked value and its population end the ranking's first
        # line (any beyond one go below it, above `among`), where the next formatting
        # finds them again.
        lines[-1].comments.extend(self.texts(head.span.end, _first(pop)))
        lines.extend(_spill(lines[-1], inner))
        if isinstance(pop, ast.SegmentRef):
            return [*lines, _Line(inner, "among " + expr_text(pop), self.texts(pop.span.start, e.span.end))]
        prefix = "among ("
        rule = expr_text(pop)
        if inner + len(prefix) + len(rule) + 1 + tail <= WIDTH and not self.forced(pop):
            return [*lines, _Line(inner, prefix + rule + ")", self.texts(_first(pop), e.span.end))]
        body = self.expr(pop, inner + len(prefix), tail + 1)
        body[-1].text += ")"
        body[-1].comments.extend(self.texts(pop.span.end, e.span.end))
        return [*lines, *self._prefix(prefix, inner, body)]

    def aggregate(self, e: ast.Expr, agg: tuple[str, ast.Expr, str], col: int, tail: int) -> list[_Line]:
        """A predicate on ``fn(source where rule)``: the inner rule is laid out like a
        parenthesised group, from the column after ``where``."""
        prefix, rule, suffix = agg
        if col + len(prefix) + len(expr_text(rule)) + len(suffix) + tail <= WIDTH and not self.forced(rule):
            return [_Line(col, prefix + expr_text(rule) + suffix, self.texts(e.span.start, e.span.end))]
        lines = self.expr(rule, col + len(prefix), len(suffix) + tail)
        # Comments before the rule's first operand end its first line, in order; any
        # beyond one go below it, where they will stay the next time round.
        lines[0].comments[:0] = self.texts(e.span.start, _first(rule))
        if len(lines) > 1:
            lines[1:1] = _spill(lines[0], lines[1].col)
        lines[-1].text += suffix
        lines[-1].comments.extend(self.texts(rule.span.end, e.span.end))
        return self._prefix(prefix, col, lines)

    def list(self, lst: ast.ListLit, col: int, tail: int, lead: list[str]) -> list[_Line]:
        """``[a, b, c]`` on one line if it fits, else filled over lines with the items
        aligned one column right of the bracket. ``lead`` are comments from before it."""
        items = lst.items
        span = lst.span
        # Each item and its ", " take three columns at least: a long list cannot fit.
        flat = literal_text(lst) if not items or col + 3 * len(items) <= WIDTH else None
        if not items:
            return [_Line(col, flat, lead + self.texts(span.start, span.end))]
        last = items[-1]
        if flat is not None and col + len(flat) + tail <= WIDTH and not self.any(span.start, last.span.start):
            return [_Line(col, flat, lead + self.texts(last.span.start, span.end))]
        if not lead and not self.any(span.start, span.end):
            return self._fill(items, col, tail)
        return self._flow(lst, col, tail, lead)

    def _flow(self, lst: ast.ListLit, col: int, tail: int, lead: list[str]) -> list[_Line]:
        """:meth:`list` over lines, with the comments in and before it."""
        items, span, last = lst.items, lst.span, lst.items[-1]
        item_col = col + 1
        cur = _Line(col, "[", lead + self.texts(span.start, items[0].span.start))
        lines = [cur]
        fresh = True  # no item on `cur` yet
        if len(cur.comments) > 0 and self.any(span.start, items[0].span.start):
            lines.extend(_spill(cur, item_col))
            cur = _Line(item_col, "")
            lines.append(cur)
        for j, item in enumerate(items):
            piece = literal_text(item) + ("]" if item is last else ",")
            if j:
                same, own = self.split_gap(items[j - 1].span.end, item.span.start)
                cur.comments.extend(same)
                if cur.comments or own:
                    lines.extend(_spill(cur, item_col))
                    lines.extend(_own(item_col, c) for c in own)
                    cur = _Line(item_col, "")
                    lines.append(cur)
                    fresh = True
            end = cur.col + len(cur.text) + 1 + len(piece) + (tail if item is last else 0)
            if not fresh and end > WIDTH:
                cur = _Line(item_col, "")
                lines.append(cur)
                fresh = True
            cur.text += piece if fresh else " " + piece
            fresh = False
        cur.comments.extend(self.texts(last.span.end, span.end))
        return lines

    @staticmethod
    def _fill(items, col: int, tail: int) -> list[_Line]:
        """:meth:`_flow` for a list with no comment in or before it, without asking
        for the comments between every two items (a static segment may list a hundred
        thousand members): the same lines."""
        last = len(items) - 1
        cur = _Line(col, "[" + literal_text(items[0]) + ("]" if last == 0 else ","))
        lines = [cur]
        for j in range(1, len(items)):
            piece = literal_text(items[j]) + ("]" if j == last else ",")
            if cur.col + len(cur.text) + 1 + len(piece) + (tail if j == last else 0) > WIDTH:
                cur = _Line(col + 1, piece)
                lines.append(cur)
            else:
                cur.text += " " + piece
        return lines


def _duration(d: ast.Duration) -> str:
    return f"{d.amount} {d.unit if d.amount != 1 else d.unit[:-1]}"


def _first(e: ast.Expr) -> int:
    """Where ``e``'s first predicate starts (a node's span may begin with a `(` or `not`)."""
    while True:
        match e:
            case ast.BoolOp(items=items):
                e = items[0]
            case ast.Not(item=item):
                e = item
            case _:
                return e.span.start


def _list_of(e: ast.Expr) -> ast.ListLit | None:
    """The list a predicate ends with (`in [...]`, `has any [...]`), if any."""
    if isinstance(e, ast.InList):
        return e.items
    if isinstance(e, ast.TagMatch) and isinstance(e.value, ast.ListLit):
        return e.value
    return None


def _ranking_head(e: ast.Ranking) -> ast.Ranking:
    """A ranking without its population (``top 500 by ltv``), spanning up to where the
    population's part begins."""
    end = max(e.operand.span.end, e.amount.span.end)
    return attrs.evolve(e, population=None, span=e.span._replace(end=end))


def _aggregate_split(e: ast.Expr, text: str) -> tuple[str, ast.Expr, str] | None:
    """For a predicate whose subject is an aggregate with a ``where`` rule, its text
    around that rule: ``("count(bookings where ", rule, ") >= 3")``, or for a ranking of
    such an aggregate ``("top 5 by count(bookings where ", rule, ")")``; else ``None``."""
    agg = getattr(e, "left", None) or getattr(e, "operand", None)
    if not isinstance(agg, ast.Aggregate) or agg.where is None:
        return None
    lead = f"top {literal_text(e.amount)} by " if isinstance(e, ast.Ranking) and e.kind == "count" else ""
    subject, rule = operand_text(agg), expr_text(agg.where)
    if not (text.startswith(lead + subject) and subject.endswith(f" where {rule})")):
        return None
    cut = len(lead) + len(subject) - len(rule) - 1
    return text[:cut], agg.where, text[cut + len(rule) :]
