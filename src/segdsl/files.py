"""Writing files whole or not at all.

Every file segdsl writes for a user (a reformatted .seg file, a static segment's new
member list, a sync batch) goes through :func:`write_atomic`: a reader, or a crash,
sees the old contents or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes) -> str:
    """Replace ``path`` with ``data``: a temporary file in the same directory, fsync,
    rename over the target, fsync the directory. An existing file keeps its permissions;
    through a symbolic link, the link's target is replaced and the link kept. Missing
    parent directories are created. Returns the path written."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="." + target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
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
    return str(path)
