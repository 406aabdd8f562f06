"""Writing files whole or not at all.

Every file segdsl writes for a user (a reformatted .seg file, a static segment's new
member list, a sync batch, a table of model scores) goes through :func:`write_atomic`, or
:func:`open_atomic` when it is written piece by piece: a reader, or a crash, sees the
old contents or the new ones, never a mix. Files that must change together are written
as a new directory (:func:`write_directory_atomic`) published by switching one link
(:func:`replace_symlink`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterator, Mapping
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


# ------------------------------------------------------------------- sets of files
# A set of files that must change as one unit (a sync's contact and channel lists with
# the manifest describing them) is written as a new directory, then published by
# switching one symbolic link: a reader, or a crash, sees the old set or the new one.


def write_directory_atomic(path: str | Path, files: Mapping[str, bytes]) -> str:
    """Create the directory ``path`` holding exactly ``files`` (name → contents), whole
    or not at all: written into a hidden temporary directory beside it, each file and
    the directory fsynced, then renamed to ``path``, which must not exist yet."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _temp_name(target)
    os.mkdir(staging)
    try:
        for name, data in files.items():
            fd = os.open(os.path.join(staging, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_directory(staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_directory(target.parent)
    return str(target)


def replace_symlink(link: str | Path, points_to: str) -> None:
    """Make ``link`` a symbolic link to ``points_to`` (relative to the link's directory),
    replacing whatever ``link`` was in one rename: a reader resolving it meanwhile
    finds the old target or the new one."""
    link = Path(link)
    for _ in range(100):
        tmp = _temp_name(link)
        try:
            os.symlink(points_to, tmp)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {link}")
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(link.parent)


def remove_directory(path: str | Path) -> None:
    """Remove the directory ``path`` and its contents, at once for a reader: it is
    renamed to a temporary name first, so a crash while deleting leaves a leftover
    (:func:`remove_leftovers`), never a half-emptied ``path``."""
    doomed = _temp_name(Path(path))
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def remove_leftovers(folder: str | Path) -> list[str]:
    """Remove the temporary files and directories that writers of this module killed
    mid-write left in ``folder`` (``.NAME.<12 hex>.tmp``), and return their names. Only
    safe while no writer can be using ``folder``: call it under :func:`exclusive_lock`."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not _TEMP.fullmatch(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
        removed.append(entry.name)
    return removed


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller would wait."""


@contextlib.contextmanager
def exclusive_lock(path: str | Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing, never removed,
    so that every process locks the same file) for the block, waiting up to
    ``timeout`` seconds for another holder: :class:`LockTimeout` after that. The lock
    is the operating system's (``flock``): a process that dies releases it."""
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{path} is locked by another process") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


_TEMP = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


def _temp_name(target: Path) -> str:
    return str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")


def _fsync_directory(folder: str | Path) -> None:
    with contextlib.suppress(OSError):  # make renames in it durable, where supported
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
