"""The server's model of a project: open buffers over the files on disk, checked together.

Each file is split before every declaration (see :func:`segdsl.lsp.text.outline`) and
each piece is parsed on its own, under a synthetic path, and cached by its text. An
edit reparses only the piece it touched; the checker then runs over every piece of the
project, and spans are mapped back from pieces to documents. A side effect editors want:
a syntax error costs only the declaration it is in, not the whole file.

Nothing here knows about LSP; :mod:`segdsl.lsp.convert` turns the results into messages.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path

import attrs

from segdsl.syntax import ast
from segdsl import ir
from segdsl.check.checker import check_modules
from segdsl.diagnostics import Diagnostic, error
from segdsl.lsp.text import LineIndex, Outline, Scan, outline, scan
from segdsl.check.ignore import LintConfig, apply_lint
from segdsl.syntax.parser import ParseResult, parse_source
from segdsl.project.workspace import Project
from segdsl.check.traits import load_schema
from segdsl.schema.model import Schema
from segdsl.syntax.source import MAX_SOURCE_BYTES, decode_source
from segdsl.syntax.span import Span

_ids = itertools.count(1)
_SEP = "\x00piece"


@attrs.frozen
class Piece:
    start: int
    path: str  # the synthetic path this piece was parsed under
    result: ParseResult


@attrs.define(eq=False)
class Document:
    """One version of one file's text, scanned and parsed piece by piece."""

    path: str
    text: str
    version: int | None
    index: LineIndex
    scan: Scan
    outline: Outline
    pieces: list[Piece]
    #: Problems with the file as a whole (not UTF-8, too large), spans in ``path``.
    problems: list[Diagnostic]


@attrs.frozen
class Where:
    """A resolved location: a file path and code-point offsets in it."""

    path: str
    start: int
    end: int


@attrs.frozen
class Located:
    diagnostic: Diagnostic
    where: Where | None
    labels: tuple[tuple[Where, str], ...]


@attrs.define(eq=False)
class Snapshot:
    """The result of one analysis of a project."""

    project: Project | None
    schema: Schema | None
    documents: dict[str, Document]
    segments: Mapping[str, ir.Segment]
    #: The first declaration of each segment name that parsed, and its document.
    defs: dict[str, tuple[Document, ast.SegmentDef]]
    diagnostics: dict[str, list[Located]]
    #: Problems that belong to no .seg file (schema, segdsl.toml); shown on every open file.
    global_problems: list[Located]
    #: The first declaration of each split and holdout name that parsed.
    split_defs: dict[str, ast.Split] = attrs.Factory(dict)
    holdout_defs: dict[str, ast.Holdout] = attrs.Factory(dict)

    def segment_names(self) -> list[str]:
        names: dict[str, None] = {}
        for doc in self.documents.values():
            for d in doc.outline.decls:
                names.setdefault(d.name, None)
        return list(names)

    def declarations(self, name: str) -> list[tuple[Document, int, int]]:
        return [
            (doc, o.start, o.end)
            for doc in self.documents.values()
            for o in doc.outline.occurrences
            if o.declaration and o.name == name
        ]


class ProjectState:
    """Caches for one project: disk texts, parsed pieces, the schema, the file list."""

    def __init__(self, project: Project):
        self.project = project
        self._files: list[str] | None = None
        self._disk: dict[str, tuple[tuple[int, int], str, list[Diagnostic]]] = {}
        self._pieces: dict[str, dict[str, list[tuple[str, ParseResult]]]] = {}
        self._docs: dict[str, Document] = {}
        self._schema: tuple[tuple[int, int] | None, Schema | None, list[Diagnostic]] | None = None
        self._refresh = False
        self.snapshot: Snapshot | None = None

    # ------------------------------------------------------------------ inputs

    def refresh_files(self) -> None:
        """Forget the file list and disk texts (after a save or a change on disk), before
        the next analysis: one may be running in the server's worker thread now."""
        self._refresh = True

    def _forget(self) -> None:
        self._refresh = False
        self._files = None
        self._disk.clear()
        self._schema = None

    def files(self) -> list[str]:
        if self._files is None:
            root = self.project.root
            found = []
            for p in sorted(root.rglob("*.seg")):
                if not any(part.startswith(".") for part in p.relative_to(root).parts) and p.is_file():
                    found.append(str(p.resolve()))
            self._files = found
        return self._files

    def schema(self) -> tuple[Schema | None, list[Diagnostic]]:
        path = self.project.schema_path
        stamp = _stamp(path)
        if self._schema is None or self._schema[0] != stamp:
            schema, diags = load_schema(path)
            self._schema = (stamp, schema, diags)
        return self._schema[1], self._schema[2]

    def _disk_text(self, path: str) -> tuple[str, list[Diagnostic]] | None:
        stamp = _stamp(Path(path))
        if stamp is None:
            self._disk.pop(path, None)
            return None
        cached = self._disk.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        problems: list[Diagnostic] = []
        try:
            text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        except UnicodeDecodeError:
            src, problems = decode_source(path, data)
            text = src.text if src is not None else ""
        self._disk[path] = (stamp, text, problems)
        return text, problems

    # ---------------------------------------------------------------- analysis

    def document(self, path: str, text: str, version: int | None, problems: list[Diagnostic] = (),
                 scanned: MutableMapping[str, Document] | None = None) -> Document:
        cached = self._docs.get(path)
        if cached is not None and cached.text == text:
            cached.version = version
            return cached
        doc = build_document(path, text, version, list(problems), self._pieces.setdefault(path, {}), scanned)
        self._docs[path] = doc
        return doc

    def analyze(self, overlays: Mapping[str, tuple[str, int | None]],
                scanned: MutableMapping[str, Document] | None = None) -> Snapshot:
        """Check the project with ``overlays`` (path → open buffer text, version) over disk.
        ``scanned`` is shared with the server's requests (see :func:`build_document`)."""
        if self._refresh:
            self._forget()
        schema, schema_diags = self.schema()
        docs: dict[str, Document] = {}
        # Files on disk first, open buffers after: a name clash is then reported where
        # the user is typing, not in the file that was there first.
        paths = [p for p in self.files() if p not in overlays] + sorted(overlays)
        for path in paths:
            if path in overlays:
                text, version = overlays[path]
                docs[path] = self.document(path, text, version, scanned=scanned)
                continue
            disk = self._disk_text(path)
            if disk is not None:
                docs[path] = self.document(path, disk[0], None, disk[1])
        for gone in set(self._docs) - set(docs):
            del self._docs[gone]
            self._pieces.pop(gone, None)
        self.snapshot = analyze_documents(self.project, schema, schema_diags, docs)
        return self.snapshot


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def build_document(
    path: str,
    text: str,
    version: int | None,
    problems: list[Diagnostic],
    cache: dict[str, list[tuple[str, ParseResult]]],
    scanned: MutableMapping[str, Document] | None = None,
) -> Document:
    """Scan and parse ``text``, reusing the pieces of ``cache`` whose text is unchanged.

    ``scanned`` (path → the lexical document of the latest text scanned) is shared with
    the requests the server answers meanwhile: a scan made for either is made once, and
    the scan of a check is there for requests before the check's slow part begins."""
    known = scanned.get(path) if scanned is not None else None
    if known is not None and known.text is text:
        sc, out, index = known.scan, known.outline, known.index
    else:
        lexical = lexical_document(path, text, version)
        sc, out, index = lexical.scan, lexical.outline, lexical.index
        if scanned is not None:
            scanned[path] = lexical
    pieces: list[Piece] = []
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        problems = problems + [
            error("E0003", f"source is larger than {MAX_SOURCE_BYTES:,} bytes", Span(path, 0, 0),
                  help="split the segments over several files")
        ]
    else:
        fresh: dict[str, list[tuple[str, ParseResult]]] = {}
        bounds = list(out.cuts) + [len(text)]
        for start, end in zip(bounds, bounds[1:]):
            piece_text = text[start:end]
            reusable = cache.get(piece_text)
            if reusable:
                synthetic, result = reusable.pop()
            else:
                synthetic = f"{path}{_SEP}{next(_ids)}"
                result = parse_source(synthetic, piece_text)
            fresh.setdefault(piece_text, []).append((synthetic, result))
            pieces.append(Piece(start, synthetic, result))
        cache.clear()
        cache.update(fresh)
    return Document(path, text, version, index, sc, out, pieces, problems)


def lexical_document(path: str, text: str, version: int | None) -> Document:
    """``text`` scanned but not parsed: what requests need of the current text (tokens,
    declarations, positions) while its analysis has not caught up with it yet."""
    sc = scan(text)
    return Document(path, text, version, LineIndex(text), sc, outline(text, sc), [], [])


def analyze_documents(
    project: Project | None,
    schema: Schema | None,
    schema_diags: Iterable[Diagnostic],
    docs: dict[str, Document],
) -> Snapshot:
    origin: dict[str, tuple[str, int]] = {}
    modules: list[ast.Module] = []
    module_doc: dict[str, Document] = {}
    raw: list[Diagnostic] = []
    broken_names: set[str] = set()
    for doc in docs.values():
        raw.extend(doc.problems)
        ends = [p.start for p in doc.pieces[1:]] + [len(doc.text)]
        for piece, end in zip(doc.pieces, ends):
            origin[piece.path] = (doc.path, piece.start)
            raw.extend(piece.result.diagnostics)
            if piece.result.module is not None:
                modules.append(piece.result.module)
                module_doc[piece.path] = doc
            else:
                broken_names.update(d.name for d in doc.outline.decls if piece.start <= d.start < end)

    segments: Mapping[str, ir.Segment] = {}
    if schema is not None:
        checked = check_modules(modules, schema)
        segments = checked.segments
        raw.extend(checked.diagnostics)
    # The project's [lint] and `# segdsl: ignore[...]` comments, as `segdsl check` applies them.
    pieces = {p.path: p.result.source for doc in docs.values() for p in doc.pieces if p.result.source is not None}
    raw = apply_lint(raw, modules, pieces, project.lint if project is not None else LintConfig())

    defs: dict[str, tuple[Document, ast.SegmentDef]] = {}
    split_defs: dict[str, ast.Split] = {}
    holdout_defs: dict[str, ast.Holdout] = {}
    for module in modules:
        for seg in module.segments:
            defs.setdefault(seg.name, (module_doc[module.path], seg))
        for sp in module.splits:
            split_defs.setdefault(sp.name, sp)
        for h in module.holdouts:
            holdout_defs.setdefault(h.name, h)

    def resolve(span: Span | None) -> Where | None:
        if span is None:
            return None
        home = origin.get(span.path)
        if home is not None:
            return Where(home[0], home[1] + span.start, home[1] + span.end)
        path = span.path
        if path and not Path(path).is_absolute():
            path = str(Path(path).resolve())
        return Where(path, span.start, span.end)

    by_doc: dict[str, list[Located]] = {path: [] for path in docs}
    global_problems: list[Located] = []
    for d in list(schema_diags) + raw:
        where = resolve(d.span)
        if d.code == "E0108" and where is not None and where.path in docs:
            name = docs[where.path].text[where.start : where.end]
            if name in broken_names:
                continue  # declared in a piece that does not parse yet; that error says it
        labels = tuple((w, lb.message) for lb in d.labels if (w := resolve(lb.span)) is not None)
        located = Located(d, where, labels)
        if where is not None and where.path in by_doc:
            by_doc[where.path].append(located)
        else:
            global_problems.append(located)
    for items in by_doc.values():
        items.sort(key=lambda x: (x.where.start, x.diagnostic.code))
    return Snapshot(project, schema, docs, segments, defs, by_doc, global_problems, split_defs, holdout_defs)


def relocate(span: Span, doc: Document) -> Where:
    """A span from one of ``doc``'s pieces (an AST node's), as offsets in ``doc``."""
    for piece in doc.pieces:
        if piece.path == span.path:
            return Where(doc.path, piece.start + span.start, piece.start + span.end)
    return Where(doc.path, span.start, span.end)
