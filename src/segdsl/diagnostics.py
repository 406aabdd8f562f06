"""Diagnostics as values, and their renderings as rustc-style text and as JSON.

Every stage reports problems as :class:`Diagnostic` values instead of raising; the CLI,
the language server and the library API all render the same values. Codes are stable
once released and are listed in ``docs/diagnostics.md``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from segdsl.frozen import Value, frozen
from segdsl.syntax.span import SourceFile, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@frozen
class Label(Value):
    """A secondary span with a short message (``^^^ not a field of `guest```)."""

    span: Span
    message: str


@frozen
class Diagnostic(Value):
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    label: str = ""
    labels: tuple[Label, ...] = ()
    help: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, span: Span | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, **kw)


def warning(code: str, message: str, span: Span | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, **kw)


def info(code: str, message: str, span: Span | None = None, **kw) -> Diagnostic:
    return Diagnostic(code, Severity.INFO, message, span, **kw)


class DiagnosticError(Exception):
    """Raised by API entry points that cannot return a result past an error."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        first = next((d for d in self.diagnostics if d.is_error), None)
        super().__init__(first.message if first else "failed")


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple:
    if d.span is None:
        return ("", -1, d.code)
    return (d.span.path, d.span.start, d.code)


# ---------------------------------------------------------------------------- text


def render_text(d: Diagnostic, sources: Mapping[str, SourceFile]) -> str:
    """Render like rustc: header, ``-->`` location, the source line, carets, help."""
    out = [f"{d.severity.value}[{d.code}]: {d.message}"]
    src = sources.get(d.span.path) if d.span is not None else None
    pad = 1
    if d.span is not None and src is None:
        out.append(f"  --> {d.span.path}")
    elif d.span is not None and src is not None:
        start = src.position(d.span.start)
        out.append(f"  --> {d.span.path}:{start.line}:{start.column}")
        # Source order reads best: a "first defined here" label above the error line.
        snippets = sorted(
            [(d.span, d.label)] + [(lb.span, lb.message) for lb in d.labels], key=lambda s: s[0].start
        )
        lines = [src.position(s.start).line for s, _ in snippets if s.path == d.span.path]
        gutter = len(str(max(lines)))
        out.append(f"{'':>{gutter}} |")
        elsewhere = []
        for span, message in snippets:
            if span.path != d.span.path:
                other = sources.get(span.path)
                pos = other.position(span.start) if other is not None else None
                where = f"{span.path}:{pos.line}:{pos.column}" if pos else span.path
                elsewhere.append(f"{'':>{gutter}} = note: {message} at {where}")
                continue
            out.extend(_snippet(src, span, message, gutter))
        out.append(f"{'':>{gutter}} |")
        out.extend(elsewhere)
        pad = gutter
    for note in d.notes:
        out.append(f"{'':>{pad}} = note: {note}")
    if d.help:
        out.append(f"{'':>{pad}} = help: {d.help}")
    return "\n".join(out)


def _snippet(src: SourceFile, span: Span, message: str, gutter: int) -> list[str]:
    start = src.position(span.start)
    end = src.position(max(span.start, span.end - 1)) if span.end > span.start else start
    text = src.line_text(start.line)
    shown = _printable(text)
    # Carets stop at the end of the first line of a multi-line span.
    stop = end.column if end.line == start.line else len(text)
    width = max(1, stop - start.column + 1)
    prefix = _printable(text[: start.column - 1])
    carets = " " * len(prefix) + "^" * min(width, max(1, len(shown) - len(prefix) + 1))
    line = f"{start.line:>{gutter}} | {shown}".rstrip()
    mark = f"{'':>{gutter}} | {carets}" + (f" {message}" if message else "")
    return [line, mark]


def _printable(text: str) -> str:
    """Tabs become spaces and control characters become visible, so carets line up;
    so do U+2028 and U+2029, which a terminal or a log viewer may show as a line break."""
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\t":
            out.append("    ")
        elif o < 32 or 0x7F <= o <= 0x9F or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069 or o in (0x2028, 0x2029):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def render_all_text(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile]) -> str:
    parts = [render_text(d, sources) for d in sorted(diagnostics, key=sort_key)]
    return "\n\n".join(parts)


def summary_line(diagnostics: Iterable[Diagnostic]) -> str:
    ds = list(diagnostics)
    errors = sum(d.severity is Severity.ERROR for d in ds)
    warnings = sum(d.severity is Severity.WARNING for d in ds)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    infos = sum(d.severity is Severity.INFO for d in ds)
    text = ", ".join(parts) if parts else "no problems"
    return text + (f" ({infos} note{'s' if infos != 1 else ''})" if infos else "")


# ---------------------------------------------------------------------------- json


def to_json_dict(d: Diagnostic, sources: Mapping[str, SourceFile]) -> dict:
    def loc(span: Span) -> dict:
        src = sources.get(span.path)
        out = {"file": span.path, "start_offset": span.start, "end_offset": span.end}
        if src is not None:
            s, e = src.position(span.start), src.position(span.end)
            out.update(line=s.line, column=s.column, end_line=e.line, end_column=e.column)
        return out

    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "location": loc(d.span) if d.span is not None else None,
        "label": d.label or None,
        "labels": [{"message": lb.message, "location": loc(lb.span)} for lb in d.labels],
        "help": d.help,
        "notes": list(d.notes),
    }


def render_json(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile]) -> str:
    items = [to_json_dict(d, sources) for d in sorted(diagnostics, key=sort_key)]
    import json

    return json.dumps({"diagnostics": items}, indent=2, ensure_ascii=False)


# -------------------------------------------------------------------- CI formats


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile]) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for d in sorted(diagnostics, key=sort_key):
        props = [f"title={_gh_escape(d.code, True)}"]
        if d.span is not None:
            props.insert(0, f"file={_gh_escape(d.span.path, True)}")
            src = sources.get(d.span.path)
            if src is not None:
                s, e = src.position(d.span.start), src.position(max(d.span.start, d.span.end))
                props[1:1] = [f"line={s.line}", f"col={s.column}", f"endLine={e.line}", f"endColumn={e.column}"]
        message = d.message + (f" (help: {d.help})" if d.help else "")
        lines.append(f"::{level[d.severity]} {','.join(props)}::{_gh_escape(message)}")
    return "\n".join(lines)


def render_sarif(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile], version: str) -> str:
    """SARIF 2.1.0, the static-analysis format code-scanning services read."""
    ds = sorted(diagnostics, key=sort_key)
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    rules: dict[str, dict] = {}
    results = []
    for d in ds:
        rules.setdefault(d.code, {"id": d.code, "defaultConfiguration": {"level": level[d.severity]}})
        result: dict = {"ruleId": d.code, "level": level[d.severity], "message": {"text": d.message + (f"\nhelp: {d.help}" if d.help else "")}}
        if d.span is not None:
            location: dict = {"artifactLocation": {"uri": d.span.path.replace("\\", "/")}}
            src = sources.get(d.span.path)
            if src is not None:
                s, e = src.position(d.span.start), src.position(max(d.span.start, d.span.end))
                location["region"] = {"startLine": s.line, "startColumn": s.column, "endLine": e.line, "endColumn": e.column}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "segdsl", "version": version, "rules": list(rules.values())}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    import json

    return json.dumps(doc, indent=2, ensure_ascii=False)
