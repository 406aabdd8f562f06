"""Where each key of a TOML document is written, so a schema problem can point at its
line and column (Python's TOML reader gives values, not positions).

A line-by-line reading of the forms schemas use: ``[table.headers]``, ``dotted.keys =``
and the keys of inline tables (``{ type = "int", nullable = false }``). A key it cannot
find is located at the nearest enclosing key it found, or at the top of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from segdsl.syntax.span import Span

_BARE = r"[A-Za-z0-9_\-]+"
_KEY = rf'(?:{_BARE}|"[^"\n]*"|\'[^\'\n]*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_INLINE_KEY = re.compile(rf"(?:\{{|,)\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY)


def _parts(dotted: str, at: int) -> list[tuple[str, int, int]]:
    """The parts of a dotted key found at offset ``at``: (name, start, end)."""
    out = []
    for m in _PART.finditer(dotted):
        name = m.group()
        if name[0] in "\"'":
            name = name[1:-1]
        out.append((name, at + m.start(), at + m.end()))
    return out


def key_spans(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """Each key path of ``text`` → the offsets of its last part where it is written."""
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    table: tuple[str, ...] = ()
    offset = 0
    for line in text.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            parts = _parts(header.group(1), offset + header.start(1))
            table = tuple(p[0] for p in parts)
            for i, (_, a, b) in enumerate(parts):
                found.setdefault(table[: i + 1], (a, b))
        else:
            assign = _ASSIGN.match(line)
            if assign:
                parts = _parts(assign.group(1), offset + assign.start(1))
                keys = table + tuple(p[0] for p in parts)
                for i, (_, a, b) in enumerate(parts):
                    found.setdefault(keys[: len(table) + i + 1], (a, b))
                rest = line[assign.end():]
                if rest.lstrip().startswith("{"):
                    base = offset + assign.end()
                    for m in _INLINE_KEY.finditer(rest):
                        inner = _parts(m.group(1), base + m.start(1))
                        path = keys + tuple(p[0] for p in inner)
                        found.setdefault(path, inner[-1][1:])
        offset += len(line)
    return found


def locator(path: str, text: str | None) -> Callable[[Sequence[str]], Span]:
    """A function from a key path (``("fields", "tier", "type")``) to the span of that
    key in ``text``, or of the nearest enclosing key written there."""
    spans = key_spans(text) if text else {}

    def locate(keys: Sequence[str]) -> Span:
        keys = tuple(keys)
        while keys:
            if keys in spans:
                return Span(path, *spans[keys])
            keys = keys[:-1]
        return Span(path, 0, 0)

    return locate


def decode_error_span(path: str, text: str, message: str) -> Span:
    """The position a TOML reader's error message names (``(at line 3, column 7)``)."""
    m = re.search(r"line (\d+), column (\d+)", message)
    if not m:
        return Span(path, 0, 0)
    lines = text.splitlines(keepends=True)
    line, column = int(m.group(1)), int(m.group(2))
    start = sum(len(x) for x in lines[: line - 1]) + column - 1
    start = max(0, min(start, len(text)))
    return Span(path, start, min(start + 1, len(text)))
