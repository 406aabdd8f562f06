"""Segment names across a project: definitions, references, rename, and outlines.

Occurrences come from the token scan of every file of the project (declarations and
``in segment NAME``), so they are exact for valid files and still found in a file that
does not parse. Strings and comments are never touched.
"""

from __future__ import annotations

import attrs

from segdsl.lsp.analysis import Document, Snapshot
from segdsl.lsp.text import Occurrence
from segdsl.syntax.keywords import KEYWORDS, NAME


@attrs.frozen
class Found:
    doc: Document
    occurrence: Occurrence


def occurrence_at(doc: Document, offset: int) -> Occurrence | None:
    for o in doc.outline.occurrences:
        if o.start <= offset <= o.end:
            return o
    return None


def occurrences(snapshot: Snapshot, name: str, declarations: bool = True) -> list[Found]:
    return [
        Found(doc, o)
        for doc in snapshot.documents.values()
        for o in doc.outline.occurrences
        if o.name == name and (declarations or not o.declaration)
    ]


def definitions(snapshot: Snapshot, name: str) -> list[Found]:
    return [f for f in occurrences(snapshot, name) if f.occurrence.declaration]


class RenameError(ValueError):
    pass


def rename_edits(snapshot: Snapshot, old: str, new: str) -> dict[str, list[tuple[int, int]]]:
    """Where to write ``new`` for every occurrence of segment ``old``: path → spans.

    Raises :class:`RenameError` when ``new`` is not a valid, unused segment name."""
    if not NAME.fullmatch(new):
        raise RenameError(f"`{new}` is not a segment name: use letters, digits and `_`, not starting with a digit")
    if new in KEYWORDS:
        raise RenameError(f"`{new}` is a keyword of the language and cannot name a segment")
    if new != old and new in snapshot.segment_names():
        raise RenameError(f"a segment named `{new}` already exists in this project")
    if not definitions(snapshot, old):
        raise RenameError(f"no segment `{old}` is declared in this project")
    out: dict[str, list[tuple[int, int]]] = {}
    for f in occurrences(snapshot, old):
        out.setdefault(f.doc.path, []).append((f.occurrence.start, f.occurrence.end))
    return out
