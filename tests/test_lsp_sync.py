"""The server's copy of a buffer stays the editor's copy: incremental edits land where
the editor put them, whatever line separators the text holds.

LSP ends a line at ``\\n``, ``\\r\\n`` or ``\\r`` and nowhere else; U+2028, U+2029 and
U+0085 are ordinary characters to it. A server that splits lines any other way applies
the next edit on the wrong line, and a formatting request then returns edits computed
on a text the editor never had.
"""

from __future__ import annotations

import shutil
import sys
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
    client = pytest_lsp.make_test_lsp_client()

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
