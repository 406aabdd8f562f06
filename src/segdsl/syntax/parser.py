"""Source text → AST (``segdsl.syntax.ast``). The only module that touches Lark.

Lark's LALR parser builds a parse tree with positions (it keeps its own stack, so it
never recurses); the AST builder then walks that tree bottom-up with an explicit stack,
so nothing here recurses per nesting level either. Every failure — bad characters,
syntax errors, bad literals, excessive nesting — comes back as diagnostics.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

import attrs

from segdsl.syntax import ast
from segdsl.diagnostics import Diagnostic, error
from segdsl.frozen import building
from segdsl.syntax.keywords import KEYWORDS, first_words, grammar_text
from segdsl.syntax.source import check_text, decode_source, line_separators
from segdsl.syntax.span import SourceFile, Span, line_end

#: Deepest nesting of boolean operators accepted. Real rules stay under ten; the cap
#: keeps every backend (Python's compiler, SQLite's parser, sqlglot) well inside its
#: own limits. Parentheses alone do not count, only the operators they group.
MAX_DEPTH = 48


@attrs.frozen
class ParseResult:
    source: SourceFile | None
    #: The whole module; None when the text has errors.
    module: ast.Module | None
    diagnostics: tuple[Diagnostic, ...]
    #: When ``module`` is None for errors in some declarations: the declarations that
    #: parsed cleanly (checked as usual, so one bad declaration hides nothing else) ...
    partial: ast.Module | None = None
    #: ... and the names of those that did not (a reference to one is no new error).
    broken: tuple[str, ...] = ()


@attrs.frozen
class ExprResult:
    source: SourceFile | None
    expr: ast.Expr | None
    diagnostics: tuple[Diagnostic, ...]


def parse_bytes(path: str, data: bytes) -> ParseResult:
    """Parse a ``.seg`` file's raw bytes."""
    src, diags = decode_source(path, data)
    if not diags and src is not None:
        diags = line_separators(path, src.text)
    if diags or src is None:
        return ParseResult(src, None, tuple(diags))
    return _parse(src, "module")


def parse_source(path: str, text: str) -> ParseResult:
    """Parse a ``.seg`` module from text (an editor buffer, a test)."""
    src, diags = check_text(path, text)
    if not diags and src is not None:
        diags = line_separators(path, text)
    if diags or src is None:
        return ParseResult(src, None, tuple(diags))
    return _parse(src, "module")


def parse_expression(text: str, path: str = "<expr>") -> ExprResult:
    """Parse a bare rule, as given to ``--expr``."""
    src, diags = check_text(path, text)
    if not diags and src is not None:
        diags = line_separators(path, text)
    if diags or src is None:
        return ExprResult(src, None, tuple(diags))
    result = _parse(src, "expression")
    return ExprResult(result.source, result.module, result.diagnostics)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- internals


class _Abort(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


@functools.cache
def lark_parser(start: str):
    """Lark's LALR parser for the grammar, from rule ``start`` (``module`` or
    ``expression``); built once per process, from Lark's cache when it has one."""
    from lark import Lark

    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        start=start,
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


def _parse(src: SourceFile, start: str) -> ParseResult:
    text, lists = _lift_member_lists(src.text) if start == "module" else (src.text, {})
    result, diags = _parse_piece(src, text, lists, 0, start)
    if diags:
        if start == "module":
            return _recover(src, text, lists, diags)
        return ParseResult(src, None, tuple(diags))
    if start == "module":
        return ParseResult(src, _module(src, result), ())
    return ParseResult(src, result, ())  # type: ignore[arg-type]


def _module(src: SourceFile, declarations) -> ast.Module:
    comments = tuple(ast.Comment(token[2], src.span(token[0], token[1])) for token in find_comments(src.text))
    segments = tuple(r for r in declarations if isinstance(r, ast.SegmentDef))
    journeys = tuple(r for r in declarations if isinstance(r, ast.Journey))
    splits = tuple(r for r in declarations if isinstance(r, ast.Split))
    holdouts = tuple(r for r in declarations if isinstance(r, ast.Holdout))
    return ast.Module(src.path, segments, comments, journeys, splits, holdouts)


def _parse_piece(src: SourceFile, text: str, lists: dict[int, int], offset: int, start: str):
    """Parse ``text``, found at ``offset`` of the source (the whole source, or one
    declaration of it): the result and the diagnostics, every span in source offsets."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    builder = _Builder(src, lists, offset)
    parser = lark_parser(start)
    try:
        with building():  # a parse tree and an AST of a few objects per token
            tree = parser.parse(text, on_error=None)
            # Callbacks are applied to the finished tree without recursion (see _Builder).
            result = builder.build(tree)
    except _Abort as exc:
        return None, [exc.diagnostic]
    except UnexpectedCharacters as exc:
        return None, [_unexpected_char(src, exc, offset)]
    except UnexpectedToken as exc:
        return None, [_unexpected_token(src, exc, parser, text, offset)]
    except UnexpectedInput as exc:  # pragma: no cover - other Lark errors
        pos = offset + (getattr(exc, "pos_in_stream", None) or len(text))
        return None, [error("E0010", "syntax error", src.span(pos, pos))]
    return result, builder.diagnostics


def _recover(src: SourceFile, text: str, lists: dict[int, int], whole: list[Diagnostic]) -> ParseResult:
    """The file has errors: parse it again one declaration at a time, so an error in one
    declaration hides nothing in the others. A declaration starts at a keyword that can
    start one (``segment``, ``journey``, ...) outside braces, or at the start of a line
    even inside unclosed braces (a missing ``}`` ends its declaration at the next one).
    Each piece is parsed once, so recovery stays linear in the text."""
    diags: list[Diagnostic] = []
    good: list = []
    broken: list[str] = []
    for begin, end, name in _declarations(text):
        result, found = _parse_piece(src, text[begin:end], lists, begin, "module")
        if found:
            diags.extend(found)
            if name is not None:
                broken.append(name)
        else:
            good.extend(result)
    if not diags:  # pragma: no cover - every piece parses alone: report the whole file's errors
        return ParseResult(src, None, tuple(whole))
    return ParseResult(src, None, tuple(diags), _module(src, good), tuple(broken))


def _declarations(text: str) -> list[tuple[int, int, str | None]]:
    """Where each declaration of ``text`` starts and ends, and its name when it has one
    (strings and comments never start one). The text before the first declaration
    (comments) is a piece of its own."""
    starters, kinds = _declaration_keywords()
    cuts: list[list] = [[0, None]]  # [start, name]
    depth = 0
    prev = pending = None  # the previous word; a kind keyword (`static`) waiting for `segment`
    named = False  # the next word is the name of the declaration just cut
    first_on_line = True
    for kind, word, at in _skeleton(text):
        if kind == "NL":
            first_on_line = True
            continue
        name_position = named  # `segment segment {`: a (bad) name, not a new declaration
        if named:
            cuts[-1][1] = word if kind == "WORD" and word not in KEYWORDS else None
            named = False
        if pending is not None and word != "segment":
            pending = None
        if kind == "BRACKET" and word in "{}":
            depth = depth + 1 if word == "{" else max(0, depth - 1)
        elif (kind == "WORD" and word in starters and not name_position
              and (depth == 0 or first_on_line or pending is not None)):
            if word in kinds:
                pending = at
            elif not (word == "segment" and prev == "in"):
                begin = at if pending is None else pending
                if begin > 0:
                    cuts.append([begin, None])
                depth, pending, named = 0, None, True
        prev = word
        first_on_line = False
    ends = [c[0] for c in cuts[1:]] + [len(text)]
    return [(c[0], e, c[1]) for c, e in zip(cuts, ends)]


def _skeleton(text: str):
    """The words, brackets and line breaks of ``text`` as (kind, text, offset), strings
    and comments skipped (read with the grammar's terminals for them): enough to find
    declarations and unclosed brackets in text that does not parse."""
    for m in _skeleton_scanner().finditer(text):
        kind = m.lastgroup
        if kind in ("WORD", "BRACKET", "NL"):
            yield kind, m.group(), m.start()


@functools.cache
def _skeleton_scanner() -> re.Pattern:
    lark = lark_parser("module")
    strings = "|".join(f"(?P<{name}>{lark.get_terminal(name).pattern.to_regexp()})" for name in ("STRING", "COMMENT"))
    return re.compile(strings + r"|(?P<WORD>[A-Za-z_][A-Za-z0-9_]*)|(?P<BRACKET>[{}()\[\]])|(?P<NL>\r\n?|\n)")


@functools.cache
def _declaration_keywords() -> tuple[frozenset[str], frozenset[str]]:
    """The keywords that can start a declaration, read from the grammar (what the parser
    accepts at the start of a module), and among them the kinds that precede ``segment``."""
    lark = lark_parser("module")
    words = frozenset(lark.get_terminal(t).pattern.value for t in lark.parse_interactive("").accepts()
                      if t != "$END")
    return words | {"segment"}, words & frozenset(first_words("segment_kind"))


def find_comments(text: str) -> list[tuple[int, int, str]]:
    """``#`` comments outside strings, as (start, end, text). Strings never span lines and
    comments run to the end of the line, so one left-to-right scan with the grammar's
    two terminals for them is exact."""
    if "#" not in text:
        return []
    return [
        (m.start(), m.end(), m.group(0))
        for m in _comment_or_string().finditer(text)
        if m.lastgroup == "COMMENT"
    ]


def _lift_member_lists(text: str) -> tuple[str, dict[int, int]]:
    """``text`` with the inside of every ``members [...]`` list of plain whole numbers
    and strings blanked out, and where those lists end by where they start (their
    ``[``); the parser's builder reads their items (:meth:`_Builder.members`).

    A static segment may list a hundred thousand keys; fed to Lark one token at a time
    they cost about a second per megabyte, read here with one regular expression they
    cost a few milliseconds. The expression is made of the grammar's own terminals
    (STRING, INT, and what it ignores between tokens), and a list is lifted only when
    all of it matches, commas included, so Lark would read exactly these tokens; any
    other list (a date in it, a missing comma) is left for Lark and its diagnostics.
    Offsets do not move, so every span is the one Lark would give."""
    if "members" not in text:
        return text, {}
    scan = _member_list_scanner()[0]
    lists: dict[int, int] = {}
    pieces: list[str] = []
    done = 0
    for m in scan.finditer(text):
        if m.lastgroup != "LIST":
            continue
        start, end = m.span("LIST")
        lists[start] = end
        pieces += [text[done:start + 1], " " * (end - start - 2)]
        done = end - 1
    if not lists:
        return text, {}
    pieces.append(text[done:])
    return "".join(pieces), lists


@functools.cache
def _member_list_scanner() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Expressions from the grammar's terminals: one that finds, outside strings and
    comments, a ``members`` keyword and the list after it (group ``LIST``) when that
    list holds only whole numbers and strings; one that reads such a list's items; and
    the INT terminal alone, for a list without strings or comments."""
    lark = lark_parser("module")

    def terminal(name: str) -> str:
        # Atomic, as a lexer reads a token: once matched it is never taken apart again.
        return f"(?>{lark.get_terminal(name).pattern.to_regexp()})"

    ignored = "|".join(terminal(n) for n in lark.lexer_conf.ignore)
    gap = f"(?:{ignored})*+"
    value = f"(?:{terminal('INT')}|{terminal('STRING')})"
    keyword = lark.get_terminal("MEMBERS").pattern.value
    # After a value the next token must be `,` or `]`: so a date or a decimal, which
    # an INT would only begin, keeps the whole list for Lark.
    body = rf"\[{gap}(?:{value}{gap}(?:,{gap}{value}{gap})*+(?:,{gap})?)?\]"
    scan = re.compile(
        f"(?P<STRING>{terminal('STRING')})|(?P<COMMENT>{terminal('COMMENT')})"
        f"|(?<![A-Za-z0-9_]){keyword}{gap}(?P<LIST>{body})"
    )
    item = re.compile(f"(?P<INT>{terminal('INT')})|(?P<STRING>{terminal('STRING')})|(?P<SKIP>{ignored}|,)")
    return scan, item, re.compile(terminal("INT"))


@functools.cache
def _comment_or_string():
    import re

    lark = lark_parser("module")
    return re.compile("|".join(f"(?P<{name}>{lark.get_terminal(name).pattern.to_regexp()})"
                               for name in ("STRING", "COMMENT")))


class _Builder:
    """Turns Lark's parse tree into AST nodes, bottom-up, with an explicit stack.

    Each callback receives its children (already built) and the span of the whole rule,
    keywords included (Lark's ``propagate_positions``)."""

    def __init__(self, src: SourceFile, lists: dict[int, int] | None = None, offset: int = 0):
        self.src = src
        self.lists = lists or {}  # the member lists _lift_member_lists blanked: start -> end
        # Where the parsed text starts in the source (one declaration, when recovering
        # from an error): Lark's positions are relative to it; use _tok and the spans
        # given to each callback, never a token's own position.
        self.offset = offset
        self.diagnostics: list[Diagnostic] = []
        self.depth: dict[int, int] = {}

    def build(self, tree):
        # Post-order with an explicit stack: 10,000 nested parentheses or `not`s cost
        # no Python recursion here.
        from lark import Tree

        order = []
        stack = [tree]
        while stack:
            node = stack.pop()
            order.append(node)
            if isinstance(node, Tree):
                stack.extend(node.children)
        values: list = []
        for node in reversed(order):
            if isinstance(node, Tree):
                n = len(node.children)
                args = values[len(values) - n :] if n else []
                if n:
                    del values[len(values) - n :]
                meta = node.meta
                span = (
                    self.src.span(meta.start_pos + self.offset, meta.end_pos + self.offset)
                    if not meta.empty
                    else self.src.span(self.offset, self.offset)
                )
                values.append(getattr(self, node.data)(args, span))
            else:
                values.append(node)
        (result,) = values
        return result

    def _tok(self, tok) -> Span:
        return self.src.span(tok.start_pos + self.offset, tok.end_pos + self.offset)

    def _nest(self, node, *children):
        depth = 1 + max((self.depth.get(id(c), 0) for c in children), default=0)
        if depth > MAX_DEPTH:
            raise _Abort(
                error(
                    "E0013",
                    f"expression is nested more than {MAX_DEPTH} levels deep",
                    node.span,
                    label="too deep",
                    help="flatten the rule: `and`/`or` lists need no parentheses, "
                    "and `not not x` is `x`",
                )
            )
        self.depth[id(node)] = depth
        return node

    # -- declarations

    def module(self, args, span):
        return [a for a in args if a is not None]

    def journey(self, args, span):
        name_tok, title, *items = args
        if str(name_tok) in KEYWORDS:
            self.diagnostics.append(
                error("E0017", f"`{name_tok}` is a keyword, not a journey name", self._tok(name_tok), label="keyword")
            )
        return ast.Journey(str(name_tok), title, tuple(items), self._tok(name_tok), span)

    def audience(self, args, span):
        return ast.Audience(args[0], span)

    def send(self, args, span):
        channel, template, condition = args
        return ast.Send(str(channel), self._string(template), condition, self._tok(channel), span)

    def send_if(self, args, span):
        negated, event = args
        return (negated is not None, str(event))

    def wait(self, args, span):
        return ast.Wait(args[0], span)

    def goal(self, args, span):
        event, duration = args
        return ast.Goal(str(event), duration, self._tok(event), span)

    def expression(self, args, span):
        return args[0]

    def _declared_name(self, tok, what: str) -> None:
        if str(tok) in KEYWORDS:
            self.diagnostics.append(
                error("E0017", f"`{tok}` is a keyword, not a {what} name", self._tok(tok), label="keyword")
            )

    def split(self, args, span):
        name_tok, title, *items = args
        self._declared_name(name_tok, "split")
        return ast.Split(str(name_tok), title, tuple(items), self._tok(name_tok), span)

    def salt(self, args, span):
        return ast.Salt(self._string(args[0]), span)

    def arm(self, args, span):
        name_tok, weight = args
        self._declared_name(name_tok, "arm")
        return ast.Arm(str(name_tok), self._percent(weight), self._tok(name_tok), span)

    def holdout(self, args, span):
        name_tok, title, share, salt = args
        self._declared_name(name_tok, "holdout")
        return ast.Holdout(str(name_tok), title, self._percent(share), self._string(salt), self._tok(name_tok), span)

    def _percent(self, tok) -> ast.Percent:
        text = str(tok)[:-1]
        return ast.Percent(Decimal(text.replace("_", "")), text, self._tok(tok))

    def segment(self, args, span):
        kind, name_tok, title, *clauses = args
        if str(name_tok) in KEYWORDS:
            self.diagnostics.append(
                error("E0017", f"`{name_tok}` is a keyword, not a segment name", self._tok(name_tok),
                      label="keyword", help="choose another name")
            )
        return ast.SegmentDef(
            kind=kind or "dynamic",
            name=str(name_tok),
            title=title,
            clauses=tuple(clauses),
            name_span=self._tok(name_tok),
            span=span,
            kind_explicit=kind is not None,
        )

    def segment_kind(self, args, span):
        return str(args[0])

    def title(self, args, span):
        return self._string(args[0])

    def description(self, args, span):
        return ast.Description(self._string(args[0]), span)

    def refresh(self, args, span):
        return ast.Refresh(str(args[0]), self._tok(args[0]), span)

    def where(self, args, span):
        return ast.Where(args[0], span)

    def members(self, args, span):
        items = args[0]
        end = self.lists.get(items.span.start)
        if end is not None:  # lifted by _lift_member_lists: read its items here
            _, item, number = _member_list_scanner()
            text, at = self.src.text, self.src.span
            start = items.span.start + 1
            if text.find('"', start, end) == -1 and text.find("#", start, end) == -1:
                # Numbers only (most lists): every INT match is an item.
                int_lit, path = ast.IntLit, self.src.path
                values = tuple(int_lit(int(g.replace("_", "")), g, Span(path, *m.span()))
                               for m in number.finditer(text, start, end - 1) for g in (m.group(),))
            else:
                values = tuple(
                    self._int(m.group(), at(*m.span())) if m.lastgroup == "INT"
                    else self._string_at(m.group(), m.start())
                    for m in item.finditer(text, start, end - 1) if m.lastgroup != "SKIP"
                )
            items = ast.ListLit(values, items.span)
        return ast.Members(items, span)

    # -- boolean structure

    def or_expr(self, args, span):
        return self._nest(ast.BoolOp("or", tuple(args), span), *args)

    def and_expr(self, args, span):
        return self._nest(ast.BoolOp("and", tuple(args), span), *args)

    def not_(self, args, span):
        return self._nest(ast.Not(args[0], span), args[0])

    # -- predicates

    def truthy(self, args, span):
        return ast.Truthy(self._operand(args[0]), span)

    def compare(self, args, span):
        left, op, right = args
        return ast.Compare(self._operand(left), str(op), self._value(right), span)

    def compare_operands(self, args, span):
        left, op, right = args
        return ast.CompareOperands(self._operand(left), str(op), self._operand(right), span)

    def in_list(self, args, span):
        return ast.InList(self._operand(args[0]), args[1], False, span)

    def not_in_list(self, args, span):
        return ast.InList(self._operand(args[0]), args[1], True, span)

    def between(self, args, span):
        return ast.Between(self._operand(args[0]), self._value(args[1]), self._value(args[2]), False, span)

    def not_between(self, args, span):
        return ast.Between(self._operand(args[0]), self._value(args[1]), self._value(args[2]), True, span)

    def is_null(self, args, span):
        return ast.IsNull(self._operand(args[0]), False, span)

    def is_not_null(self, args, span):
        return ast.IsNull(self._operand(args[0]), True, span)

    def _text(self, kind, args, span):
        return ast.TextMatch(self._operand(args[0]), kind, self._string(args[1]), args[2] is not None, span)

    def contains(self, args, span):
        return self._text("contains", args, span)

    def starts_with(self, args, span):
        return self._text("starts with", args, span)

    def ends_with(self, args, span):
        return self._text("ends with", args, span)

    def ignoring(self, args, span):
        return True

    def has(self, args, span):
        return ast.TagMatch(self._operand(args[0]), "has", self._value(args[1]), span)

    def has_any(self, args, span):
        return ast.TagMatch(self._operand(args[0]), "has any", args[1], span)

    def has_all(self, args, span):
        return ast.TagMatch(self._operand(args[0]), "has all", args[1], span)

    def within(self, args, span):
        return ast.TimeWindow(self._operand(args[0]), "within", args[1], span)

    def before(self, args, span):
        return ast.TimeWindow(self._operand(args[0]), "before", args[1], span)

    def after(self, args, span):
        return ast.TimeWindow(self._operand(args[0]), "after", args[1], span)

    def segment_ref(self, args, span):
        name = str(args[0])
        if name in KEYWORDS:
            self.diagnostics.append(
                error("E0017", f"`{name}` is a keyword, not a segment name", self._tok(args[0]), label="keyword")
            )
        return ast.SegmentRef(name, self._tok(args[0]), span)

    def in_top(self, args, span):
        operand, share, population = args
        # The ranking's P: the number before `%`, as the literal it would be on its own.
        digits = str(share)[:-1]
        amount = self._value(share.update("DECIMAL" if "." in digits else "INT", digits))
        node = ast.Ranking(self._operand(operand), "percent", amount, population, span)
        return self._nest(node, population) if population is not None else node

    def top_n(self, args, span):
        amount, operand, population = args
        node = ast.Ranking(self._operand(operand), "count", self._value(amount), population, span)
        return self._nest(node, population) if population is not None else node

    def among_segment(self, args, span):
        return self.segment_ref(args, span)

    def among_rule(self, args, span):
        return args[0]

    def split_ref(self, args, span):
        split, arm = args
        return ast.SplitRef(str(split), str(arm), self._tok(split), self._tok(arm), span)

    def holdout_ref(self, args, span):
        return ast.HoldoutRef(str(args[0]), self._tok(args[0]), span)

    # -- event sequences

    def events(self, args, span):
        source, where = args
        node = ast.Events(ast.FieldRef(str(source), self._tok(source)), where, span)
        return self._nest(node, where) if where is not None else node

    def grouped_events(self, args, span):
        """``(expr) followed by ...``: the group must hold a source's name alone."""
        inner = args[0]
        if isinstance(inner, ast.Truthy) and isinstance(inner.operand, ast.FieldRef):
            return ast.Events(inner.operand, None, span)
        raise _Abort(
            error("E0010", "expected `(SOURCE)` or `(SOURCE where ...)` before `followed by`", span,
                  label="not an event source",
                  help='name an event source, e.g. `(bookings where status = "cancelled") followed by (bookings) '
                  "within 30 days`")
        )

    def _sequence(self, args, span, negated: bool):
        first, then, duration = args
        return self._nest(ast.Sequence(first, then, negated, duration, span), first, then)

    def followed_by(self, args, span):
        return self._sequence(args, span, False)

    def not_followed_by(self, args, span):
        return self._sequence(args, span, True)

    # -- operands

    def _operand(self, operand):
        """An operand; a field's name comes as its token (see the grammar's ``operand``)."""
        # Lark's tokens are strings; the AST's nodes are not.
        return self.field(operand, self._tok(operand)) if isinstance(operand, str) else operand

    def field(self, tok, span):
        name = str(tok)
        if name in KEYWORDS:
            # The contextual lexer reads a keyword as a name where no keyword fits.
            self.diagnostics.append(
                error("E0017", f"`{name}` is a keyword, not a field name", span, label="keyword",
                      help="a condition starts with a field")
            )
        return ast.FieldRef(name, span)

    def aggregate(self, args, span):
        fn, source, column, by, where = args
        ref = ast.FieldRef(str(source), self._tok(source))
        col = ast.FieldRef(str(column), self._tok(column)) if column is not None else None
        by_ref = ast.FieldRef(str(by), self._tok(by)) if by is not None else None
        node = ast.Aggregate(str(fn), ref, col, by_ref, where, span)
        return self._nest(node, where) if where is not None else node

    def agg_fn(self, args, span):
        return str(args[0])

    def days_since(self, args, span):
        return ast.DaysSince(ast.FieldRef(str(args[0]), self._tok(args[0])), span)

    def duration(self, args, span):
        amount_tok, unit_tok = args
        amount = int(str(amount_tok).replace("_", ""))
        if amount < 0:
            self.diagnostics.append(
                error(
                    "E0014",
                    "a duration cannot be negative",
                    self._tok(amount_tok),
                    help="`before N days ago` and `after N days ago` already look into the past",
                )
            )
        unit = {"w": "weeks", "h": "hours"}.get(str(unit_tok)[0], "days")
        return ast.Duration(amount, unit, span)

    # -- literals

    def list(self, args, span):
        return ast.ListLit(tuple(self._value(a) for a in args if a is not None), span)

    def _value(self, value):
        """A literal; all but ``null`` come as their token (see the grammar's ``value``)."""
        if isinstance(value, str):
            return _LITERALS[value.type](self, value, self._tok(value))
        return value

    def int_lit(self, tok, span):
        return self._int(str(tok), span)

    @staticmethod
    def _int(text: str, span: Span) -> ast.IntLit:
        return ast.IntLit(int(text.replace("_", "")), text, span)

    def decimal_lit(self, tok, span):
        try:
            value = Decimal(str(tok).replace("_", ""))
        except InvalidOperation:  # pragma: no cover - the token's pattern forbids this
            value = Decimal(0)
        return ast.DecimalLit(value, str(tok), span)

    def string_lit(self, tok, span):
        return self._string(tok)

    def true_lit(self, tok, span):
        return ast.BoolLit(True, span)

    def false_lit(self, tok, span):
        return ast.BoolLit(False, span)

    def null_lit(self, args, span):
        return ast.NullLit(span)

    def date_lit(self, tok, span):
        try:
            value = dt.date.fromisoformat(str(tok))
        except ValueError:
            self.diagnostics.append(
                error("E0015", f"`{tok}` is not a valid date", span, label="no such day",
                      help="dates are written YYYY-MM-DD")
            )
            value = dt.date(1970, 1, 1)
        return ast.DateLit(value, span)

    def timestamp_lit(self, tok, span):
        try:
            value = dt.datetime.fromisoformat(str(tok))
        except ValueError:
            self.diagnostics.append(
                error("E0015", f"`{tok}` is not a valid timestamp", span,
                      help="timestamps are written YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]")
            )
            value = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return ast.TimestampLit(value.astimezone(dt.timezone.utc), str(tok), span)

    def _string(self, tok) -> ast.StringLit:
        return self._string_at(str(tok), tok.start_pos + self.offset)

    def _string_at(self, text: str, start: int) -> ast.StringLit:
        """The string literal ``text`` (quotes included) found at offset ``start``."""
        value, unknown = unescape(text[1:-1])
        for i in unknown:
            at = start + 1 + i
            self.diagnostics.append(
                error(
                    "E0016",
                    f"unknown escape `{text[1 + i:3 + i]}` in a string",
                    self.src.span(at, at + 2),
                    help='the escapes are \\" \\\\ \\n \\t; write \\\\ for a backslash',
                )
            )
        return ast.StringLit(value, self.src.span(start, start + len(text)))


#: The builder method for each literal token (see _Builder._value).
_LITERALS = {
    "INT": _Builder.int_lit, "DECIMAL": _Builder.decimal_lit, "STRING": _Builder.string_lit,
    "TRUE": _Builder.true_lit, "FALSE": _Builder.false_lit, "DATE": _Builder.date_lit,
    "TIMESTAMP": _Builder.timestamp_lit,
}


def unescape(raw: str) -> tuple[str, list[int]]:
    """A string literal's text between its quotes, escapes decoded; and where (offsets in
    ``raw``) each unknown escape starts: those are left out of the value, and it is for
    the caller to report them."""
    if "\\" not in raw:
        return raw, []
    out: list[str] = []
    unknown: list[int] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        decoded = _ESCAPES.get(raw[i + 1])  # the grammar puts a character after every backslash
        if decoded is None:
            unknown.append(i)
        else:
            out.append(decoded)
        i += 2
    return "".join(out), unknown


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


# ------------------------------------------------------------------- syntax errors

_FRIENDLY = {
    "NAME": "a field name",
    "INT": "a whole number",
    "DECIMAL": "a decimal number",
    "STRING": 'a "string"',
    "DATE": "a date (YYYY-MM-DD)",
    "TIMESTAMP": "a timestamp",
    "COMP_OP": "a comparison (= != < <= > >=)",
    "UNIT": "`days`, `weeks` or `hours`",
    "PERCENT": "a percentage such as `45%`",
    "TRUE": "`true`",
    "FALSE": "`false`",
    "STATIC": "`static`",
    "SMART": "`smart`",
    "DYNAMIC": "`dynamic`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "$END": "the end of the input",
}

_SMART_QUOTES = "\u201c\u201d\u201e\u201f\u2018\u2019\u00ab\u00bb"


def _describe(name: str) -> str:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    if name.startswith("_"):
        return f"`{name[1:].lower().replace('days_since', 'days_since')}`"
    return f"`{name.lower()}`"


def _expected_text(expected) -> str:
    names = sorted({_describe(e) for e in expected})
    if len(names) > 12:
        # Past a dozen, a list helps nobody; keep the kinds of token, not each keyword.
        preferred = [n for n in names if not n.startswith("`")
                     or n in ("`)`", "`}`", "`and`", "`or`", "`not`", "`true`", "`false`", "`null`")]
        names = (preferred or names)[:12] + ["…"]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _unexpected_char(src: SourceFile, exc, offset: int = 0) -> Diagnostic:
    pos = exc.pos_in_stream + offset
    ch = src.text[pos] if pos < len(src.text) else ""
    sp = src.span(pos, pos + 1)
    if ch == '"':
        end = line_end(src.text, pos)
        return error("E0012", "unterminated string", src.span(pos, end), label="this string has no closing quote",
                     help='close it with `"` on the same line; write \\" for a quote inside')
    if ch == "'":
        return error("E0011", "strings use double quotes", sp, label="single quote",
                     help='write "text" instead of \'text\'')
    if ch in _SMART_QUOTES:
        return error("E0011", f"typographic quote `{ch}` is not a string delimiter", sp,
                     label="smart quote", help='use a straight double quote `"` (editors often replace it)')
    if ch.isdigit() and not ch.isascii():
        return error("E0011", f"`{ch}` is not an ASCII digit", sp, label="non-ASCII digit",
                     help="write numbers with the digits 0-9")
    if ch == "-" and pos + 1 < len(src.text) and src.text[pos + 1] == "-":
        return error("E0011", "`--` does not start a comment", sp, help="comments start with `#`")
    shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
    return error("E0011", f"unexpected character `{shown}`", sp, label="not expected here",
                 help=f"expected {_expected_text(exc.allowed)}" if exc.allowed else None)



#: Each opening bracket → the terminal and the text that close it.
_CLOSING = {"(": ("RPAR", ")"), "[": ("RSQB", "]"), "{": ("RBRACE", "}")}


def _open_brackets(text: str, upto: int) -> list[tuple[str, int]]:
    """The brackets still open at offset ``upto`` of ``text``, innermost last, with
    their offsets (strings and comments skipped)."""
    stack: list[tuple[str, int]] = []
    for kind, word, at in _skeleton(text):
        if at >= upto:
            break
        if kind != "BRACKET":
            continue
        if word in _CLOSING:
            stack.append((word, at))
        elif stack and word == _CLOSING[stack[-1][0]][1]:
            stack.pop()
    return stack


def _unexpected_token(src: SourceFile, exc, parser, text: str | None = None, offset: int = 0) -> Diagnostic:
    tok = exc.token
    expected = set(exc.expected or ())
    text = src.text if text is None else text
    at = tok.start_pos if tok.type != "$END" and tok.start_pos is not None else len(text)
    opened = _open_brackets(text, at)
    # A closing bracket is worth suggesting only where one of its kind is open.
    open_kinds = {b for b, _ in opened}
    expected -= {closing for bracket, (closing, _) in _CLOSING.items() if bracket not in open_kinds}
    if tok.type == "$END":
        # The text ends where its innermost bracket could close: that bracket is the problem.
        if opened and _CLOSING[opened[-1][0]][0] in expected:
            bracket, where = opened[-1]
            closing = _CLOSING[bracket][1]
            sp = src.span(offset + where, offset + where + 1)
            return error("E0010", f"`{bracket}` is never closed", sp, label=f"this `{bracket}` has no matching `{closing}`",
                         help=f"add `{closing}` where it ends")
        pos = offset + len(text.rstrip())
        return error("E0010", "unexpected end of input", src.span(pos, pos), label="the rule stops here",
                     help=f"expected {_expected_text(expected)}")
    start = tok.start_pos + offset
    end = tok.end_pos + offset if tok.end_pos is not None else start
    sp = src.span(start, end)
    value = str(tok)
    help_ = f"expected {_expected_text(expected)}"
    shown = value if len(value) <= 30 else value[:27] + "..."
    message = f"unexpected `{shown}`" if tok.type not in ("$END",) else "unexpected end of input"
    if tok.type == "NAME" and value.lower() in KEYWORDS and value != value.lower():
        help_ = f"keywords are lower-case: write `{value.lower()}`"
    elif value in KEYWORDS and "NAME" in expected:
        message = f"`{value}` is a keyword, not a name"
        help_ = f"a keyword cannot be used as a field or segment name; {help_}"
    elif tok.type == "COMP_OP" and value == "=" and "COMP_OP" not in expected:
        help_ = f"{help_}; `=` compares a field with a value, as in `tier = \"Gold\"`"
    elif tok.type == "NAME" and "COMP_OP" in expected and value in ("AND", "OR", "NOT"):
        help_ = f"keywords are lower-case: write `{value.lower()}`"
    return error("E0010", message, sp, label="not expected here", help=help_)
