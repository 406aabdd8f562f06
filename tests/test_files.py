"""segdsl.data.files: atomic writes, the writers' lock, leftovers of killed writers,
read-only files."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from segdsl.data import files
from segdsl.data.files import FileLocked, ReadOnlyFile, check_writable, locked, open_atomic, write_atomic

ROOT = Path(__file__).resolve().parent.parent


def test_a_temporary_file_left_by_a_killed_writer_goes_with_the_next_write(tmp_path):
    target = tmp_path / "a.seg"
    target.write_text("old")
    stale = tmp_path / ".a.seg.0123456789ab.tmp"  # as a writer killed mid-write leaves it
    stale.write_text("half")
    other = tmp_path / ".b.seg.0123456789ab.tmp"  # another file's: not this writer's business
    other.write_text("half")
    mine = tmp_path / ".a.seg.notours.tmp"  # not a name segdsl makes
    mine.write_text("user")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.seg.notours.tmp", ".b.seg.0123456789ab.tmp", "a.seg"]


def test_the_lock_file_is_removed_and_a_stale_one_taken_over(tmp_path):
    target = tmp_path / "a.seg"
    (tmp_path / ".a.seg.lock").write_text("12345\n")  # left by a killed holder: no lock on it
    with locked(target):
        assert (tmp_path / ".a.seg.lock").read_text() == f"{os.getpid()}\n"
        write_atomic(target, b"x")  # re-entrant: the holder may write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg"]


def test_a_locked_file_waits_then_says_who_holds_it(tmp_path):
    target = tmp_path / "a.seg"
    target.write_text("old")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from segdsl.data.files import locked
            with locked({str(target)!r}):
                print("held", flush=True)
                time.sleep(float(sys.stdin.readline()))
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(FileLocked) as caught:
            write_atomic(target, b"new")  # SEGDSL_LOCK_TIMEOUT unset: the default, shortened here
    finally:
        holder.stdin.write("0\n")
        holder.stdin.flush()
    assert time.monotonic() - started >= files.LOCK_TIMEOUT * 0.9
    assert f"another segdsl process is writing it (process {holder.pid})" in caught.value.strerror
    assert target.read_text() == "old"
    # Once the holder is done, the next writer gets the file.
    assert holder.wait(timeout=30) == 0
    write_atomic(target, b"new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg"]


@pytest.fixture(autouse=True)
def _short_timeout(monkeypatch):
    monkeypatch.delenv("SEGDSL_LOCK_TIMEOUT", raising=False)
    monkeypatch.setattr(files, "LOCK_TIMEOUT", 0.3)


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGDSL_LOCK_TIMEOUT", "2.5")
    assert files.lock_timeout() == 2.5
    monkeypatch.setenv("SEGDSL_LOCK_TIMEOUT", "soon")
    assert files.lock_timeout() == files.LOCK_TIMEOUT


def test_threads_of_one_process_take_turns(tmp_path):
    target = tmp_path / "count.txt"
    target.write_text("0")

    def bump():
        for _ in range(20):
            with locked(target, timeout=30):
                n = int(target.read_text())
                write_atomic(target, str(n + 1).encode())

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() == "80"


def test_a_read_only_file_is_not_replaced(tmp_path):
    target = tmp_path / "a.seg"
    target.write_text("old")
    target.chmod(0o444)
    # Tests may run as root, whom the kernel lets write anything: the mode bits say no.
    with pytest.raises(ReadOnlyFile, match=r"read-only \(mode 0444\)"):
        write_atomic(target, b"new")
    with pytest.raises(ReadOnlyFile), open_atomic(target, "w") as out:
        out.write("new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.seg"]


def test_a_file_this_user_may_not_write_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "theirs.seg"
    target.write_text("old")
    target.chmod(0o644)
    real_access = os.access
    # As a user other than the owner sees a 0644 file (root's access would say yes).
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    with pytest.raises(ReadOnlyFile, match=r"read-only \(mode 0644\)"):
        write_atomic(target, b"new")
    assert target.read_text() == "old"
    monkeypatch.setattr(os, "access", real_access)
    assert check_writable(target) == 0o644
    assert check_writable(tmp_path / "missing") is None


def test_a_lock_held_elsewhere_in_this_process_is_still_waited_for(tmp_path):
    """The lock is fcntl's, on an open file: another handle (another library in the
    process, say) holding it makes a writer wait like another process would."""
    target = tmp_path / "a.seg"
    with open(tmp_path / ".a.seg.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(FileLocked, match="waited 0.3 s, try again"):
            write_atomic(target, b"x")
    assert not target.exists()
