"""Text as an editor sees it: LSP positions, and a forgiving token scan.

segdsl spans are code-point offsets; LSP positions are (line, character) where the
character counts UTF-16 code units unless the client agreed to UTF-32 (code points) or
UTF-8 (bytes), and lines end at ``\n``, ``\r\n`` or ``\r`` only (U+2028, U+2029 and
U+0085 are characters like any other). :class:`LineIndex` converts both ways.

The token scan here is not the parser: it never fails, so completion, hover, navigation
and the per-declaration split of a buffer keep working while the user types half a
rule. It lexes with the grammar's own terminals (:mod:`segdsl.syntax.tokens`), so it
reads every valid file as the parser does; the words it knows are the grammar's too
(:mod:`segdsl.syntax.keywords`).
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

import attrs

from segdsl.syntax.keywords import KEYWORDS, first_words
from segdsl.syntax.span import LINE_BREAK, line_starts, split_lines
from segdsl.syntax.tokens import scan_line

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"

#: The words that start a segment's kind, an aggregate and a segment's clause.
KINDS = first_words("segment_kind")
AGGREGATES = first_words("agg_fn")
CLAUSES = first_words("clause")


class LineIndex:
    """Offsets ↔ LSP positions for one text, in a negotiated position encoding."""

    def __init__(self, text: str):
        self.text = text
        self.line_starts = line_starts(text)

    def _line_end(self, line: int) -> int:
        """Offset of the end of ``line``'s content (where its line break starts)."""
        if line + 1 < len(self.line_starts):
            end = self.line_starts[line + 1] - 1
            if self.text[end] == "\n" and end > self.line_starts[line] and self.text[end - 1] == "\r":
                end -= 1
            return end
        return len(self.text)

    def position(self, offset: int, encoding: str = UTF16) -> tuple[int, int]:
        """0-based (line, character) of a code-point offset. An offset inside a CRLF
        counts as the end of its line."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        start = self.line_starts[line]
        return line, _units(self.text[start : min(offset, self._line_end(line))], encoding)

    def offset(self, line: int, character: int, encoding: str = UTF16) -> int:
        """Code-point offset of a 0-based LSP position. Past the end of a line clamps to
        the line's end (before its break), past the last line to the end of the text,
        as LSP asks; inside a character (half a surrogate pair) moves to its end."""
        if line < 0:
            return 0
        if line >= len(self.line_starts):
            return len(self.text)
        start, end = self.line_starts[line], self._line_end(line)
        character = max(0, character)
        if encoding == UTF32:
            return start + min(character, end - start)
        segment = self.text[start:end]
        if segment.isascii():
            return start + min(character, len(segment))
        units = 0
        for i, ch in enumerate(segment):
            if units >= character:
                return start + i
            units += _char_units(ch, encoding)
        return end

    def end_position(self, encoding: str = UTF16) -> tuple[int, int]:
        return self.position(len(self.text), encoding)


def _units(s: str, encoding: str) -> int:
    if encoding == UTF32 or s.isascii():
        return len(s)
    if encoding == UTF8:
        return len(s.encode("utf-8", "surrogatepass"))
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _char_units(ch: str, encoding: str) -> int:
    o = ord(ch)
    if encoding == UTF8:
        return 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
    return 2 if o > 0xFFFF else 1


# ---------------------------------------------------------------------------- tokens


class Token(NamedTuple):
    kind: str  # name | string | number | date | op | punct | other
    text: str
    start: int
    end: int
    #: A string with no closing quote on its line.
    open: bool = False


@attrs.frozen
class Scan:
    """The significant tokens of a text, and where its comments are."""

    tokens: tuple[Token, ...]
    comments: tuple[tuple[int, int], ...]

    def index_before(self, offset: int) -> int:
        """Number of tokens that end at or before ``offset``."""
        lo, hi = 0, len(self.tokens)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.tokens[mid].end <= offset:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def token_at(self, offset: int) -> Token | None:
        """The token under ``offset`` (hover): the one containing it, else one ending at it."""
        i = self.index_before(offset)
        if i < len(self.tokens) and self.tokens[i].start <= offset:
            return self.tokens[i]
        if i > 0 and self.tokens[i - 1].end == offset:
            return self.tokens[i - 1]
        return None

    def token_before(self, offset: int) -> Token | None:
        """The token being typed at ``offset`` (completion): one with text before the cursor."""
        i = self.index_before(offset)
        if i > 0 and self.tokens[i - 1].end == offset:
            return self.tokens[i - 1]
        if i < len(self.tokens) and self.tokens[i].start < offset:
            return self.tokens[i]
        return None

    def in_comment(self, offset: int) -> bool:
        # The last comment starting before ``offset``; the cursor at its end is still in it.
        i = bisect.bisect_left(self.comments, (offset,)) - 1
        return i >= 0 and offset <= self.comments[i][1]


#: Tokens of recently seen lines, by line text. No token spans a line (strings and
#: comments end at the line break), so a line scans the same wherever it is.
_LINES: dict[str, tuple[tuple, tuple]] = {}


def scan(text: str) -> Scan:
    """The tokens of ``text``; unchanged lines come from a cache, so a keystroke in a
    large file rescans one line."""
    tokens: list[Token] = []
    comments: list[tuple[int, int]] = []
    cache = _LINES
    new = tuple.__new__  # skips NamedTuple's Python-level __new__: a large file has many tokens
    if len(cache) > 100_000:
        cache.clear()
    pos = 0
    # Lines as the editor has them: a comment or an open string ends at a lone CR too.
    if "\r" in text:
        lines = split_lines(text)
        breaks = [len(m.group()) for m in LINE_BREAK.finditer(text)] + [0]
    else:
        lines, breaks = text.split("\n"), None
    for n, line in enumerate(lines):
        found = cache.get(line)
        if found is None:
            found = cache[line] = _scan_line(line)
        toks, comms = found
        if toks:
            tokens.extend([new(Token, (k, t, a + pos, b + pos, o)) for k, t, a, b, o in toks])
        if comms:
            comments.append((comms[0] + pos, comms[1] + pos))
        pos += len(line) + (breaks[n] if breaks is not None else 1)
    return Scan(tuple(tokens), tuple(comments))


def clear_scan_cache() -> None:
    """Forget the cached lines (the server calls it once no document is open)."""
    _LINES.clear()


def _scan_line(line: str) -> tuple[tuple, tuple]:
    toks = []
    comment: tuple = ()
    for tok in scan_line(line):
        if tok[0] == "comment":
            comment = (tok[2], tok[3])
        else:
            toks.append(tok)
    return tuple(toks), comment


def string_value(tok: Token) -> str:
    """The text of a string token, escapes undone (best effort for an open string)."""
    raw = tok.text[1:-1] if not tok.open else tok.text[1:]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), raw)


def _enclosing_paren(tokens, end: int, opens, *, outward: bool) -> int | None:
    """Index of the innermost ``(`` still open just before ``tokens[end]`` that
    ``opens(k)`` accepts, None when there is none before a brace. ``outward``: look past
    an open group ``opens`` refuses (an aggregate around a parenthesised condition);
    otherwise the innermost open group decides."""
    depth = 0
    for k in range(end - 1, -1, -1):
        t = tokens[k]
        if t.kind != "punct":
            continue
        if t.text == ")":
            depth += 1
        elif t.text == "(":
            if depth:
                depth -= 1
                continue
            if opens(k):
                return k
            if not outward:
                return None
        elif t.text in "{}":
            return None
    return None


def enclosing_aggregate(tokens: tuple[Token, ...] | list[Token], end: int) -> int | None:
    """Index of the ``(`` of the aggregate call (``count(bookings where ...``) still open
    just before ``tokens[end]``, or None when that point is not inside one."""
    return _enclosing_paren(tokens, end, lambda k: k > 0 and tokens[k - 1].kind == "name"
                            and tokens[k - 1].text in AGGREGATES, outward=True)


def enclosing_events(tokens: tuple[Token, ...] | list[Token], end: int) -> int | None:
    """Index of the ``(`` of an event sequence's side (``(bookings where ...``, or any
    ``(NAME`` right after ``followed by``) still open just before ``tokens[end]``, or
    None. Whether NAME is an event source is the caller's to ask of the schema."""
    return _enclosing_paren(tokens, end, lambda k: k + 1 < end and tokens[k + 1].kind == "name" and (
        (k + 2 < end and tokens[k + 2].text == "where")
        or (k >= 2 and tokens[k - 1].text == "by" and tokens[k - 2].text == "followed")), outward=False)


# ---------------------------------------------------------------------- declarations


@attrs.frozen
class Decl:
    """A segment declaration as the tokens show it, complete or not."""

    name: str
    kind: str
    start: int
    end: int
    name_start: int
    name_end: int
    title: str | None


@attrs.frozen
class Occurrence:
    """A segment name: where it is declared, or used with ``in segment``."""

    name: str
    start: int
    end: int
    declaration: bool


@attrs.frozen
class Outline:
    decls: tuple[Decl, ...]
    occurrences: tuple[Occurrence, ...]
    #: Offsets where the text splits into independently parseable pieces: before each
    #: declaration. Piece ``i`` runs from ``cuts[i]`` to ``cuts[i + 1]``.
    cuts: tuple[int, ...]


def outline(text: str, sc: Scan) -> Outline:
    """Declarations, segment-name occurrences and split points of a text.

    A declaration starts at ``[kind] segment`` outside braces, or at the start of a line
    even inside unbalanced braces (so one unfinished declaration does not swallow the
    rest of the file). ``in segment NAME`` is a reference wherever it appears.
    """
    toks = sc.tokens
    decls: list[Decl] = []
    occ: list[Occurrence] = []
    cuts = [0]
    depth = 0
    current: dict | None = None
    for i, tok in enumerate(toks):
        if tok.kind == "punct":
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth = max(0, depth - 1)
                if depth == 0 and current is not None:
                    current["end"] = tok.end
                    decls.append(Decl(**current))
                    current = None
            continue
        if tok.kind != "name" or tok.text != "segment":
            continue
        prev = toks[i - 1] if i > 0 else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        name_tok = nxt if nxt is not None and nxt.kind == "name" and nxt.text not in KEYWORDS else None
        if prev is not None and prev.kind == "name" and prev.text == "in":
            if name_tok is not None:
                occ.append(Occurrence(name_tok.text, name_tok.start, name_tok.end, False))
            continue
        start_tok = prev if prev is not None and prev.kind == "name" and prev.text in KINDS else tok
        if depth > 0 and not _starts_line(text, start_tok.start):
            continue
        if current is not None:  # unfinished: it ends where the next one starts
            current["end"] = _trim_end(text, start_tok.start)
            decls.append(Decl(**current))
        depth = 0
        if start_tok.start > 0:
            cuts.append(start_tok.start)
        title = None
        if name_tok is not None and i + 2 < len(toks) and toks[i + 2].kind == "string":
            title = string_value(toks[i + 2])
        current = None
        if name_tok is not None:
            occ.append(Occurrence(name_tok.text, name_tok.start, name_tok.end, True))
            current = dict(
                name=name_tok.text,
                kind=start_tok.text if start_tok is not tok else "dynamic",
                start=start_tok.start,
                end=len(text),
                name_start=name_tok.start,
                name_end=name_tok.end,
                title=title,
            )
    if current is not None:
        current["end"] = _trim_end(text, len(text))
        decls.append(Decl(**current))
    return Outline(tuple(decls), tuple(occ), tuple(cuts))


def _starts_line(text: str, offset: int) -> bool:
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    return not text[line_start:offset].strip()


def _trim_end(text: str, offset: int) -> int:
    while offset > 0 and text[offset - 1] in " \t\r\n":
        offset -= 1
    return offset
