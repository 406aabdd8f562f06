"""The server's stdin and stdout, framed strictly.

pygls 2 reads a frame's header lines itself and skips a line it cannot parse: after
``Content-Length: abc`` it takes the body for the next header line, and every later
message is lost while the process stays alive, silent. :class:`StrictStdin` reads each
frame's headers before pygls sees them; on a frame it cannot trust (a length that is
not a number, none at all, one over :data:`MAX_CONTENT_LENGTH`, a header line that is
not ``Name: value``) it answers with a JSON-RPC parse error and ends the input, so the
server exits with status 1 and the editor can restart it. The stream cannot be
re-synchronised: without a length nothing says where the body ends.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import BinaryIO

log = logging.getLogger("segdsl.lsp")

#: Largest message body read. A 2 MB document (the source cap) is at most 12 MB of
#: JSON (every character escaped); anything far larger is a broken or hostile frame.
MAX_CONTENT_LENGTH = 64 * 1024 * 1024
#: Longest header line read.
MAX_HEADER_LINE = 8 * 1024

_PARSE_ERROR = -32700


class LockedStdout:
    """stdout for pygls, whose writes may now come from two threads (pygls's on the
    event loop, an error frame from the reader's): each frame is written whole."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._raw.write(data)
            self._raw.flush()

    def flush(self) -> None:
        pass  # every write flushes

    def close(self) -> None:
        with self._lock:
            self._raw.close()


class StrictStdin:
    """stdin for pygls (``readline`` and ``read``, called from its reader thread),
    handing on each frame's headers only once they are known to be sound."""

    def __init__(self, raw: BinaryIO, out: LockedStdout):
        self._raw = raw
        self._out = out
        self._pending: deque[bytes] = deque()
        #: Why the input was cut short, or None.
        self.error: str | None = None

    def readline(self, size: int = -1) -> bytes:
        if not self._pending and self.error is None:
            self._read_headers()
        return self._pending.popleft() if self._pending else b""

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if n >= 0 and len(data) < n:
            return b""  # the input ended inside a body: nothing more to read
        return data

    def _read_headers(self) -> None:
        length: int | None = None
        seen = False
        while True:
            line = self._raw.readline(MAX_HEADER_LINE + 1)
            if not line:
                if seen:
                    self._fail("the input ended inside a message's headers")
                return  # the client closed the input between messages
            if not line.endswith(b"\n"):
                self._fail(f"a header line longer than {MAX_HEADER_LINE:,} bytes")
                return
            header = line.rstrip(b"\r\n")
            if not header:
                if not seen:
                    continue  # blank lines between messages are harmless
                if length is None:
                    self._fail("a message has no Content-Length header")
                    return
                break
            seen = True
            name, colon, value = header.partition(b":")
            if not colon:
                self._fail(f"the header line {_shown(header)} is not `Name: value`")
                return
            if name.strip().lower() == b"content-length":
                value = value.strip()
                if not (value.isdigit() and value.isascii()) or not 0 < int(value) <= MAX_CONTENT_LENGTH:
                    self._fail(f"Content-Length {_shown(value)} is not a length from 1 to {MAX_CONTENT_LENGTH:,}")
                    return
                length = int(value)
        self._pending.extend([b"Content-Length: %d\r\n" % length, b"\r\n"])

    def _fail(self, why: str) -> None:
        self.error = why
        message = f"segdsl: cannot read the message frame: {why}; the server stops"
        log.error("%s", message)
        body = json.dumps({"jsonrpc": "2.0", "id": None,
                           "error": {"code": _PARSE_ERROR, "message": message}}).encode()
        try:
            self._out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except (OSError, ValueError):  # the client has gone: nobody to tell
            pass


def _shown(raw: bytes) -> str:
    text = raw[:60].decode("utf-8", "replace")
    return repr(text + ("..." if len(raw) > 60 else ""))
