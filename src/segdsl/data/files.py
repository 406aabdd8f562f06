"""Writing files whole or not at all.

Every file segdsl writes for a user (a reformatted .seg file, a static segment's new
member list, a sync batch, a table of model scores) goes through :func:`write_atomic`, or
:func:`open_atomic` when it is written piece by piece: a reader, or a crash, sees the
old contents or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def write_atomic(path: str | Path, data: bytes) -> str:
    """Replace ``path`` with ``data``: a temporary file in the same directory, fsync,
    rename over the target, fsync the directory. An existing file keeps its permissions,
    a new one gets those ``open`` would give it (0666 less the umask); through a symbolic
    link, the link's target is replaced and the link kept. Missing parent directories
    are created. Returns the path written."""
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
    keep = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else None
    fd, tmp = _create_temp(target)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if keep is not None:
            os.chmod(tmp, keep)
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


def _create_temp(target: Path) -> tuple[int, str]:
    """A new file beside ``target``, created as ``open`` creates one (0666 less the
    umask; ``tempfile.mkstemp`` would make it 0600), never one that exists already."""
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")
