"""The profile in memory: the entity table plus every trait a rule reads, computed
from the source tables with numpy group-bys.

Semantics are those of :class:`segdsl.ir.Aggregate` — the same definitions the SQL
backend compiles into its profile CTE — so the evaluators see exactly the values a
database would compute: sums are exact integer sums of the columns' encodings, a `latest`
tie goes to the row with the greatest id, and empty groups give 0 or NULL as documented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import numpy as np

from segdsl import ir
from segdsl.data import Column, DataError, Table, load_table
from segdsl.schema import Field, Schema


def profile_fields(rules: Iterable[ir.Node]) -> list[Field]:
    """The derived fields a set of rules reads, without repeats."""
    seen: dict[str, Field] = {}
    for rule in rules:
        for f in ir.derived_fields(rule):
            seen.setdefault(f.column, f)
    return list(seen.values())


def load_profile(schema: Schema, data_dir: Path, rules: Iterable[ir.Node], as_of: dt.datetime) -> Table:
    """Read the entity table and the sources the rules need from ``data_dir``, and
    build the profile with every trait the rules read."""
    fields = profile_fields(rules)
    entity = load_table(schema, data_dir)
    needed = {f.derive.source for f in fields}
    sources = {name: load_source(schema.sources[name], data_dir) for name in needed}
    return build_profile(schema, entity, sources, fields, as_of)


def load_source(source: Schema, data_dir: Path, *, missing_ok: bool = False) -> Table:
    """A source table's rows from ``<table>.csv``. A missing file is an error (a typo
    in a table name must not quietly make every trait NULL) unless ``missing_ok``."""
    path = Path(data_dir) / f"{source.table}.csv"
    if not path.exists():
        if missing_ok:
            return Table.from_records(source, [])
        hint = "run `segdsl model train` to write it" if source.table == "model_scores" else (
            "run `segdsl seed generate`, or check `table` in the schema")
        raise DataError(str(path), None, None, f"no data for the source `{source.entity}`; {hint}")
    return load_table(source, data_dir)


def build_profile(
    schema: Schema, entity: Table, sources: Mapping[str, Table], fields: Iterable[Field], as_of: dt.datetime
) -> Table:
    """``entity`` with one more column per derived field, named by its ``column``."""
    fields = list(fields)
    keys = entity.columns[schema.key.column].values
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    columns = dict(entity.columns)
    for f in fields:
        src = sources[f.derive.source]
        columns[f.column] = _derive(f, src, sorted_keys, order, entity.n_rows, as_of)
    # The profile's schema lists the derived fields as columns, so records() decodes them.
    extra = {f.name: attrs.evolve(f, derive=None, derive_text=None, days_since=None) for f in fields}
    profile_schema = attrs.evolve(schema, fields={**schema.fields, **extra})
    return Table(profile_schema, columns, entity.n_rows)


def _derive(f: Field, src: Table, sorted_keys: np.ndarray, order: np.ndarray, n: int, as_of: dt.datetime) -> Column:
    from segdsl.evaluate.columnar import evaluate

    agg: ir.Aggregate = f.derive
    owner = src.columns[agg.entity_key].values
    # Row i of the source belongs to entity row rows[i]; rows of unknown entities drop out.
    pos = np.searchsorted(sorted_keys, owner)
    pos = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    known = (sorted_keys[pos] == owner) if len(sorted_keys) else np.zeros(len(owner), dtype=bool)
    rows = order[pos] if len(order) else pos
    keep = known if agg.where is None else known & evaluate(agg.where, src, as_of)
    match agg.fn:
        case "count":
            return Column(np.bincount(rows[keep], minlength=n).astype(np.int64), np.ones(n, dtype=bool))
        case "sum":
            col = src.columns[agg.column.column]
            keep &= col.valid
            out = np.zeros(n, dtype=np.int64)
            np.add.at(out, rows[keep], col.values[keep].astype(np.int64))
            return Column(out, np.ones(n, dtype=bool))
        case "min" | "max":
            col = src.columns[agg.column.column]
            keep &= col.valid
            values = col.values[keep]
            ufunc = np.minimum if agg.fn == "min" else np.maximum
            if values.dtype.kind == "f":
                start = np.inf if agg.fn == "min" else -np.inf
            else:
                info = np.iinfo(values.dtype) if values.dtype.kind in "iu" else np.iinfo(np.int64)
                start = info.max if agg.fn == "min" else info.min
            out = np.full(n, start, dtype=values.dtype if len(values) else col.values.dtype)
            ufunc.at(out, rows[keep], values)
            valid = np.bincount(rows[keep], minlength=n) > 0
            return Column(out, valid)
    return _latest(agg, src, rows, keep, n)


def _latest(agg: ir.Aggregate, src: Table, rows: np.ndarray, keep: np.ndarray, n: int) -> Column:
    col = src.columns[agg.column.column]
    by = src.columns[agg.by.column]
    ids = src.columns[agg.id_column].values
    keep = keep & by.valid
    picked = np.flatnonzero(keep)
    # Sort by (entity row, by, id); the last row of each entity's run is its latest.
    ranking = np.lexsort((ids[picked], by.values[picked], rows[picked]))
    picked = picked[ranking]
    owners = rows[picked]
    last = np.ones(len(picked), dtype=bool)
    if len(picked):
        last[:-1] = owners[1:] != owners[:-1]
    winners = picked[last]
    values = np.empty(n, dtype=col.values.dtype)
    if values.dtype == object:
        values[:] = None
    else:
        values[:] = 0
    valid = np.zeros(n, dtype=bool)
    values[rows[winners]] = col.values[winners]
    valid[rows[winners]] = col.valid[winners]
    return Column(values, valid)
