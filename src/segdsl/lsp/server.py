"""The segdsl language server (pygls, JSON-RPC over stdio).

Every open ``.seg`` buffer belongs to the project found upward from its path; a change
re-checks that project (the open buffers over the files on disk) and republishes the
diagnostics of each of its open documents. Requests read the latest analysis; only
segment sizes (a hover) run in a worker thread, and a hover never waits long for one.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import os
from pathlib import Path

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from segdsl.lsp import completion, hover, navigation
from segdsl.lsp.analysis import (
    Document,
    Located,
    ProjectState,
    Snapshot,
    Where,
    analyze_documents,
    build_document,
)
from segdsl.lsp.convert import lsp_range, to_lsp, uri_of
from segdsl.lsp.sizing import SizeCache
from segdsl.lsp.buffers import Buffers
from segdsl.lsp.text import UTF8, UTF16, UTF32
from segdsl.project.workspace import CONFIG_NAME, find_project, load_workspace

log = logging.getLogger("segdsl.lsp")

_REQUEST_FAILED = int(types.LSPErrorCodes.RequestFailed)

#: How long a hover waits for a segment's size before answering without it.
HOVER_WAIT_SECONDS = 2.0

_COMPLETION_KIND = {
    "field": types.CompletionItemKind.Field,
    "keyword": types.CompletionItemKind.Keyword,
    "value": types.CompletionItemKind.EnumMember,
    "segment": types.CompletionItemKind.Class,
    "cadence": types.CompletionItemKind.EnumMember,
    "source": types.CompletionItemKind.Struct,
}


class SegdslProtocol(LanguageServerProtocol):
    """Agrees on UTF-32 positions (code points, as segdsl spans are) when the client
    offers them, and on UTF-16, the LSP default, otherwise. Keeps the open buffers
    itself (:mod:`segdsl.lsp.buffers`) instead of in pygls's workspace."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.buffers = Buffers()

    def position_encoding(self) -> str:
        """The agreed position encoding (a method: pygls reads every attribute of the
        protocol when it starts, before there is a workspace to ask)."""
        enc = str(getattr(self.workspace.position_encoding, "value", self.workspace.position_encoding) or UTF16)
        return enc if enc in (UTF16, UTF32, UTF8) else UTF16

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self.buffers.open(params.text_document)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        self.buffers.change(params, self.position_encoding())
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self.buffers.close(params.text_document.uri)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        general = params.capabilities.general
        offered = list(general.position_encodings or []) if general is not None else []
        if general is not None:
            general.position_encodings = [types.PositionEncodingKind.Utf32 if types.PositionEncodingKind.Utf32 in offered
                                          else types.PositionEncodingKind.Utf16]
        return (yield from super().lsp_initialize(params))


@attrs.define
class OpenDoc:
    uri: str
    path: str
    #: The key of the project in ``SegdslServer.projects``; None outside any project.
    project: str | None
    #: Outside a project: why, as one diagnostic (E0304, or E0303 for a broken segdsl.toml).
    problems: list[Located] = attrs.Factory(list)
    cache: dict = attrs.Factory(dict)
    snapshot: Snapshot | None = None


class SegdslServer(LanguageServer):
    def __init__(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("segdsl")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            v = "0"
        super().__init__("segdsl", v, protocol_cls=SegdslProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.projects: dict[str, ProjectState] = {}
        self.open_docs: dict[str, OpenDoc] = {}
        self.sizes = SizeCache()
        self._reported_crash = False

    # ------------------------------------------------------------------ model

    @property
    def encoding(self) -> str:
        return self.protocol.position_encoding()

    def attach(self, uri: str) -> OpenDoc:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path is None:
            od = OpenDoc(uri, uri, None)
            od.problems = [Located(_outside(uri), Where(uri, 0, 0), ())]
            return od
        path = str(Path(path).resolve())
        project, _ = find_project(Path(path))
        if project is None:
            od = OpenDoc(uri, path, None)
            ws = load_workspace([Path(path)])  # E0304, or the E0303 of a broken segdsl.toml
            od.problems = [Located(d, Where(path, 0, 0), ()) for d in ws.diagnostics[:1]]
            return od
        key = str(project.config)
        state = self.projects.get(key)
        if state is None or state.project != project:
            state = self.projects[key] = ProjectState(project)
        else:
            state.refresh_files()
        return OpenDoc(uri, path, key)

    def text_of(self, uri: str) -> tuple[str, int | None]:
        buf = self.protocol.buffers.get(uri)
        if buf is not None:
            return buf.text, buf.version
        path = to_fs_path(uri) if uri.startswith("file:") else None
        try:
            return (Path(path).read_text(encoding="utf-8") if path else ""), None
        except (OSError, UnicodeDecodeError):
            return "", None

    def analyze(self, od: OpenDoc) -> None:
        """Re-check ``od``'s project and publish diagnostics for its open documents."""
        try:
            if od.project is None:
                text, version = self.text_of(od.uri)
                doc = build_document(od.path, text, version, [], od.cache)
                od.snapshot = analyze_documents(None, None, [], {od.path: doc})
                self.publish(od, od.problems)
                return
            state = self.projects[od.project]
            members = [o for o in self.open_docs.values() if o.project == od.project]
            overlays = {o.path: self.text_of(o.uri) for o in members}
            snapshot = state.analyze(overlays)
            for o in members:
                o.snapshot = snapshot
                self.publish(o, snapshot.diagnostics.get(o.path, []) + snapshot.global_problems)
        except Exception:
            log.exception("analysis failed for %s", od.uri)
            if not self._reported_crash:
                self._reported_crash = True
                self.window_show_message(types.ShowMessageParams(
                    types.MessageType.Error,
                    "segdsl: checking this file failed (a bug in segdsl); see the server log"))

    def publish(self, od: OpenDoc, items: list[Located]) -> None:
        snapshot = od.snapshot
        doc = snapshot.documents.get(od.path) if snapshot is not None else None
        related = bool(_capability(self, "text_document", "publish_diagnostics", "related_information"))
        documents = snapshot.documents if snapshot is not None else {}
        diagnostics = [to_lsp(item, doc, documents, self.encoding, related) for item in items]
        version = doc.version if doc is not None else None
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=od.uri, diagnostics=diagnostics, version=version)
        )

    def current(self, uri: str) -> tuple[Snapshot, Document] | None:
        od = self.open_docs.get(uri)
        if od is None or od.snapshot is None:
            return None
        doc = od.snapshot.documents.get(od.path)
        return (od.snapshot, doc) if doc is not None else None

    def offset(self, doc: Document, pos: types.Position) -> int:
        return doc.index.offset(pos.line, pos.character, self.encoding)

    def range(self, doc: Document, start: int, end: int) -> types.Range:
        return lsp_range(doc.index, start, end, self.encoding)


def _outside(uri: str):
    from segdsl.diagnostics import error
    from segdsl.syntax.span import Span

    return error("E0304", "no schema: this file is not in a segdsl project", Span(uri, 0, 0),
                 help="save it in a directory with a segdsl.toml (or below one)")


def _capability(server: LanguageServer, *names: str):
    obj = server.client_capabilities
    for name in names:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


server = SegdslServer()


# ------------------------------------------------------------------ documents


@server.feature(types.INITIALIZED)
def initialized(ls: SegdslServer, params: types.InitializedParams) -> None:
    if _capability(ls, "workspace", "did_change_watched_files", "dynamic_registration"):
        watchers = [types.FileSystemWatcher(glob_pattern=g) for g in ("**/*.seg", "**/*.toml")]
        ls.client_register_capability(types.RegistrationParams([
            types.Registration(
                id="segdsl-watch",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
            )
        ]))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: SegdslServer, params: types.DidOpenTextDocumentParams) -> None:
    od = ls.attach(params.text_document.uri)
    ls.open_docs[od.uri] = od
    ls.analyze(od)
    # What exists now (grammar tables, schema, the project's parsed declarations) lives
    # as long as the session: keep it out of the collector's full passes, which would
    # otherwise walk it all and stall a keystroke for ~100 ms in a large project.
    gc.freeze()
    snapshot = od.snapshot
    if snapshot is not None and snapshot.schema is not None and snapshot.project is not None:
        # Size the project's segments in the background, so the first hover has them.
        ls.sizes.request(list(snapshot.segments.values()), snapshot.schema, snapshot.project.data_dir)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SegdslServer, params: types.DidChangeTextDocumentParams) -> None:
    od = ls.open_docs.get(params.text_document.uri)
    if od is not None:
        ls.analyze(od)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SegdslServer, params: types.DidSaveTextDocumentParams) -> None:
    od = ls.open_docs.get(params.text_document.uri)
    if od is not None and od.project is not None:
        ls.projects[od.project].refresh_files()
        ls.analyze(od)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SegdslServer, params: types.DidCloseTextDocumentParams) -> None:
    od = ls.open_docs.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))
    if od is not None and od.project is not None:
        others = [o for o in ls.open_docs.values() if o.project == od.project]
        if others:
            ls.analyze(others[0])  # the closed buffer's unsaved text no longer counts
        else:
            del ls.projects[od.project]


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched(ls: SegdslServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [Path(p).resolve() for c in params.changes if (p := to_fs_path(c.uri)) is not None]
    if any(p.name == CONFIG_NAME for p in paths):
        # A project file appeared, changed or went away: find every open file's project again.
        for uri in list(ls.open_docs):
            ls.open_docs[uri] = ls.attach(uri)
        for key in [k for k in ls.projects if not any(o.project == k for o in ls.open_docs.values())]:
            del ls.projects[key]
        touched = set(ls.projects) | {None}
    else:
        touched = {key for key, state in ls.projects.items() if any(p.is_relative_to(state.project.root) for p in paths)}
    for key in touched:
        if key is not None:
            ls.projects[key].refresh_files()
        for od in [o for o in ls.open_docs.values() if o.project == key][: None if key is None else 1]:
            ls.analyze(od)


@server.feature(types.SHUTDOWN)
def shutdown(ls: SegdslServer, params) -> None:
    ls.sizes.shutdown()


# ------------------------------------------------------------------- requests


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: SegdslServer, params: types.HoverParams) -> types.Hover | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    target = hover.target_at(snapshot, doc, ls.offset(doc, params.position))
    if target is None:
        return None
    if target.kind == "segment":
        text = hover.segment_markdown(snapshot, target.name, await _size_text(ls, snapshot, target.name))
    else:
        text = hover.target_markdown(snapshot, target)
    if text is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=ls.range(doc, target.start, target.end),
    )


async def _size_text(ls: SegdslServer, snapshot: Snapshot, name: str) -> str | None:
    segment = snapshot.segments.get(name)
    if segment is None or snapshot.schema is None or snapshot.project is None:
        return None
    data_dir = snapshot.project.data_dir
    info = ls.sizes.lookup(segment, snapshot.schema, data_dir)
    if info is None:
        pending = ls.sizes.request(list(snapshot.segments.values()), snapshot.schema, data_dir)
        if pending is not None:
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)), HOVER_WAIT_SECONDS)
            except TimeoutError:
                pass  # still computing: this hover says so, the next one has it
            except Exception:  # noqa: BLE001 - the size is optional
                log.exception("sizing failed")
        info = ls.sizes.lookup(segment, snapshot.schema, data_dir)
    return info.describe() if info is not None else "size: still computing (hover again in a moment)"


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[" ", '"', "[", "(", ","]),
)
def on_completion(ls: SegdslServer, params: types.CompletionParams) -> types.CompletionList | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    result = completion.complete(snapshot, doc, ls.offset(doc, params.position))
    rng = ls.range(doc, result.start, result.end)
    items = []
    for i, item in enumerate(result.items):
        text = item.insert or item.label
        items.append(types.CompletionItem(
            label=item.label,
            kind=_COMPLETION_KIND[item.kind],
            detail=item.detail,
            documentation=types.MarkupContent(types.MarkupKind.Markdown, item.doc) if item.doc else None,
            sort_text=f"{i:04d}",
            filter_text=text,
            text_edit=types.TextEdit(rng, text),
        ))
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: SegdslServer, params: types.DefinitionParams) -> list[types.Location] | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return [types.Location(uri_of(f.doc.path), ls.range(f.doc, f.occurrence.start, f.occurrence.end))
            for f in navigation.definitions(snapshot, occ.name)] or None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: SegdslServer, params: types.ReferenceParams) -> list[types.Location] | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return [types.Location(uri_of(f.doc.path), ls.range(f.doc, f.occurrence.start, f.occurrence.end))
            for f in navigation.occurrences(snapshot, occ.name, params.context.include_declaration)]


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: SegdslServer, params: types.PrepareRenameParams):
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    _, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return types.PrepareRenamePlaceholder(range=ls.range(doc, occ.start, occ.end), placeholder=occ.name)


@server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
def on_rename(ls: SegdslServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        raise JsonRpcException("put the cursor on a segment name to rename it", code=_REQUEST_FAILED)
    try:
        spans = navigation.rename_edits(snapshot, occ.name, params.new_name)
    except navigation.RenameError as exc:
        raise JsonRpcException(str(exc), code=_REQUEST_FAILED) from None
    changes = {
        uri_of(path): [types.TextEdit(ls.range(snapshot.documents[path], s, e), params.new_name) for s, e in edits]
        for path, edits in spans.items()
    }
    return types.WorkspaceEdit(changes=changes)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_symbols(ls: SegdslServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    _, doc = found
    return [
        types.DocumentSymbol(
            name=d.name,
            kind=types.SymbolKind.Class,
            range=ls.range(doc, d.start, d.end),
            selection_range=ls.range(doc, d.name_start, d.name_end),
            detail=f"{d.kind} segment" + (f" · {d.title}" if d.title else ""),
        )
        for d in doc.outline.decls
    ]


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: SegdslServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    found = ls.current(params.text_document.uri)
    if found is None:
        return None
    _, doc = found
    if importlib.util.find_spec("segdsl.syntax.formatter") is None:
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Warning, "segdsl: this version has no formatter (segdsl.syntax.formatter)"))
        return None
    from segdsl.syntax.formatter import format_source

    formatted, _diagnostics = format_source(doc.text, doc.path)
    if formatted is None or formatted == doc.text:
        return [] if formatted is not None else None  # syntax errors: the diagnostics show them
    return [types.TextEdit(ls.range(doc, 0, len(doc.text)), formatted)]


# ------------------------------------------------------------------ test hook

#: Not part of the protocol segdsl offers: with ``SEGDSL_LSP_DEBUG=1`` in its
#: environment the server also answers this request with its copy of a buffer
#: (``{"uri": ...}`` → ``{"text": ..., "version": ...}``), so a test can check that the
#: copy is the editor's after every edit. Editors never send it.
DEBUG_BUFFER = "segdsl/debug/buffer"

if os.environ.get("SEGDSL_LSP_DEBUG") == "1":

    @server.feature(DEBUG_BUFFER)
    def debug_buffer(ls: SegdslServer, params) -> dict | None:
        buf = ls.protocol.buffers.get(params.uri)
        return None if buf is None else {"text": buf.text, "version": buf.version}


def _not_a_refusal(record: logging.LogRecord) -> bool:
    """pygls logs every error response with a traceback; a refused rename is not a crash."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (isinstance(exc, JsonRpcException) and exc.code == _REQUEST_FAILED)


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit. Exits with status 1
    if the input could not be read as LSP frames (see :mod:`segdsl.lsp.framing`)."""
    import sys

    from segdsl.lsp.framing import LockedStdout, StrictStdin

    logging.basicConfig(level=logging.WARNING, format="segdsl-lsp %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_not_a_refusal)
    out = LockedStdout(sys.stdout.buffer)
    stdin = StrictStdin(sys.stdin.buffer, out)
    server.start_io(stdin, out)
    if stdin.error is not None:
        sys.exit(1)
