"""The segdsl language server (pygls, JSON-RPC over stdio).

Every open ``.seg`` buffer belongs to the project found upward from its path; a change
re-checks that project (the open buffers over the files on disk) in a worker thread
(:mod:`segdsl.lsp.runs`) and then republishes the diagnostics of each of its open
documents. Requests never wait for a check: they read the latest finished one, over a
lexical view (tokens, declarations, positions) of the current text when the check has
not caught up with it yet. Segment sizes (a hover) run in a worker thread too, and a
hover never waits long for one.
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
    lexical_document,
)
from segdsl.lsp.convert import lsp_range, to_lsp, uri_of
from segdsl.lsp.sizing import SizeCache
from segdsl.lsp.buffers import Buffers
from segdsl.lsp.runs import Runner
from segdsl.lsp.text import UTF8, UTF16, UTF32, LineIndex, clear_scan_cache
from segdsl.project.workspace import CONFIG_NAME, find_project, load_workspace

log = logging.getLogger("segdsl.lsp")

_REQUEST_FAILED = int(types.LSPErrorCodes.RequestFailed)
_CONTENT_MODIFIED = int(types.LSPErrorCodes.ContentModified)

#: How long a hover waits for a segment's size before answering without it.
HOVER_WAIT_SECONDS = 2.0
#: How long a request waits for a running check before answering from the last one
#: (over the current text), and how long when the document has never been checked.
CHECK_WAIT_SECONDS = 0.2
FIRST_CHECK_WAIT_SECONDS = 2.0
#: How long after the last document closes the server releases what documents needed.
IDLE_RELEASE_SECONDS = 30.0

_COMPLETION_KIND = {
    "field": types.CompletionItemKind.Field,
    "keyword": types.CompletionItemKind.Keyword,
    "value": types.CompletionItemKind.EnumMember,
    "segment": types.CompletionItemKind.Class,
    "cadence": types.CompletionItemKind.EnumMember,
    "source": types.CompletionItemKind.Struct,
    "split": types.CompletionItemKind.Class,
    "holdout": types.CompletionItemKind.Class,
    "arm": types.CompletionItemKind.EnumMember,
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

    # Plain functions, not generators as pygls's own: pygls files the future of each
    # generator-run notification under a fresh id and never removes it (about 1.3 KB
    # per keystroke, kept for the whole session). The handlers these call are plain too.

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self.buffers.open(params.text_document)
        self._then(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self.buffers.change(params, self.position_encoding())
        self._then(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self.buffers.close(params.text_document.uri)
        self._then(types.TEXT_DOCUMENT_DID_CLOSE, params)

    def _then(self, method: str, params) -> None:
        if (handler := self.fm.features.get(method)) is not None:
            handler(params)

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
    #: The text handed to the latest check (it is scanned first: see ``recent``).
    checking: str | None = None
    #: Whether the project's sizes were requested since this document opened.
    sized: bool = False


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
        self.runs = Runner()
        #: path → the latest text of an open document scanned, by a check or a request.
        self.scanned: dict[str, Document] = {}
        self._reported_crash = False
        self._release: asyncio.TimerHandle | None = None

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
        """Re-check ``od``'s project in the worker thread; its open documents' diagnostics
        are published when the check ends (unless newer text is waiting: see runs.py)."""
        key = run_key(od)
        self.runs.schedule(key, lambda: self._work(key), lambda snap: self._finished(key, snap), self._failed)

    def _work(self, key: tuple[str, str]):
        """The inputs of a check of ``key``, read now; the check itself for the worker."""
        kind, name = key
        if kind == "file":
            od = self.open_docs.get(name)
            if od is None or od.project is not None:
                return None
            text, version = self.text_of(od.uri)
            path, cache, scanned = od.path, od.cache, self.scanned
            od.checking = text
            return lambda: analyze_documents(None, None, [], {path: build_document(path, text, version, [], cache, scanned)})
        state = self.projects.get(name)
        members = [o for o in self.open_docs.values() if o.project == name]
        if state is None or not members:
            return None
        overlays = {o.path: self.text_of(o.uri) for o in members}
        for o in members:
            o.checking = overlays[o.path][0]
        scanned = self.scanned
        return lambda: state.analyze(overlays, scanned)

    def _finished(self, key: tuple[str, str], snapshot: Snapshot) -> None:
        kind, name = key
        if kind == "file":
            od = self.open_docs.get(name)
            if od is not None and od.project is None:
                od.snapshot = snapshot
                self.publish(od, od.problems)
            return
        members = [o for o in self.open_docs.values() if o.project == name]
        for o in members:
            o.snapshot = snapshot
            self.publish(o, snapshot.diagnostics.get(o.path, []) + snapshot.global_problems)
        if any(not o.sized for o in members) and snapshot.schema is not None and snapshot.project is not None:
            for o in members:
                o.sized = True
            # Size the project's segments in the background, so the first hover has them.
            self.sizes.request(list(snapshot.segments.values()), snapshot.schema, snapshot.project.data_dir)

    def opened(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None

    def closed(self) -> None:
        """After a close: with no document left open, release what documents needed
        (the sizing process, cached sizes and token lines) once idle for a while."""
        if self.open_docs or self._release is not None:
            return
        self._release = asyncio.get_running_loop().call_later(IDLE_RELEASE_SECONDS, self._release_idle)

    def _release_idle(self) -> None:
        self._release = None
        if not self.open_docs:
            self.sizes.release()
            clear_scan_cache()
            gc.collect()

    def _failed(self, exc: BaseException) -> None:
        log.error("checking failed", exc_info=exc)
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
        """The latest check of ``uri``'s project and ``uri``'s document at its current
        text: the checked one, or a scan of the newer text (positions in a request refer
        to the text the editor has now, never to an older one)."""
        od = self.open_docs.get(uri)
        if od is None:
            return None
        text, version = self.text_of(uri)
        snapshot = od.snapshot
        doc = snapshot.documents.get(od.path) if snapshot is not None else None
        if doc is not None and (doc.text is text or doc.text == text):
            return snapshot, doc
        fresh = self.scanned.get(od.path)
        if fresh is None or (fresh.text is not text and fresh.text != text):
            fresh = self.scanned[od.path] = lexical_document(od.path, text, version)
        if snapshot is None:
            return Snapshot(None, None, {od.path: fresh}, {}, {}, {}, []), fresh
        return attrs.evolve(snapshot, documents={**snapshot.documents, od.path: fresh}), fresh

    async def recent(self, uri: str) -> tuple[Snapshot, Document] | None:
        """As :meth:`current`, after waiting a little for a check that is running: up to
        :data:`CHECK_WAIT_SECONDS` for it to end (:data:`FIRST_CHECK_WAIT_SECONDS` for a
        document never checked), unless checks of this project take longer than that
        anyway. If the running check is of the current text, its scan of that text is
        waited for: it is all a request needs, and the check makes it first (scanning
        here too would only share the CPU with the check)."""
        od = self.open_docs.get(uri)
        if od is None:
            return None
        key = run_key(od)
        loop = asyncio.get_running_loop()
        start = loop.time()
        budget = CHECK_WAIT_SECONDS if od.snapshot is not None else FIRST_CHECK_WAIT_SECONDS
        if self.runs.durations.get(key, 0.0) > budget:
            budget = 0.0  # a long check: the last one's results over the current text
        while self.runs.busy(key):
            text, _ = self.text_of(uri)
            scanned = self.scanned.get(od.path)
            ready = scanned is not None and scanned.text is text
            limit = FIRST_CHECK_WAIT_SECONDS if od.checking is text and not ready else budget
            if loop.time() - start >= limit:
                break
            await asyncio.sleep(0.005)
        return self.current(uri)

    async def checked(self, uri: str) -> tuple[Snapshot, Document] | None:
        """As :meth:`current`, once the check of the current text has finished (for
        requests whose answer must hold for every file of the project, as a rename)."""
        od = self.open_docs.get(uri)
        if od is not None:
            await self.runs.settled(run_key(od))
        return self.current(uri)

    def offset(self, doc: Document, pos: types.Position) -> int:
        return doc.index.offset(pos.line, pos.character, self.encoding)

    def range(self, doc: Document, start: int, end: int) -> types.Range:
        return lsp_range(doc.index, start, end, self.encoding)


def run_key(od: OpenDoc) -> tuple[str, str]:
    """What one check covers: a project, or one file outside any project."""
    return ("project", od.project) if od.project is not None else ("file", od.uri)


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
    ls.opened()
    od = ls.attach(params.text_document.uri)
    ls.open_docs[od.uri] = od
    ls.analyze(od)


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
    if od is not None and not any(o.path == od.path for o in ls.open_docs.values()):
        ls.scanned.pop(od.path, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))
    if od is not None and od.project is not None:
        others = [o for o in ls.open_docs.values() if o.project == od.project]
        if others:
            ls.analyze(others[0])  # the closed buffer's unsaved text no longer counts
        else:
            del ls.projects[od.project]
            ls.runs.forget(run_key(od))
    elif od is not None:
        ls.runs.forget(run_key(od))
    ls.closed()


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
    ls.runs.shutdown()


# ------------------------------------------------------------------- requests


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: SegdslServer, params: types.HoverParams) -> types.Hover | None:
    found = await ls.recent(params.text_document.uri)
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
async def on_completion(ls: SegdslServer, params: types.CompletionParams) -> types.CompletionList | None:
    found = await ls.recent(params.text_document.uri)
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
async def on_definition(ls: SegdslServer, params: types.DefinitionParams) -> list[types.Location] | None:
    found = await ls.recent(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return [types.Location(uri_of(f.doc.path), ls.range(f.doc, f.occurrence.start, f.occurrence.end))
            for f in navigation.definitions(snapshot, occ.name)] or None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
async def on_references(ls: SegdslServer, params: types.ReferenceParams) -> list[types.Location] | None:
    found = await ls.recent(params.text_document.uri)
    if found is None:
        return None
    snapshot, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return [types.Location(uri_of(f.doc.path), ls.range(f.doc, f.occurrence.start, f.occurrence.end))
            for f in navigation.occurrences(snapshot, occ.name, params.context.include_declaration)]


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
async def on_prepare_rename(ls: SegdslServer, params: types.PrepareRenameParams):
    found = await ls.recent(params.text_document.uri)
    if found is None:
        return None
    _, doc = found
    occ = navigation.occurrence_at(doc, ls.offset(doc, params.position))
    if occ is None:
        return None
    return types.PrepareRenamePlaceholder(range=ls.range(doc, occ.start, occ.end), placeholder=occ.name)


@server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
async def on_rename(ls: SegdslServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    # Every open file of the project is edited: wait for the check of their current texts.
    found = await ls.checked(params.text_document.uri)
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
async def on_symbols(ls: SegdslServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
    found = await ls.recent(params.text_document.uri)
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
async def on_formatting(ls: SegdslServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    uri = params.text_document.uri
    od = ls.open_docs.get(uri)
    buf = ls.protocol.buffers.get(uri)
    if od is None or buf is None:
        return None
    if importlib.util.find_spec("segdsl.syntax.formatter") is None:
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Warning, "segdsl: this version has no formatter (segdsl.syntax.formatter)"))
        return None
    from segdsl.syntax.formatter import format_source

    # The editor's text now, formatted in the worker thread (a large file takes seconds);
    # the edit is computed against that very text, and refused if the text moved on.
    text = buf.text
    formatted, _diagnostics = await ls.runs.call(format_source, text, od.path)
    if buf.text is not text and buf.text != text:
        raise JsonRpcException("the document changed while it was being formatted", code=_CONTENT_MODIFIED)
    if formatted is None or formatted == text:
        return [] if formatted is not None else None  # syntax errors: the diagnostics show them
    return [types.TextEdit(lsp_range(LineIndex(text), 0, len(text), ls.encoding), formatted)]


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
    """pygls logs every error response with a traceback; a refused rename, or a format
    overtaken by an edit, is not a crash."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (isinstance(exc, JsonRpcException) and exc.code in (_REQUEST_FAILED, _CONTENT_MODIFIED))


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
