"""Segment sizes for hovers: the project's CSV data, evaluated in memory, cached.

Sizes are computed with :func:`segdsl.lifecycle.sizes.sizes_in_memory` at the current UTC date,
for every segment of a project at once (one read of the data), in a worker thread, and
kept per (data files' versions, schema version, as-of date, rule): a hover after the first
one costs a dictionary lookup. Data directories holding more than :data:`MAX_DATA_BYTES` of CSV are not read.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import threading
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


class SizeCache:
    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="segdsl-sizes")
        self._lock = threading.Lock()
        self._sizes: dict[tuple, SizeInfo] = {}
        self._pending: dict[tuple, concurrent.futures.Future] = {}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        from segdsl.data.tables import DataError
        from segdsl.lifecycle.sizes import sizes_in_memory

        try:
            sizes = sizes_in_memory(segments, schema, data_dir, as_of)
        except DataError as exc:
            info = SizeInfo(reason=f"the data does not load: {exc}")
            results = {(base, _rule_key(s)): info for s in segments}
        except Exception as exc:
            log.exception("sizing failed")
            info = SizeInfo(reason=f"sizing failed: {type(exc).__name__}: {exc}")
            results = {(base, _rule_key(s)): info for s in segments}
        else:
            results = {(base, _rule_key(s.segment)): SizeInfo(s.size, s.total, as_of.date()) for s in sizes}
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
