"""The profile in memory: the entity table plus every trait a rule reads, computed
from the source tables with numpy group-bys.

Semantics are those of :class:`segdsl.ir.Aggregate` — the same definitions the SQL
backend compiles into its profile CTE — so the evaluators see exactly the values a
database would compute: sums are exact integer sums of the columns' encodings, `latest`
ranks rows as :func:`segdsl.ir.semantics.latest_rank` says (a tie goes to the row with
the greatest id), and empty groups give 0 or NULL as documented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import numpy as np

from segdsl import ir
from segdsl.data.tables import Column, DataError, Table, load_table, read_csv, timestamp_code
from segdsl.ir.semantics import INT64_MAX, INT64_MIN, latest_rank
from segdsl.schema.model import Field, FieldType, Kind, Schema


def profile_fields(rules: Iterable[ir.Node]) -> list[Field]:
    """The derived fields a set of rules reads, without repeats: its traits, and a
    boolean column per event sequence (see :func:`sequence_field`)."""
    seen: dict[str, Field] = {}
    for rule in rules:
        for f in ir.derived_fields(rule):
            seen.setdefault(f.column, f)
        for node in ir.sequences(rule):
            f = sequence_field(node)
            seen.setdefault(f.column, f)
    return list(seen.values())


def sequence_field(node: ir.Sequence) -> Field:
    """The profile column holding an event sequence's truth for each entity (never
    NULL: a sequence is two-valued), which both evaluators read for the node."""
    return Field(node.column, FieldType(Kind.BOOL), False, node.column, derive=node)


def load_profile(schema: Schema, data_dir: Path, rules: Iterable[ir.Node], as_of: dt.datetime) -> Table:
    """Read the entity table and the sources the rules need from ``data_dir``, and
    build the profile with every trait the rules read."""
    fields = profile_fields(rules)
    entity = load_table(schema, data_dir)
    sources = {name: load_source(schema.sources[name], data_dir, columns=cols)
               for name, cols in source_columns(fields).items()}
    return build_profile(schema, entity, sources, fields, as_of)


def source_columns(fields: Iterable[Field]) -> dict[str, set[str]]:
    """Per source, the columns computing ``fields`` reads: the entity key, the id, and
    each aggregate's value, ``by`` and ``where`` columns. Loading only these keeps a
    wide source's unread columns out of memory."""
    out: dict[str, set[str]] = {}
    for f in fields:
        agg = f.derive
        if isinstance(agg, ir.Sequence):
            for side in (agg.first, agg.then):
                cols = out.setdefault(side.source, set())
                cols.update((side.entity_key, side.time))
                if side.where is not None:
                    cols.update(g.column for g in ir.fields_used(side.where))
            continue
        cols = out.setdefault(agg.source, set())
        cols.update((agg.entity_key, agg.id_column))
        cols.update(g.column for g in (agg.column, agg.by) if g is not None)
        if agg.where is not None:
            cols.update(g.column for g in ir.fields_used(agg.where))
    return out


def load_source(source: Schema, data_dir: Path, *, missing_ok: bool = False,
                columns: Iterable[str] | None = None) -> Table:
    """A source table's rows from ``<table>.csv``. A missing file is an error (a typo
    in a table name must not quietly make every trait NULL) unless ``missing_ok``.
    With ``columns`` (see :func:`source_columns`), only those columns and the key are
    read: a table for :func:`build_profile`, not for writing elsewhere."""
    path = Path(data_dir) / f"{source.table}.csv"
    if not path.exists():
        if missing_ok:
            return Table.from_records(source, [])
        hint = "run `segdsl model train` to write it" if source.table == "model_scores" else (
            "run `segdsl seed generate`, or check `table` in the schema")
        raise DataError(str(path), None, None, f"no data for the source `{source.entity}`; {hint}")
    return read_csv(source, path, columns=columns)


def build_profile(
    schema: Schema, entity: Table, sources: Mapping[str, Table], fields: Iterable[Field], as_of: dt.datetime
) -> Table:
    """``entity`` with one more column per derived field, named by its ``column``."""
    fields = list(fields)
    columns = dict(entity.columns)
    derivation = _Derivation(entity.columns[schema.key.column].values, entity.n_rows, sources, as_of)
    for f in fields:
        columns[f.column] = derivation.derive(f)
    # The profile's schema lists the derived fields as columns, so records() decodes them.
    extra = {f.name: attrs.evolve(f, derive=None, derive_text=None, days_since=None) for f in fields}
    profile_schema = attrs.evolve(schema, fields={**schema.fields, **extra})
    return Table(profile_schema, columns, entity.n_rows)


#: Entity keys are looked up through a dense table when their range is at most this
#: many times the number of entities (plus some slack); otherwise by binary search.
_DENSE_SPAN = 4
#: Fewer entities than this have their rows looked up through an int32 table.
_INT32_ROWS = 2**31


class _Derivation:
    """One build of a profile. Traits over the same source share its mapping from source
    rows to entity rows, and traits with the same ``where`` share its mask: both are
    computed once per build."""

    def __init__(self, keys: np.ndarray, n: int, sources: Mapping[str, Table], as_of: dt.datetime):
        self.keys = keys
        self.n = n
        self.sources = sources
        self.as_of = as_of
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._rows: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, object], np.ndarray | None] = {}

    def derive(self, f: Field) -> Column:
        if isinstance(f.derive, ir.Sequence):
            return Column(self.sequence(f.derive), np.ones(self.n, dtype=bool))
        agg: ir.Aggregate = f.derive
        src = self.sources[agg.source]
        rows, keep = self.rows(agg), self.where(agg)
        n = self.n
        if agg.fn == "count":
            return Column(_bincount(rows, keep, n), np.ones(n, dtype=bool))
        col = src.columns[agg.column.column]
        if agg.fn == "latest":
            return _latest(agg, src, rows, _and(keep, src.columns[agg.by.column].valid), n)
        keep = _and(keep, col.valid)
        picked = rows if keep is None else rows[keep]
        values = col.values if keep is None else col.values[keep]
        if agg.fn == "sum":
            out = np.zeros(n, dtype=np.int64)
            np.add.at(out, picked, values.astype(np.int64, copy=False))
            return Column(out, np.ones(n, dtype=bool))
        # min / max
        ufunc = np.minimum if agg.fn == "min" else np.maximum
        if values.dtype.kind == "f":
            start = np.inf if agg.fn == "min" else -np.inf
        else:
            info = np.iinfo(values.dtype) if values.dtype.kind in "iu" else np.iinfo(np.int64)
            start = info.max if agg.fn == "min" else info.min
        out = np.full(n, start, dtype=values.dtype if len(values) else col.values.dtype)
        ufunc.at(out, picked, values)
        return Column(out, np.bincount(picked, minlength=n) > 0)

    def sequence(self, node: ir.Sequence) -> np.ndarray:
        """Per entity, whether the sequence holds (:func:`segdsl.ir.semantics.sequence_holds`):
        whether some B event falls in an A event's window, (tA, tA + N] (``followed by``),
        or some A event's window has closed with none in it (``not followed by``)."""
        as_of = timestamp_code(self.as_of)
        window = node.seconds * 1_000_000  # microseconds, as timestamps are stored
        ea, ta = self.events(node.first, as_of)
        with_a = np.zeros(self.n, dtype=bool)
        with_a[ea] = True  # only B events of an entity with A events can decide anything
        eb, tb = self.events(node.then, as_of, among=with_a)
        followed = _windows_hit(ea, ta, eb, tb, window, self.n)
        hit = (ta + window <= as_of) & ~followed if node.negated else followed
        out = np.zeros(self.n, dtype=bool)
        out[ea[hit]] = True
        return out

    def events(self, side: ir.Events, as_of: int, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The entity row and instant of each event of ``side`` that can count: of a
        known entity (and one where ``among`` is True), with a non-NULL time at or
        before the as-of, where its rule is TRUE."""
        from segdsl.backends.memory.columnar import evaluate

        src = self.sources[side.source]
        rows = self.rows(side)
        time = src.columns[side.time]
        keep = time.values <= as_of
        keep &= time.valid
        keep &= rows >= 0
        if among is not None:
            keep &= among[rows]  # a row of an unknown entity (-1) reads the last entry: dropped above
        if side.where is not None:
            keep &= evaluate(side.where, src, self.as_of)
        picked = np.flatnonzero(keep)  # then two gathers: faster than two boolean masks
        return rows[picked].astype(np.int64, copy=False), time.values[picked].astype(np.int64, copy=False)

    def rows(self, agg: ir.Aggregate | ir.Events) -> np.ndarray:
        """The entity row of each source row, -1 for rows of unknown entities; cached
        per source."""
        if agg.source not in self._rows:
            owner = self.sources[agg.source].columns[agg.entity_key].values
            self._rows[agg.source] = self._lookup(owner)
        return self._rows[agg.source]

    def _lookup(self, owner: np.ndarray) -> np.ndarray:
        keys, n = self.keys, len(self.keys)
        if n == 0:
            return np.full(len(owner), -1, dtype=np.intp)
        if keys.dtype.kind in "iu" and owner.dtype.kind in "iu":
            lo, hi = int(keys.min()), int(keys.max())
            if hi - lo < _DENSE_SPAN * n + 1024:
                # Small non-negative keys index the table themselves: no subtraction per row.
                base = 0 if 0 <= lo and hi < _DENSE_SPAN * n + 1024 else lo
                # Rows as int32 in the table: half its size, so that owners in no order (a
                # source stored in time order) miss the cache far less often.
                table = np.full(hi - base + 1, -1, dtype=np.int32 if n < _INT32_ROWS else np.intp)
                table[keys - base] = np.arange(n, dtype=table.dtype)
                if len(owner) == 0 or (owner.min() >= base and owner.max() <= hi):  # every owner in the table
                    return table[owner - base if base else owner].astype(np.intp)
                inside = (owner >= base) & (owner <= hi)
                # Out-of-range owners may wrap in ``owner - base``; they are masked below.
                rows = table[np.where(inside, owner - base, 0)].astype(np.intp)
                rows[~inside] = -1
                return rows
        if self._sorted is None:
            order = np.argsort(keys, kind="stable")
            self._sorted = (keys[order], order)
        sorted_keys, order = self._sorted
        pos = np.minimum(np.searchsorted(sorted_keys, owner), n - 1)
        return np.where(sorted_keys[pos] == owner, order[pos], -1)

    def where(self, agg: ir.Aggregate) -> np.ndarray | None:
        """The rows that count for an aggregate: of a known entity and where ``where``
        is TRUE; None when that is every row. Cached per (source, where)."""
        from segdsl.backends.memory.columnar import evaluate

        try:
            key: tuple[str, object] = (agg.source, agg.where)
            hash(key)
        except TypeError:  # an unhashable node: no sharing, which is only slower
            key = (agg.source, id(agg.where))
        if key not in self._masks:
            known = self.rows(agg) >= 0
            src = self.sources[agg.source]
            mask = known if agg.where is None else known & evaluate(agg.where, src, self.as_of)
            self._masks[key] = None if mask.all() else mask
        return self._masks[key]


def _and(a: np.ndarray | None, b: np.ndarray) -> np.ndarray | None:
    """``a & b`` for masks where None means every row; never modifies either."""
    if a is None:
        return None if b.all() else b
    return a & b


#: The width of an event's sort key (see :func:`_windows_hit`): its entity row in the high
#: bits, its instant in the low ones.
_KEY_BITS = 62
#: Keys whose top bits fall from one key to the next at most once per this many keys are
#: nearly in order: timsort alone sorts them fastest (see :func:`_stable_sort`).
_NEARLY_SORTED = 64
#: The widest integers numpy's stable sort orders by radix sort, O(n), not timsort: the
#: width of the top bits :func:`_stable_sort` puts in order first.
_DIGIT_BITS = 16


def _windows_hit(ea: np.ndarray, ta: np.ndarray, eb: np.ndarray, tb: np.ndarray, window: int, n: int) -> np.ndarray:
    """For each A event (entity row ``ea``, instant ``ta``; rows below ``n``): whether a B
    event of the same entity has ``ta < tb <= ta + window``.

    First the events that cannot decide are set aside: a B event outside (first A, last
    A + window] of its entity falls in no window, and an A event outside [first B -
    window, last B) of the B events left has none in its window. The events left are
    sorted together by (entity, instant), B first at a tie (B events come first and the
    sort is stable): then the first B event after an A event in that order, if it is of
    the same entity, is the entity's first B event later than ``ta``, and it alone
    decides. The sort is one stable sort of an int64 key, the entity row above the
    instant (:func:`_stable_sort`: quick whether the sources are stored by entity or in
    time order); the instant is shifted right as far as it must be to fit. Two instants
    of one entity closer than that shift keep their stored order; if any such pair is
    out of time order, the events are sorted again by their exact instants."""
    out = np.zeros(len(ea), dtype=bool)
    if len(ea) == 0 or len(eb) == 0:
        return out
    first, last = _span(ea, ta, n)
    later = np.flatnonzero(tb > first[eb])  # alone first, so that the second test reads fewer rows
    eb, tb = eb[later], tb[later]
    near = np.flatnonzero(tb <= last[eb] + window)  # each `last` here is an A event's instant
    eb, tb = eb[near], tb[near]
    first, last = _span(eb, tb, n)
    live = ta < last[ea]
    live &= ta + window >= first[ea]
    live = np.flatnonzero(live)
    ea, ta = ea[live], ta[live]
    na, nb = len(ea), len(eb)
    if na == 0:
        return out
    t = np.concatenate((tb, ta))
    low = _KEY_BITS - n.bit_length()
    t0 = int(t.min())
    shift = max(0, (int(t.max()) - t0).bit_length() - low)
    key = np.concatenate((eb, ea))
    key <<= low
    offset = t - t0
    offset >>= shift
    key |= offset
    order, key = _stable_sort(key)
    t = t[order]
    if shift and bool(((key[1:] == key[:-1]) & (t[1:] < t[:-1])).any()):
        exact = np.lexsort((t, key >> low))  # stable: B still first at a tie
        order, key, t = order[exact], key[exact], t[exact]
    # The i-th A event in sorted order, at position p, has p - i B events before it: the
    # first B event after it is the (p - i)-th (from 0) of the B events in sorted order.
    is_b = order < nb
    at_a, at_b = np.flatnonzero(~is_b), np.flatnonzero(is_b)
    before = at_a - np.arange(na)
    nxt = at_b[np.minimum(before, nb - 1)]
    same_entity = (key[nxt] ^ key[at_a]) >> low == 0
    hit = (before < nb) & same_entity & (t[nxt] <= t[at_a] + window)
    out[live[order[at_a] - nb]] = hit
    return out


def _span(rows: np.ndarray, times: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per entity row below ``n``: the earliest and the latest of its ``times``
    (INT64_MAX and INT64_MIN for an entity without any)."""
    first = np.full(n, INT64_MAX, dtype=np.int64)
    np.minimum.at(first, rows, times)
    last = np.full(n, INT64_MIN, dtype=np.int64)
    np.maximum.at(last, rows, times)
    return first, last


def _stable_sort(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The permutation that sorts ``key`` (non-negative int64) stably, the same as
    ``np.argsort(key, kind="stable")``, and the sorted keys; quick in any stored order.

    numpy's stable sort of int64 is timsort: quick on keys whose top bits are nearly in
    order (sources stored by entity), whatever the order below them, but n log n on keys
    in no order (sources stored in time order, as an event log is). Those are first put
    in order of their top 16 bits by numpy's stable sort of 16-bit integers, a radix
    sort (O(n)); timsort then only orders the keys within each run of equal top bits (a
    few dozen keys for a million entities), the runs already in place. Either way the
    last sort is timsort over the whole key, so the result is the stable order."""
    n = len(key)
    top = key >> max(0, int(key.max()).bit_length() - _DIGIT_BITS) if n else key
    if np.count_nonzero(top[1:] < top[:-1]) <= n // _NEARLY_SORTED:
        order = np.argsort(key, kind="stable")
        return order, key[order]
    by_top = np.argsort(top.astype(np.uint16), kind="stable")
    key = key[by_top]
    within = np.argsort(key, kind="stable")
    return by_top[within], key[within]


def _bincount(rows: np.ndarray, keep: np.ndarray | None, n: int) -> np.ndarray:
    picked = rows if keep is None else rows[keep]
    return np.bincount(picked, minlength=n).astype(np.int64, copy=False)


def _latest(agg: ir.Aggregate, src: Table, rows: np.ndarray, keep: np.ndarray | None, n: int) -> Column:
    col = src.columns[agg.column.column]
    picked = np.arange(len(rows)) if keep is None else np.flatnonzero(keep)
    owners = rows[picked]
    # Grouped maxima instead of a sort: per entity, the rows reaching the greatest value
    # of each ranking column in turn (`by`, then the id that breaks a tie).
    for column in latest_rank(agg):
        values = _orderable(src.columns[column].values[picked])
        top = values == _group_max(owners, values, n)[owners]
        owners, picked = owners[top], picked[top]
    seen = np.zeros(n, dtype=bool)
    seen[owners] = True
    if np.count_nonzero(seen) != len(owners):
        # Equal ids (only in a table built without the unique-key check): the last such
        # row wins, as it would after a stable sort.
        last = len(owners) - 1 - np.unique(owners[::-1], return_index=True)[1]
        owners, picked = owners[last], picked[last]
    values = np.empty(n, dtype=col.values.dtype)
    if values.dtype == object:
        values[:] = None
    else:
        values[:] = 0
    valid = np.zeros(n, dtype=bool)
    values[owners] = col.values[picked]
    valid[owners] = col.valid[picked]
    return Column(values, valid)


def _group_max(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The greatest of ``values`` per group, in the values' own terms (for text, their
    ranks; compare with :func:`_orderable` of the same values)."""
    values = _orderable(values)
    start = -np.inf if values.dtype.kind == "f" else np.iinfo(values.dtype).min
    out = np.full(n, start, dtype=values.dtype)
    np.maximum.at(out, groups, values)
    return out


def _orderable(values: np.ndarray) -> np.ndarray:
    """Numbers as they are; anything else (text ids) as its rank in sorted order. Python
    sorts text by code point: the order the SQL builder asks of every engine (a `latest`
    tie goes to the greatest id in it, whatever the database's collation)."""
    if values.dtype.kind in "iuf":
        return values
    return np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
