"""Source text and spans: where a node or a diagnostic sits in a file.

Spans are character offsets into the decoded text of one source; line and column are
computed only when a diagnostic is rendered (PRQL's rule: store offsets, render late).

Lines end where editors and the Language Server Protocol end them: at ``\n``, ``\r\n``
or a lone ``\r``, and nowhere else. (``str.splitlines`` also splits at U+2028, U+2029,
U+0085 and form feeds; a line number counted that way disagrees with the editor's.)
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

import attrs

#: One line break as LSP counts them: CRLF is one break, a lone CR or LF is one.
LINE_BREAK = re.compile(r"\r\n?|\n")


def line_starts(text: str) -> list[int]:
    """Offsets where the lines of ``text`` start (the first is 0)."""
    if "\r" not in text:  # the common case, about ten times faster than the regex
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return starts
    return [0, *(m.end() for m in LINE_BREAK.finditer(text))]


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their breaks (one more than the breaks)."""
    return LINE_BREAK.split(text)


def has_line_break(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]`` holds a line break."""
    return LINE_BREAK.search(text, start, len(text) if end is None else end) is not None


def count_line_breaks(text: str, start: int = 0, end: int | None = None) -> int:
    """How many line breaks ``text[start:end]`` holds (a CRLF is one)."""
    stop = len(text) if end is None else end
    if "\r" not in text:
        return text.count("\n", start, stop)
    return sum(1 for _ in LINE_BREAK.finditer(text, start, stop))


def line_end(text: str, start: int) -> int:
    """Offset of the line break that ends the line holding ``start`` (or the text's end)."""
    m = LINE_BREAK.search(text, start)
    return m.start() if m is not None else len(text)


class Span(NamedTuple):
    """A half-open range ``[start, end)`` of character offsets in the source ``path``.

    A named tuple: the parsers make one for every node, and a tuple is several times
    cheaper to make than a frozen attrs instance."""

    path: str
    start: int
    end: int

    def merge(self, other: Span) -> Span:
        return Span(self.path, min(self.start, other.start), max(self.end, other.end))


@attrs.frozen
class Position:
    """A 1-based line and column (columns count characters, not bytes)."""

    line: int
    column: int


@attrs.define
class SourceFile:
    """The decoded text of one source, with a line index for offset → position."""

    path: str
    text: str
    _line_starts: list[int] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._line_starts = line_starts(self.text)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1)

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` without its line break."""
        start = self._line_starts[line - 1]
        if line < len(self._line_starts):
            return self.text[start : self._line_starts[line]].rstrip("\r\n")
        return self.text[start:]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def span(self, start: int, end: int) -> Span:
        return Span(self.path, start, end)

    def offset_of(self, line: int, column: int) -> int:
        """Offset of a 1-based line and column (the inverse of :meth:`position`)."""
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + max(column, 1) - 1, len(self.text))
