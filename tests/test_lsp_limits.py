"""The language server under abuse: malformed frames, a very large document, many
open/close cycles. Each runs ``python -m segdsl.lsp`` as a real process.

- A frame it cannot read (``Content-Length: abc``) gets a JSON-RPC error and a clean
  exit, never a live server that no longer answers.
- A document whose analysis takes seconds does not block requests: hovers answer
  while it is being checked.
- Opening and closing documents does not grow the server's memory without bound.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls.lsp.server", reason="the language server needs pygls 2 (pip install 'pygls>=2')")

ROOT = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, "-m", "segdsl.lsp"]


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id_: int, method: str, params=None) -> bytes:
    return frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})


INITIALIZE = request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})


class RawServer:
    """The server as a subprocess, spoken to byte by byte."""

    def __init__(self, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        self.buffer = b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        # Read what the server wrote meanwhile: a server blocked writing to a full pipe
        # stops reading its input, and this write would block in turn.
        while self.sel.select(0) and (chunk := self.proc.stdout.read(65536)):
            self.buffer += chunk

    def _fill(self, deadline: float) -> bool:
        """Read what is available; False at end of output or past the deadline."""
        remaining = deadline - time.monotonic()
        if not self.sel.select(max(0.0, remaining)):
            return False
        chunk = self.proc.stdout.read(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def message(self, timeout: float = 10) -> dict | None:
        """The next message from the server, or None (it ended its output, or said nothing in time)."""
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if sep:
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return json.loads(rest[:length])
            if not self._fill(deadline):
                return None

    def response(self, id_, timeout: float = 10) -> dict | None:
        deadline = time.monotonic() + timeout
        while (msg := self.message(max(0.0, deadline - time.monotonic()))) is not None:
            if "id" in msg and msg.get("id") == id_ and "method" not in msg:
                return msg
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def raw_server():
    servers = []

    def start(env=None) -> RawServer:
        servers.append(RawServer(env))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.mark.parametrize("header", [
    b"Content-Length: abc\r\n",
    b"Content-Length: -5\r\n",
    b"Content-Length: 99999999999999\r\n",
    b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",  # no length at all
    b"Content-Length 52\r\n",
])
def test_an_unreadable_frame_gets_an_error_and_a_clean_exit(raw_server, header: bytes):
    server = raw_server()
    server.send(INITIALIZE)
    assert server.response(1)["result"]["capabilities"]
    body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}).encode()
    server.send(header + b"\r\n" + body + request(3, "shutdown"))
    error = server.response(None)
    assert error is not None, "the server neither answered nor exited"
    assert error["error"]["code"] == -32700 and "frame" in error["error"]["message"]
    assert server.proc.wait(10) == 1
    assert b"Traceback" not in server.proc.stderr.read()


def test_a_body_that_is_not_json_does_not_stop_the_server(raw_server):
    server = raw_server()
    server.send(INITIALIZE)
    assert server.response(1) is not None
    server.send(b"Content-Length: 9\r\n\r\n{not json" + request(2, "shutdown"))
    assert server.response(2) == {"jsonrpc": "2.0", "id": 2, "result": None}
    server.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert server.proc.wait(10) == 0


# ------------------------------------------------------------ a check that takes seconds


def lsp_project(root: Path, data: bool = False) -> Path:
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "hospitality" / "schema.toml", root / "schema.toml")
    (root / "segdsl.toml").write_text('schema = "schema.toml"\n' + ('data = "data"\n' if data else ""))
    return root


def notify(method: str, params) -> bytes:
    return frame({"jsonrpc": "2.0", "method": method, "params": params})


class Session:
    """A RawServer with an initialized session and the diagnostics it published."""

    def __init__(self, server: RawServer, root: Path):
        self.server = server
        self.published: list[tuple[float, dict]] = []
        self.ids = iter(range(100, 10**9))
        server.send(request(1, "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}))
        assert self.response(1) is not None
        server.send(notify("initialized", {}))

    def response(self, id_, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while (msg := self.server.message(max(0.0, deadline - time.monotonic()))) is not None:
            if msg.get("method") == "textDocument/publishDiagnostics":
                self.published.append((time.monotonic(), msg["params"]))
            elif msg.get("id") == id_:
                return msg
        return None

    def request(self, method: str, params) -> tuple[float, dict]:
        id_ = next(self.ids)
        start = time.monotonic()
        self.server.send(request(id_, method, params))
        msg = self.response(id_)
        assert msg is not None, f"no answer to {method}"
        return time.monotonic() - start, msg

    def diagnostics(self, uri: str, version: int, timeout: float = 120) -> float:
        """When the diagnostics of ``version`` arrived (waiting for them)."""
        deadline = time.monotonic() + timeout
        while True:
            for t, params in self.published:
                if params["uri"] == uri and params.get("version") == version:
                    return t
            msg = self.server.message(max(0.0, deadline - time.monotonic()))
            assert msg is not None, f"no diagnostics for version {version}"
            if msg.get("method") == "textDocument/publishDiagnostics":
                self.published.append((time.monotonic(), msg["params"]))

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.server.send(notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "segdsl", "version": version, "text": text}}))

    def change(self, uri: str, version: int, line: int, character: int, text: str) -> None:
        pos = {"line": line, "character": character}
        self.server.send(notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": pos, "end": pos}, "text": text}]}))


def test_requests_answer_while_a_long_check_runs(raw_server, tmp_path: Path):
    """A file whose check takes seconds: a hover sent just after a change is answered
    long before that change's diagnostics, and a burst of changes costs one more check,
    not one per change."""
    root = lsp_project(tmp_path / "big")
    conditions = 30_000
    text = "segment big {\n    where " + "\n      and ".join(f"ltv > {i}" for i in range(conditions)) + "\n}\n"
    uri = (root / "big.seg").as_uri()
    session = Session(raw_server(), root)
    start = time.monotonic()
    session.open(uri, text)
    session.diagnostics(uri, 1)
    first = time.monotonic() - start

    start = time.monotonic()
    session.change(uri, 2, 1, len("    where "), "email_opt_in and ")
    hover_time, hover = session.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": {"line": 2, "character": len("      and l")}})
    checked = session.diagnostics(uri, 2) - start
    print(f"\n{len(text):,} characters: first check {first:.2f} s; after a change, hover {hover_time * 1000:.0f} ms, "
          f"diagnostics {checked:.2f} s")
    assert hover["result"]["contents"]["value"].startswith("**ltv**")
    assert hover_time < checked / 2, (hover_time, checked)

    # Five changes at once: the check running for the first is stale when it ends, and
    # one more check covers the other four; their diagnostics are the last version's.
    mark = len(session.published)
    for version in range(3, 8):
        session.change(uri, version, 1, len("    where "), "x")
    session.diagnostics(uri, 7)
    versions = [p.get("version") for _, p in session.published[mark:] if p["uri"] == uri]
    assert versions[-1] == 7 and len(versions) <= 2, versions


# ------------------------------------------------------------------------- memory


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_memory_stays_flat_over_open_close_cycles_and_keystrokes(raw_server, tmp_path: Path):
    """Open, hover (sizes computed), close, 200 times; then 3,000 keystrokes. What
    documents need is released with them, and a notification leaves nothing behind."""
    root = lsp_project(tmp_path / "mem")
    (root / "segdsl.toml").write_text(f'schema = "schema.toml"\ndata = "{ROOT / "seeds" / "hospitality"}"\n')
    base_text = (ROOT / "examples" / "hospitality" / "segments.seg").read_text()
    session = Session(raw_server(), root)
    pid = session.server.proc.pid
    lapsed = base_text.splitlines().index(next(line for line in base_text.splitlines() if "segment lapsed" in line))
    samples = []
    for i in range(200):
        uri = (root / f"doc_{i}.seg").as_uri()
        session.open(uri, base_text + f"\nsegment extra_{i} {{ where ltv > {i} }}\n")
        _, hover = session.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": lapsed, "character": len("segment la")}})
        assert hover["result"]["contents"]["value"].startswith("**lapsed**")
        session.server.send(notify("textDocument/didClose", {"textDocument": {"uri": uri}}))
        if i in (20, 199):
            samples.append(rss_mb(pid))
    uri = (root / "typing.seg").as_uri()
    session.open(uri, base_text)
    session.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    before_typing = rss_mb(pid)
    for version in range(2, 3002):  # type a character, delete it, and again
        if version % 2:
            session.server.send(notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": {
                    "start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "text": ""}]}))
        else:
            session.change(uri, version, 0, 0, "x")
    session.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    after_typing = rss_mb(pid)
    print(f"\nserver memory: {samples[0]:.1f} MB after 20 cycles, {samples[1]:.1f} MB after 200; "
          f"{before_typing:.1f} MB before 3,000 keystrokes, {after_typing:.1f} MB after")
    # Sizes are computed in a separate process: numpy, pyarrow and the data stay out of the server.
    assert samples[1] < 100, samples
    assert samples[1] - samples[0] < 8, samples
    assert after_typing - before_typing < 1.5, (before_typing, after_typing)


def test_the_sizing_process_goes_when_released():
    """Sizes are computed in a separate process, which release() stops: what sizing
    needed (numpy, pyarrow, the data) leaves with it."""
    import multiprocessing

    from segdsl.lsp.sizing import SizeCache
    from segdsl.project.workspace import load_workspace

    ws = load_workspace([ROOT / "examples" / "hospitality" / "segments.seg"])
    segments = list(ws.segments.values())
    cache = SizeCache()
    try:
        cache.request(segments, ws.schema, ws.project.data_dir).result(120)
        info = cache.lookup(ws.segments["lapsed"], ws.schema, ws.project.data_dir)
        assert info is not None and info.size is not None and 0 < info.size < info.total
        assert cache.running and multiprocessing.active_children()
        cache.release()
        deadline = time.monotonic() + 30
        while multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not multiprocessing.active_children() and not cache.running
        assert cache.lookup(ws.segments["lapsed"], ws.schema, ws.project.data_dir) is None
    finally:
        cache.shutdown()


def children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads processes from /proc")
def test_the_sizing_process_ends_with_a_killed_server(raw_server, tmp_path: Path):
    """An editor may kill its server outright: the sizing process must not outlive it."""
    root = lsp_project(tmp_path / "orphan")
    (root / "segdsl.toml").write_text(f'schema = "schema.toml"\ndata = "{ROOT / "seeds" / "hospitality"}"\n')
    text = (ROOT / "examples" / "hospitality" / "segments.seg").read_text()
    session = Session(raw_server(), root)
    uri = (root / "a.seg").as_uri()
    session.open(uri, text)
    line = text.splitlines().index(next(line for line in text.splitlines() if "segment lapsed" in line))
    _, hover = session.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": len("segment la")}})
    assert "size:" in hover["result"]["contents"]["value"]
    server_pid = session.server.proc.pid
    workers = children_of(server_pid)
    assert workers, "sizes are computed in a child process"
    session.server.proc.kill()
    session.server.proc.wait(10)
    deadline = time.monotonic() + 20
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers), "the sizing process outlived the server"
