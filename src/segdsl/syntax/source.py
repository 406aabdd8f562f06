"""Turning untrusted bytes into source text the parser may see.

Rejected here, each with its position: invalid UTF-8 (by byte offset), NUL and other
control characters, lone surrogates, bidirectional overrides (the "trojan source"
characters), and inputs over the size cap. Tabs, newlines and carriage returns pass.
:func:`line_separators` rejects U+2028 and U+2029 outside the strings of ``.seg`` text
(the parser calls it; JSON and string values go through :func:`check_text` only).
"""

from __future__ import annotations

import re
import unicodedata

from segdsl.diagnostics import Diagnostic, error
from segdsl.syntax.span import SourceFile, Span

#: Largest source accepted, in bytes. Real segment files are a few kilobytes; the cap
#: keeps a stray multi-megabyte paste from stalling an editor or CI.
MAX_SOURCE_BYTES = 2 * 1024 * 1024

_BIDI = {
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
    "\u200e": "LEFT-TO-RIGHT MARK",
    "\u200f": "RIGHT-TO-LEFT MARK",
}

#: Every character :func:`check_text` rejects: C0 controls but tab, newline and
#: carriage return; DEL and the C1 controls; lone surrogates; the bidi controls.
_REJECTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + "".join(_BIDI) + "]")


#: Characters some viewers show as a line break and LSP, diffs and the grammar do not
#: (U+0085, the other one, is a C1 control and rejected everywhere).
_SEPARATORS = {"\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}
#: A string (skipped: a separator in one is data), a comment, or a separator.
_SEPARATOR_SCAN = re.compile(r'"(?:[^"\\\n\r]|\\[^\n\r])*"|#[^\n\r]*|[\u2028\u2029]')


def decode_source(path: str, data: bytes) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Decode and validate ``data``; return the source, or ``None`` with diagnostics."""
    if len(data) > MAX_SOURCE_BYTES:
        return None, [
            error(
                "E0003",
                f"file is {len(data):,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes",
                Span(path, 0, 0),
                help="split the segments over several files",
            )
        ]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        # Everything before the first bad byte decodes; replacing the bad bytes changes
        # nothing before them, so the offset holds in the text shown with the diagnostic.
        src = SourceFile(path, data.decode("utf-8", "replace"))
        offset = len(data[: exc.start].decode("utf-8"))
        return src, [
            error(
                "E0001",
                f"invalid UTF-8 at byte offset {exc.start} (byte 0x{data[exc.start]:02x})",
                Span(path, offset, offset + 1),
                label="not UTF-8",
                help="save the file as UTF-8",
            )
        ]
    return check_text(path, text)


def check_text(path: str, text: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Validate already-decoded text (editor buffers, ``--expr`` arguments)."""
    # A character is at most 4 bytes of UTF-8: short text needs no encoding to know.
    if len(text) * 4 > MAX_SOURCE_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return None, [
            error("E0003", f"source is larger than {MAX_SOURCE_BYTES:,} bytes", Span(path, 0, 0))
        ]
    src = SourceFile(path, text)
    diags: list[Diagnostic] = []
    for m in _REJECTED.finditer(text):
        i, ch = m.start(), m.group()
        code = ord(ch)
        if ch in _BIDI:
            what = f"bidirectional control character U+{code:04X} ({_BIDI[ch]})"
            help_ = "remove it: it can make the text display differently from how it parses"
        elif 0xD800 <= code <= 0xDFFF:
            what = f"lone surrogate U+{code:04X}"
            help_ = "the text is not valid Unicode; re-save it as UTF-8"
        elif code == 0:
            what = "NUL character"
            help_ = "remove it"
        else:
            name = unicodedata.name(ch, "") or ("NEXT LINE" if ch == "\x85" else "")
            what = f"control character U+{code:04X}" + (f" ({name})" if name else "")
            help_ = "remove it"
        diags.append(error("E0002", f"{what} is not allowed", Span(path, i, i + 1), label="here", help=help_))
        if len(diags) >= 20:
            break
    if diags:
        return src, diags
    return src, []


def line_separators(path: str, text: str) -> list[Diagnostic]:
    """U+2028 and U+2029 outside the strings of ``.seg`` text (``E0005``): some viewers
    break the line there, the parser and editors do not, so a reviewer could read a
    comment as code or the reverse."""
    if "\u2028" not in text and "\u2029" not in text:
        return []
    diags: list[Diagnostic] = []
    for m in _SEPARATOR_SCAN.finditer(text):
        found = m.group()
        if found.startswith('"'):
            continue
        base = m.start()
        for k, ch in enumerate(found):
            if ch in _SEPARATORS:
                where = "in a comment" if found.startswith("#") else "outside a string"
                diags.append(error(
                    "E0005", f"U+{ord(ch):04X} ({_SEPARATORS[ch]}) {where} is not allowed",
                    Span(path, base + k, base + k + 1), label="here",
                    help="some editors and viewers show a line break here and others do not; "
                         "write a real line break, or remove it (inside a string it is allowed)",
                ))
                if len(diags) >= 20:
                    return diags
    return diags
