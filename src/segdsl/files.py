"""Writing files whole or not at all.

Every file segdsl writes for a user (a reformatted .seg file, a static segment's new
member list, a sync batch, a table of model scores) goes through :func:`write_atomic`, or
:func:`open_atomic` when it is written piece by piece: a reader, or a crash, sees the
old contents or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def write_atomic(path: str | Path, data: bytes) -> str:
    """Replace ``path`` with ``data``: a temporary file in the same directory, fsync,
    rename over the target, fsync the directory. An existing file keeps its permissions,
    a new one gets those ``open`` would give it (0666 less the umask); through a symbolic link, the link's target is replaced and the link kept. Missing
    parent directories are created. Returns the path written."""
    with open_atomic(path) as handle:
        handle.write(data)
    return str(path)


@contextlib.contextmanager
def open_atomic(path: str | Path, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """A file to write ``path`` through, piece by piece, with :func:`write_atomic`'s
    guarantees: on leaving the block without an error the temporary file replaces
    ``path``; on an error it is removed and ``path`` is as it was. ``mode`` is "wb" or
    "w"; ``kwargs`` go to :func:`open` (encoding, newline)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"open_atomic writes a new file; mode {mode!r} is not 'wb' or 'w'")
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    keep = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else _new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="." + target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, keep)  # mkstemp's file is private (0600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where supported
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 less the umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(umask)
    return 0o666 & ~umask
