"""Checks off the event loop: one worker thread, always the newest text.

The event loop reads messages and answers requests; checking a project (parse, check,
diagnostics) runs in one worker thread. One, so a project's caches are never used by
two threads at once. A change that arrives while a check runs makes that check stale:
its result is dropped, and the check runs again on the newest text as soon as the stale
one ends. A burst of keystrokes therefore costs one extra check, not one per
keystroke, and a check that takes seconds (a 1 MB file) never delays a hover.
(A running check cannot be interrupted: Python threads cannot be stopped, and a parse
is one call into Lark.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Hashable
from typing import Any

import attrs

log = logging.getLogger("segdsl.lsp")

#: ``job()`` runs on the event loop when a check starts: it reads the inputs (the open
#: buffers' texts, now) and returns the work for the worker thread, or None.
Job = Callable[[], Callable[[], Any] | None]


@attrs.define(eq=False)
class _Run:
    job: Job
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None]
    stale: bool = False
    task: asyncio.Task | None = None


class Runner:
    """Runs checks, one per key (a project) at a time, in one worker thread."""

    def __init__(self) -> None:
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="segdsl-check")
        self._runs: dict[Hashable, _Run] = {}
        #: How long the last check of each key took, in seconds.
        self.durations: dict[Hashable, float] = {}

    def schedule(self, key: Hashable, job: Job, done: Callable[[Any], None],
                 failed: Callable[[BaseException], None]) -> None:
        """Check ``key`` soon: ``done(result)`` is called on the event loop with a result
        computed from inputs that are still the newest, ``failed(exc)`` if the work raised."""
        run = self._runs.get(key)
        if run is not None:
            run.stale = True
            run.job, run.done, run.failed = job, done, failed
            return
        run = self._runs[key] = _Run(job, done, failed)
        run.task = asyncio.get_running_loop().create_task(self._drive(key, run))

    async def _drive(self, key: Hashable, run: _Run) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                run.stale = False
                work = run.job()
                if work is None:
                    return
                started = loop.time()
                try:
                    result = await loop.run_in_executor(self._worker, work)
                except Exception as exc:  # noqa: BLE001 - reported, and the server goes on
                    if run.stale:
                        continue
                    run.failed(exc)
                    return
                finally:
                    self.durations[key] = loop.time() - started
                if run.stale:
                    continue  # the inputs changed meanwhile: check the newest instead
                try:
                    run.done(result)
                except Exception:  # noqa: BLE001 - publishing must not end the loop
                    log.exception("publishing the results of a check failed")
                return
        finally:
            if self._runs.get(key) is run:
                del self._runs[key]

    def forget(self, key: Hashable) -> None:
        self.durations.pop(key, None)

    def busy(self, key: Hashable) -> bool:
        return key in self._runs

    async def settled(self, key: Hashable) -> None:
        """Wait until no check of ``key`` is running or due."""
        while (run := self._runs.get(key)) is not None and run.task is not None:
            await asyncio.shield(run.task)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the worker thread, after the check running now."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
