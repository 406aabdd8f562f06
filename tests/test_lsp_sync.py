"""The server's copy of a buffer stays the editor's copy: incremental edits land where
the editor put them, whatever line separators the text holds.

LSP ends a line at ``\\n``, ``\\r\\n`` or ``\\r`` and nowhere else; U+2028, U+2029 and
U+0085 are ordinary characters to it. A server that splits lines any other way applies
the next edit on the wrong line, and a formatting request then returns edits computed
on a text the editor never had.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls.lsp.server", reason="the language server needs pygls 2 (pip install 'pygls>=2')")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parent.parent
HOSPITALITY = ROOT / "examples" / "hospitality"
SERVER = [sys.executable, "-m", "segdsl.lsp"]

lsp_test = pytest.mark.asyncio(loop_scope="module")


def lsp_lines(text: str) -> list[int]:
    """Offsets where LSP lines start: after ``\\n``, ``\\r\\n`` and a lone ``\\r`` only."""
    starts = [0]
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            i += 1
        if ch in "\r\n":
            starts.append(i + 1)
        i += 1
    return starts


def units(s: str, encoding: str) -> int:
    if encoding == "utf-16":
        return len(s.encode("utf-16-le")) // 2
    return len(s)


def position(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    starts = lsp_lines(text)
    line = max(i for i, s in enumerate(starts) if s <= offset)
    return types.Position(line, units(text[starts[line] : offset], encoding))


def offset_of(text: str, pos: types.Position, encoding: str = "utf-16") -> int:
    starts = lsp_lines(text)
    start = starts[pos.line]
    i, n = start, 0
    while n < pos.character:
        n += units(text[i], encoding)
        i += 1
    return i


def apply_edits(text: str, edits, encoding: str = "utf-16") -> str:
    spans = sorted(((offset_of(text, e.range.start, encoding), offset_of(text, e.range.end, encoding), e.new_text)
                    for e in edits), reverse=True)
    for s, e, new in spans:
        text = text[:s] + new + text[e:]
    return text


def uri(path: Path) -> str:
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sync")
    shutil.copy(HOSPITALITY / "schema.toml", root / "schema.toml")
    (root / "segdsl.toml").write_text('schema = "schema.toml"\n', encoding="utf-8")
    return root


def make_client() -> LanguageClient:
    """pytest-lsp's client, keeping every publishDiagnostics."""
    client = pytest_lsp.make_test_lsp_client()
    client.published = []
    original = client.protocol._handle_notification

    def handle(method, params):
        if method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            client.published.append(params)
        return original(method, params)

    client.protocol._handle_notification = handle

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        pass

    return client


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER, client_factory=make_client))
async def client(lsp_client: LanguageClient, project: Path):
    lsp_client.init_result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=uri(project)))
    yield
    await lsp_client.shutdown_session()


async def published(client, path: Path, version: int, timeout: float = 30):
    """The diagnostics published for ``path`` at ``version``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for params in client.published:
            if params.uri == uri(path) and params.version == version:
                return params
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {path.name} version {version}")


async def format_edits(client, path: Path):
    return await client.text_document_formatting_async(types.DocumentFormattingParams(
        types.TextDocumentIdentifier(uri(path)), types.FormattingOptions(tab_size=4, insert_spaces=True)))


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
@lsp_test
async def test_an_edit_after_a_unicode_line_separator_lands_on_its_line(client, project: Path, separator: str):
    """The issue's reproduction: a U+2028 in a string on the first line, then `segment b`'s
    `ltv > 2` changed to 3, then formatting. The editor's buffer must end with b
    changed, not a."""
    path = project / f"sep_{ord(separator):04x}.seg"
    text = (f'segment c {{ description "one{separator}two" }}\n'
            "segment a { where ltv > 1 }\n"
            "segment b { where ltv > 2 }\n")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri(path), language_id="segdsl", version=1, text=text)))
    at = text.index("ltv > 2") + len("ltv > ")
    start, end = position(text, at), position(text, at + 1)
    assert start.line == 2
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
        [types.TextDocumentContentChangePartial(range=types.Range(start, end), text="3")]))
    edited = text[:at] + "3" + text[at + 1 :]
    edits = await format_edits(client, path)
    assert edits is not None
    after = apply_edits(edited, edits)
    assert "segment a {\n    where ltv > 1\n}" in after
    assert "segment b {\n    where ltv > 3\n}" in after
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri(path))))


@lsp_test
async def test_a_comment_ends_at_a_lone_cr_in_the_editor_too(client, project: Path):
    """What the editor shows on the line after `# note<CR>` is checked as code, and a
    U+2028 in a comment is reported where the editor shows it."""
    path = project / "cr.seg"
    text = "segment a {\r    where ltv > 1 # note\r      and bogus\r}\r# x\u2028y\r\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri(path), language_id="segdsl", version=1, text=text)))
    params = await published(client, path, 1)
    found = sorted((d.code, d.range.start.line, d.range.start.character) for d in params.diagnostics)
    assert found == [("E0005", 4, 3)]  # the separator stops the parse; once it is gone:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
        [types.TextDocumentContentChangePartial(range=types.Range(types.Position(4, 3), types.Position(4, 4)),
                                                text="")]))
    params = await published(client, path, 2)
    found = sorted((d.code, d.range.start.line, d.range.start.character) for d in params.diagnostics)
    assert found == [("E0101", 2, 10)]
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri(path))))


# ------------------------------------------------------------------ replayed edits

#: What random edits insert: every LSP line end, the characters other line-splitters
#: break at, astral characters (two UTF-16 units), and some of the language.
PIECES = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\u0085", "😀", "𝔘", "é", " ", "  ", "#", '"', "a", "ltv",
          " > 1", "segment x {", "}", "where ", "\t"]


def debug_env() -> dict[str, str]:
    return {**os.environ, "SEGDSL_LSP_DEBUG": "1"}


@pytest_lsp.fixture(scope="module", params=["utf-16", "utf-32"],
                    config=ClientServerConfig(server_command=SERVER, client_factory=make_client, server_env=debug_env()))
async def replay_client(lsp_client: LanguageClient, project: Path, request):
    caps = client_capabilities("visual-studio-code")
    if request.param == "utf-32":
        caps.general = types.GeneralClientCapabilities(position_encodings=["utf-32", "utf-16"])
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=caps, root_uri=uri(project)))
    assert lsp_client.init_result.capabilities.position_encoding == request.param
    lsp_client.encoding = request.param
    yield
    await lsp_client.shutdown_session()


def boundaries(text: str) -> list[int]:
    """Offsets an editor can put a cursor at: not inside a CRLF."""
    return [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")]


def valid_document(rnd: random.Random) -> str:
    """A document that parses, with every kind of line end and separators in strings."""
    ends = ["\n", "\r\n", "\r"]
    out = []
    for i in range(rnd.randint(2, 5)):
        title = "".join(rnd.choice(["a", "é", "😀", "\u2028", "\u2029", " ", "𝔘"]) for _ in range(rnd.randint(0, 6)))
        out.append(rnd.choice(["", "# 😀 note", "# 𝔘"]) + rnd.choice(ends))
        out.append(f'segment s{i} "{title}" {{' + rnd.choice(ends))
        out.append(f"  where  ltv>{rnd.randint(0, 99)}" + rnd.choice(ends))
        out.append(f"     and email_opt_in # 😀{rnd.choice(ends)}" if rnd.random() < 0.5 else "")
        out.append("}" + rnd.choice(ends) + rnd.choice(["", "\r\n", "\n\r"]))
    return "".join(out)


def diff_changes(old: str, new: str) -> list[tuple[int, int, str]]:
    """Edits turning ``old`` into ``new``, last first (so offsets stay valid)."""
    import difflib

    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return [(i1, i2, new[j1:j2]) for tag, i1, i2, j1, j2 in reversed(ops) if tag != "equal"]


async def server_text(client, path: Path) -> str:
    result = await client.protocol.send_request_async("segdsl/debug/buffer", {"uri": uri(path)})
    return result.text


@pytest.mark.parametrize("seed", [1, 2, 3])
@lsp_test
async def test_replayed_edits_keep_the_servers_copy_equal_to_the_editors(replay_client, project: Path, seed: int):
    """Random incremental edits (single and batched, over CR, CRLF, U+2028, U+2029,
    U+0085 and astral characters), the server's copy compared after each; then edits
    to a valid document, its diagnostics, and a formatting request whose edits give,
    applied to the editor's text, exactly what the formatter makes of that text."""
    from segdsl.syntax.formatter import format_source

    client = replay_client
    enc = client.encoding
    rnd = random.Random(seed)
    path = project / f"replay_{enc}_{seed}.seg"
    text = valid_document(rnd)
    version = 1
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri(path), language_id="segdsl", version=version, text=text)))

    def change(start: int, end: int, new: str, current: str) -> types.TextDocumentContentChangePartial:
        rng = types.Range(position(current, start, enc), position(current, end, enc))
        return types.TextDocumentContentChangePartial(range=rng, text=new)

    def send(changes) -> None:
        nonlocal version
        version += 1
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri(path), version=version), changes))

    for step in range(60):
        batch = []
        for _ in range(rnd.choice([1, 1, 1, 2, 3])):
            cuts = boundaries(text)
            start = rnd.choice(cuts)
            end = rnd.choice([c for c in cuts if start <= c <= start + 8])
            new = "".join(rnd.choice(PIECES) for _ in range(rnd.choice([0, 1, 1, 2, 4])))
            batch.append(change(start, end, new, text))
            text = text[:start] + new + text[end:]
        send(batch)
        assert await server_text(client, path) == text, f"step {step}"

    # Back to a document that parses, by small edits computed from a diff.
    target = valid_document(rnd).replace("email_opt_in", "bogus_field", 1)
    if "bogus_field" not in target:
        target = target.replace("ltv", "bogus_field", 1)
    for start, end, new in diff_changes(text, target):
        # A cut between CR and LF is not a place an editor edits; replace the whole CRLF.
        if 0 < start < len(text) and text[start - 1] == "\r" and text[start] == "\n":
            start, new = start - 1, "\r" + new
        if 0 < end < len(text) and text[end - 1] == "\r" and text[end] == "\n":
            end, new = end + 1, new + "\n"
        send([change(start, end, new, text)])
        text = text[:start] + new + text[end:]
    assert text == target
    assert await server_text(client, path) == text

    # Diagnostics land where the editor shows the bad name.
    diags = await published(client, path, version)
    bad = text.index("bogus_field")
    assert [(d.code, d.range.start, d.range.end) for d in diags.diagnostics] == [
        ("E0101", position(text, bad, enc), position(text, bad + len("bogus_field"), enc))]

    expected, problems = format_source(text, str(path))
    assert expected is not None and expected != text, problems
    edits = await format_edits(client, path)
    assert apply_edits(text, edits, enc) == expected
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri(path))))
