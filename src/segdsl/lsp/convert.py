"""segdsl values → LSP values: ranges in the negotiated encoding, and diagnostics.

A diagnostic keeps its code and severity; the help and notes are appended to the
message (every client shows the message, few show anything else), and labels become
related information pointing at their own files and lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from segdsl.diagnostics import Severity
from segdsl.lsp.analysis import Document, Located, Where
from segdsl.lsp.text import LineIndex

SOURCE = "segdsl"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def uri_of(path: str) -> str:
    return from_fs_path(path) or path


def lsp_range(index: LineIndex, start: int, end: int, encoding: str) -> types.Range:
    sl, sc = index.position(start, encoding)
    el, ec = index.position(max(start, end), encoding)
    return types.Range(types.Position(sl, sc), types.Position(el, ec))


_ORIGIN = types.Range(types.Position(0, 0), types.Position(0, 0))


def location(where: Where, documents: Mapping[str, Document], encoding: str) -> types.Location:
    doc = documents.get(where.path)
    rng = lsp_range(doc.index, where.start, where.end, encoding) if doc is not None else _ORIGIN
    return types.Location(uri_of(where.path), rng)


def to_lsp(
    item: Located,
    doc: Document | None,
    documents: Mapping[str, Document],
    encoding: str,
    related: bool = True,
) -> types.Diagnostic:
    """One diagnostic for ``doc``. ``item`` may belong to another file (a schema
    problem): it is then shown at the top of ``doc`` and names its file."""
    d = item.diagnostic
    message = d.message
    rng = _ORIGIN
    infos: list[types.DiagnosticRelatedInformation] = []
    if item.where is not None and doc is not None and item.where.path == doc.path:
        rng = lsp_range(doc.index, item.where.start, item.where.end, encoding)
    elif item.where is not None:
        # Another file (the schema, segdsl.toml); trait problems name `schema.toml: fields.x.derive`.
        message = f"{Path(item.where.path).name}: {message}"
        if Path(item.where.path).is_file():
            infos.append(types.DiagnosticRelatedInformation(location(item.where, documents, encoding), d.message))
    for where, text in item.labels:
        infos.append(types.DiagnosticRelatedInformation(location(where, documents, encoding), text))
    extra = [f"note: {n}" for n in d.notes]
    if d.help:
        extra.append(f"help: {d.help}")
    if not related:
        for info in infos:
            loc = info.location
            extra.append(f"note: {info.message} at {Path(loc.uri).name}:{loc.range.start.line + 1}")
        infos = []
    if extra:
        message = "\n".join([message, *extra])
    return types.Diagnostic(
        range=rng,
        message=message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source=SOURCE,
        related_information=infos or None,
    )
