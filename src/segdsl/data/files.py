"""Writing files whole or not at all, one writer at a time.

Every file segdsl writes for a user (a reformatted .seg file, a static segment's new
member list, a sync batch, a table of model scores, a saved model, a chart) goes through
:func:`write_atomic`, or :func:`open_atomic` when it is written piece by piece: a reader,
or a crash, sees the old contents or the new ones, never a mix. Files that must change
together are written as a new directory (:func:`write_directory_atomic`) published by
switching one link (:func:`replace_symlink`).

Writers of one file take turns: :func:`locked` holds an ``fcntl`` lock on
``.NAME.lock`` beside the file, and a command that reads a file, changes it and writes
it back (``segdsl members``, ``segdsl fmt``) holds it from the read to the rename, so
two of them never both start from the same old text. The lock file is removed by its
holder before the lock is released (a waiter that then gets the lock on the removed
file notices and takes the new one), so none is left behind; one left by a killed
process is taken over and removed by the next writer.

A temporary file is named ``.NAME.<12 hex digits>.tmp`` and exists only while its
writer holds the lock. So one found by a writer holding the lock was left by a killed
process, and is removed: a kill leaves at most one such file, until the next write of
the same file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

#: How long a writer waits for another one before giving up, in seconds, unless
#: ``SEGDSL_LOCK_TIMEOUT`` says otherwise (the same setting as the state store's).
LOCK_TIMEOUT = 10.0


#: A name a user gives that becomes one file or folder name inside a folder segdsl
#: owns (a sync consumer's): letters, digits, `_`, `-` and `.`, not first a `.` or a
#: `-`, at most 100 characters. So never `.`, `..`, a hidden name or a path.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


class FileLocked(OSError):
    """Another process kept the file locked for longer than the timeout."""


class ReadOnlyFile(PermissionError):
    """The file to replace has no write permission (for this user, or for anyone)."""


def write_atomic(path: str | Path, data: bytes) -> str:
    """Replace ``path`` with ``data``: a temporary file in the same directory, fsync,
    rename over the target, fsync the directory, all under the file's lock. An existing
    file keeps its permissions, a new one gets those ``open`` would give it (0666 less
    the umask); through a symbolic link, the link's target is replaced and the link
    kept. A file that may not be written (see :func:`check_writable`) is refused with
    :class:`ReadOnlyFile`. Missing parent directories are created. Returns the path
    written."""
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
    with locked(target):
        keep = check_writable(target)
        _remove_stale_temps(target)
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
        fsync_directory(target.parent)  # make the rename itself durable


def check_writable(path: str | Path) -> int | None:
    """The permission bits of the existing file at ``path`` (None when there is none),
    or :class:`ReadOnlyFile` when it may not be written: this user may not write it
    (``os.access``), or no one may (no write bit at all, which root's access ignores;
    a file made read-only on purpose is not rewritten by anyone's segdsl)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if not os.access(path, os.W_OK) or not mode & 0o222:
        raise ReadOnlyFile(errno.EACCES,
                           f"the file is read-only (mode {mode:04o}); make it writable to let segdsl change it",
                           str(path))
    return mode


def lock_path(path: str | Path) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


_held: dict[str, tuple[int, int]] = {}  # lock file -> (thread, depth): this process's locks
_held_guard = threading.Lock()


@contextlib.contextmanager
def locked(path: str | Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the writers' lock of the file ``path`` (through a symbolic link, of the
    link's target). Waits up to ``timeout`` seconds (default :func:`lock_timeout`) for
    another process, then raises :class:`FileLocked`. Re-entrant within a thread, so a
    command holding the lock may call :func:`write_atomic` on the same file."""
    target = Path(os.path.realpath(path))
    lock = str(lock_path(target))
    me = threading.get_ident()
    with _held_guard:
        owner = _held.get(lock)
        if owner is not None and owner[0] == me:
            _held[lock] = (me, owner[1] + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                owner = _held[lock]
                _held[lock] = (me, owner[1] - 1)
        return
    fd = _acquire(lock, target, lock_timeout() if timeout is None else timeout)
    with _held_guard:
        _held[lock] = (me, 1)
    try:
        yield
    finally:
        with _held_guard:
            del _held[lock]
        # Removed while still held: see the module docstring for why that is safe.
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def lock_timeout() -> float:
    """Seconds to wait for a file another process is writing (``SEGDSL_LOCK_TIMEOUT``)."""
    try:
        return max(0.0, float(os.environ.get("SEGDSL_LOCK_TIMEOUT", LOCK_TIMEOUT)))
    except ValueError:
        return LOCK_TIMEOUT


def _acquire(lock: str, target: Path, timeout: float) -> int:
    """An open descriptor of the lock file ``lock``, exclusively locked, still the file
    at that name (not one its previous holder removed)."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                waited = f"waited {timeout:g} s, try again" if timeout else "try again when it is done"
                raise FileLocked(errno.EAGAIN, f"another segdsl process is writing it{_holder(lock)}; {waited}",
                                 str(target)) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            continue
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # its holder removed it after we opened it: lock the new one
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd


def _holder(lock: str) -> str:
    try:
        with open(lock, encoding="ascii") as f:
            pid = f.read().strip()
    except (OSError, ValueError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def _temp_pattern(target: Path) -> re.Pattern:
    return re.compile(re.escape(f".{target.name}.") + r"[0-9a-f]{12}\.tmp")


def _remove_stale_temps(target: Path) -> None:
    """Remove the temporary files of ``target`` a killed writer left (the caller holds
    the lock, so no live writer has one)."""
    pattern = _temp_pattern(target)
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


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
        fsync_directory(staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_directory(target.parent)
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
    fsync_directory(link.parent)


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
    """Hold an exclusive lock on the file ``path`` itself (created if missing, never
    removed, so that every process locks the same file) for the block, waiting up to
    ``timeout`` seconds for another holder: :class:`LockTimeout` after that. The same
    ``flock`` as :func:`locked` (a process that dies releases it), for a lock that
    guards a folder rather than one file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = _acquire(str(path), path, timeout)
    except FileLocked:
        raise LockTimeout(f"{path} is locked by another process{_holder(str(path))}") from None
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


_TEMP = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


def _temp_name(target: Path) -> str:
    return str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")


def fsync_directory(folder: str | Path) -> None:
    """Make the entries made in ``folder`` (new files, renames) durable, where the file
    system supports it."""
    with contextlib.suppress(OSError):  # make renames in it durable, where supported
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
