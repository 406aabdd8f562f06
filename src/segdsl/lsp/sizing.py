"""Segment sizes for hovers: the project's CSV data, evaluated in memory, cached.

Sizes are computed with :func:`segdsl.lifecycle.sizes.sizes_in_memory` at the current UTC date,
for every segment of a project at once (one read of the data), and kept per (data files'
versions, schema version, as-of date, rule): a hover after the first one costs a
dictionary lookup. Data directories holding more than :data:`MAX_DATA_BYTES` of CSV are not read.

The computing happens in a separate process, started when first needed and stopped by
:meth:`SizeCache.release` (the server calls it once no document has been open for a
while): numpy, pyarrow and the data's working set (about 75 MB for the hospitality
seeds) then leave with it, instead of staying in the server for the rest of the
session, and the numeric work never competes with the server's own thread for the GIL.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import multiprocessing
import threading
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Hashable, Sequence
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.schema.model import Schema

log = logging.getLogger(__name__)

#: Larger data files are never read by the server: sizing them would stall hovers.
MAX_DATA_BYTES = 50 * 1024 * 1024


@attrs.frozen
class SizeInfo:
    """A size, or why there is none (``size`` is None and ``reason`` says why)."""

    size: int | None = None
    total: int | None = None
    as_of: dt.date | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.size is None:
            return f"size unknown: {self.reason}"
        share = f" ({self.size / self.total:.1%})" if self.total else ""
        return f"size: {self.size:,} of {self.total:,}{share} as of {self.as_of} (in memory, project data)"


def today_utc() -> dt.datetime:
    now = dt.datetime.now(dt.timezone.utc)
    return dt.datetime(now.year, now.month, now.day, tzinfo=dt.timezone.utc)


def _rule_key(segment: ir.Segment) -> Hashable:
    try:
        hash(segment.rule)
        return segment.rule
    except TypeError:  # pragma: no cover - every IR node is hashable today
        return repr(segment.rule)


def _end_with_parent() -> None:
    """In the sizing process: exit as soon as the server has, however it ended (an
    editor may kill it outright). Its task queue never reports that by itself: the
    process holds both ends of the pipe it reads."""
    import multiprocessing.connection
    import os

    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always a child
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="segdsl-sizes-parent", daemon=True).start()


def _size_in_process(
    segments: Sequence[ir.Segment], schema: Schema, data_dir: Path, as_of: dt.datetime
) -> list[tuple[int, int]] | str:
    """In the sizing process: each segment's (size, total), or why the data does not load."""
    from segdsl.data.tables import DataError
    from segdsl.lifecycle.sizes import sizes_in_memory

    try:
        return [(s.size, s.total) for s in sizes_in_memory(segments, schema, data_dir, as_of)]
    except DataError as exc:
        return str(exc)


class SizeCache:
    def __init__(self) -> None:
        # One thread waits on the sizing process and fills the cache; hovers never block on it.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="segdsl-sizes")
        self._lock = threading.Lock()
        self._sizes: dict[tuple, SizeInfo] = {}
        self._pending: dict[tuple, concurrent.futures.Future] = {}
        self._process: concurrent.futures.ProcessPoolExecutor | None = None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.release()

    def release(self) -> None:
        """Stop the sizing process and forget every size: what the server holds for
        sizes goes back to nothing. The next request starts afresh."""
        with self._lock:
            process, self._process = self._process, None
            self._sizes.clear()
        if process is not None:
            process.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> bool:
        """Whether a sizing process is up (for tests and the server's idle release)."""
        return self._process is not None

    def _worker(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._process is None:
                # spawn, not fork: the server has threads, and a forked copy of it would
                # inherit their locks in whatever state they were.
                self._process = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_end_with_parent)
            return self._process

    def _base(self, schema: Schema, data_dir: Path | None, as_of: dt.datetime) -> tuple | SizeInfo:
        if data_dir is None:
            return SizeInfo(reason="the project has no `data` directory in segdsl.toml")
        data_file = data_dir / f"{schema.table}.csv"
        if not data_file.is_file():
            return SizeInfo(reason=f"no data file `{data_file.name}` in the project's data directory")
        # Traits read other tables of the directory too: any CSV changing is a new version.
        stamp = []
        total = 0
        for f in sorted(data_dir.glob("*.csv")):
            try:
                st = f.stat()
            except OSError:
                continue
            stamp.append((f.name, st.st_mtime_ns, st.st_size))
            total += st.st_size
        if total > MAX_DATA_BYTES:
            return SizeInfo(reason=f"the data is larger than {MAX_DATA_BYTES // 2**20} MB; run `segdsl size` instead")
        schema_stamp = (schema.path, _mtime(Path(schema.path)) if schema.path else None)
        return (str(data_dir), tuple(stamp), schema_stamp, as_of.date())

    def lookup(self, segment: ir.Segment, schema: Schema, data_dir: Path | None) -> SizeInfo | None:
        """The cached size of ``segment``, a reason why it has none, or None if not known yet."""
        base = self._base(schema, data_dir, today_utc())
        if isinstance(base, SizeInfo):
            return base
        with self._lock:
            return self._sizes.get((base, _rule_key(segment)))

    def request(
        self, segments: Sequence[ir.Segment], schema: Schema, data_dir: Path | None
    ) -> concurrent.futures.Future | None:
        """Start sizing the segments whose sizes are not cached; None if nothing to do."""
        as_of = today_utc()
        base = self._base(schema, data_dir, as_of)
        if isinstance(base, SizeInfo):
            return None
        with self._lock:
            pending = self._pending.get(base)
            if pending is not None and not pending.done():
                return pending
            missing = [s for s in segments if (base, _rule_key(s)) not in self._sizes]
            if not missing:
                return None
            fut = self._pool.submit(self._compute, base, missing, schema, data_dir, as_of)
            self._pending[base] = fut
            return fut

    def _compute(self, base: tuple, segments: list[ir.Segment], schema: Schema, data_dir: Path, as_of) -> None:
        try:
            sizes = self._worker().submit(_size_in_process, segments, schema, data_dir, as_of).result()
        except (BrokenProcessPool, concurrent.futures.CancelledError, RuntimeError) as exc:
            # Released (or killed) while it ran: nothing to keep; a later hover asks again.
            log.info("sizing stopped: %s", exc)
            with self._lock:
                self._pending.pop(base, None)
            return
        except Exception as exc:
            log.exception("sizing failed")
            sizes = f"sizing failed: {type(exc).__name__}: {exc}"
        if isinstance(sizes, str):
            reason = sizes if sizes.startswith("sizing failed") else f"the data does not load: {sizes}"
            results = {(base, _rule_key(s)): SizeInfo(reason=reason) for s in segments}
        else:
            results = {(base, _rule_key(s)): SizeInfo(size, total, as_of.date()) for s, (size, total) in zip(segments, sizes)}
        with self._lock:
            if len(self._sizes) > 50_000:  # edits leave old rules behind; start afresh
                self._sizes.clear()
            self._sizes.update(results)
            self._pending.pop(base, None)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
