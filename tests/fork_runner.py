"""Run `segdsl` commands as processes that can be killed at any moment, cheaply.

A server process imports segdsl once, then forks one child per command: the child runs
the command line as `segdsl` would (its own process, files, connections and exit
status) and starts in about a millisecond instead of the half second a new
interpreter takes, so a kill test spends its time in the commands' work. The test
side (:class:`ForkRunner`) asks for a run, gets the child's pid to kill, and waits for
its exit status (a negative number: the signal that ended it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _serve() -> None:
    import segdsl.backends.memory.columnar  # noqa: F401 - imported once, before forking
    import segdsl.backends.memory.profile  # noqa: F401
    import segdsl.cli.fmt  # noqa: F401
    import segdsl.cli.lifecycle  # noqa: F401
    import segdsl.cli.model  # noqa: F401
    import segdsl.cli.plan  # noqa: F401
    import segdsl.cli.seed  # noqa: F401
    import segdsl.models  # noqa: F401
    import segdsl.project.members  # noqa: F401
    import segdsl.syntax.formatter  # noqa: F401
    import segdsl.lifecycle.refresh  # noqa: F401
    import segdsl.lifecycle.sync  # noqa: F401
    from segdsl.cli.main import cli

    try:
        import psycopg  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    for line in sys.stdin:
        request = json.loads(line)
        if "wait" in request:
            _, status = os.waitpid(request["wait"], 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            reply = {"pid": request["wait"], "code": code}
        else:
            pid = os.fork()
            if pid == 0:
                _child(cli, request)
            reply = {"pid": pid}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def _child(cli, request) -> None:
    code = 70
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, name in ((1, request["stdout"]), (2, request["stderr"])):
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        os.environ.update(request.get("env", {}))
        os.chdir(request.get("cwd") or os.getcwd())
        if request.get("slow_disk") or request.get("stall"):
            _slow_disk(request.get("slow_disk") or 0.0, request.get("stall") or (0, 0.0))
        try:
            cli.main(request["args"], prog_name="segdsl", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _slow_disk(pause: float, stall: tuple[int, float]) -> None:
    """Make every fsync take ``pause`` seconds longer, and the n-th one ``stall[1]``
    more besides (``stall[0]`` = n): a slow disk, on which the moments a writer has a
    temporary file are long enough to kill it in, or one that stalls in the middle of
    writing several files."""
    import itertools
    import time

    fsync, count = os.fsync, itertools.count(1)
    stall_at, stall_for = stall

    def slow_fsync(fd):
        time.sleep(pause + (stall_for if next(count) == stall_at else 0.0))
        return fsync(fd)

    os.fsync = slow_fsync


class ForkRunner:
    """The test side: ``spawn`` a command (returns its pid), ``kill`` it, ``wait`` for its
    exit status, read its output with ``output``."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None):
        self.workdir = workdir
        self.env = env or {}
        self.count = 0
        self.files: dict[int, tuple[Path, Path]] = {}
        self.proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(SRC)},
        )

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server died (exit {self.proc.wait()})")
        return json.loads(line)

    def spawn(self, *args, env: dict[str, str] | None = None, cwd: Path | None = None, slow_disk: float = 0.0,
              stall: tuple[int, float] | None = None) -> int:
        """Start ``segdsl ARGS`` in ``cwd`` (default: the server's); ``slow_disk`` and
        ``stall``: see :func:`_slow_disk`."""
        self.count += 1
        stdout, stderr = self.workdir / f"run{self.count}.out", self.workdir / f"run{self.count}.err"
        # Made here, not only in the child: a run killed before it opened them has
        # printed nothing, and ``output`` reads that as empty.
        stdout.touch()
        stderr.touch()
        pid = self._ask({"args": [str(a) for a in args], "stdout": str(stdout), "stderr": str(stderr),
                         "env": {**self.env, **(env or {})}, "cwd": str(cwd) if cwd else None,
                         "slow_disk": slow_disk, "stall": stall})["pid"]
        self.files[pid] = (stdout, stderr)
        return pid

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})["code"]

    def output(self, pid: int) -> tuple[str, str]:
        stdout, stderr = self.files.pop(pid)
        texts = stdout.read_text(), stderr.read_text()
        stdout.unlink()
        stderr.unlink()
        return texts

    def run(self, *args, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str, str]:
        pid = self.spawn(*args, env=env, cwd=cwd)
        code = self.wait(pid)
        return (code, *self.output(pid))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    _serve()
