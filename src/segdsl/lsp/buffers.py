"""The server's copy of each open editor buffer, kept equal to the editor's.

An incremental ``didChange`` names its range in LSP positions: lines that end at
``\\n``, ``\\r\\n`` or ``\\r`` only, characters in the negotiated encoding. The edit is
applied here with :class:`~segdsl.lsp.text.LineIndex`, the one converter every
position in the server goes through. (pygls's own documents split lines with
``str.splitlines``, which also breaks at U+2028, U+2029 and U+0085: one such character
put every later edit on the wrong line, and formatting then returned that text.)
"""

from __future__ import annotations

import attrs
from lsprotocol import types

from segdsl.lsp.text import LineIndex


@attrs.define(eq=False)
class Buffer:
    """One open document: its text and the version the editor gave it."""

    uri: str
    text: str
    version: int | None
    _index: LineIndex | None = attrs.field(default=None, repr=False)

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.text is not self.text:
            self._index = LineIndex(self.text)
        return self._index

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        """Apply one content change, incremental (a range) or the whole text."""
        rng = getattr(change, "range", None)
        if rng is None:
            self.text = change.text
            return
        index = self.index
        start = index.offset(rng.start.line, rng.start.character, encoding)
        end = index.offset(rng.end.line, rng.end.character, encoding)
        if end < start:  # a client bug; LSP requires start <= end
            start, end = end, start
        self.text = self.text[:start] + change.text + self.text[end:]


class Buffers:
    """Open buffers by URI."""

    def __init__(self) -> None:
        self._open: dict[str, Buffer] = {}

    def open(self, item: types.TextDocumentItem) -> Buffer:
        buf = self._open[item.uri] = Buffer(item.uri, item.text, item.version)
        return buf

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> Buffer | None:
        buf = self._open.get(params.text_document.uri)
        if buf is None:
            return None  # a change to a document never opened: nothing to keep in step
        for change in params.content_changes:
            buf.apply(change, encoding)
        buf.version = params.text_document.version
        return buf

    def close(self, uri: str) -> None:
        self._open.pop(uri, None)

    def get(self, uri: str) -> Buffer | None:
        return self._open.get(uri)

    def __len__(self) -> int:
        return len(self._open)
