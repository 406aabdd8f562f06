"""Source text and spans: where a node or a diagnostic sits in a file.

Spans are character offsets into the decoded text of one source; line and column are
computed only when a diagnostic is rendered (PRQL's rule: store offsets, render late).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

import attrs


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
        starts = [0]
        find = self.text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._line_starts = starts

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line] + 1)

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` without its line break."""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def span(self, start: int, end: int) -> Span:
        return Span(self.path, start, end)

    def offset_of(self, line: int, column: int) -> int:
        """Offset of a 1-based line and column (the inverse of :meth:`position`)."""
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + max(column, 1) - 1, len(self.text))
