"""Who is in a segment and why: a segment's members with the columns its rule reads
(``segdsl show``), one entity's profile for tracing a rule (``segdsl explain FILE``),
and who entered and left when (``segdsl history``).

Members come from the same evaluators as ``segdsl size``: the columnar evaluator on the
CSV data, or the compiled rule on a database, read a batch at a time so a segment of
millions of rows streams in bounded memory. An entity's profile is built by the
in-memory profile code from its own rows only — read from the CSV data, or fetched from
the database with the key as a bound parameter — so a trace judges exactly the values
the evaluators see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from segdsl import ir
from segdsl.lifecycle.refresh import EvaluationError
from segdsl.schema.model import Field, Kind, Schema

#: Rows decoded at a time when streaming members from memory or a database.
BATCH = 10_000


class UnknownKey(ValueError):
    """A key that is no key of the entity: of the wrong type, or of no entity."""


def typed_key(schema: Schema, key: Any) -> Any:
    """``key`` as a value of the schema's key field: an int key from ``"1001"`` too; a
    text key as text. Raises :class:`UnknownKey` when it cannot be one."""
    kind = schema.key.kind
    if kind is Kind.INT:
        if isinstance(key, bool):
            raise UnknownKey(f"`{key}` is not an integer key of `{schema.entity}`")
        if isinstance(key, int):
            return key
        text = str(key).strip().replace("_", "")
        try:
            return int(text, 10)
        except ValueError:
            raise UnknownKey(f"`{key}` is not a key of `{schema.entity}`: its key `{schema.key.name}` is an "
                            "integer") from None
    return key if isinstance(key, str) else str(key)


# ---------------------------------------------------------------------- show


def show_columns(schema: Schema, rule: ir.Node, columns: Sequence[str] | None, all_columns: bool) -> list[Field]:
    """The fields ``show`` lists after the key: ``columns`` by name, every field, or by
    default the fields the rule reads (through the segments it refers to)."""
    fields = schema.fields
    if columns:
        unknown = [c for c in columns if c not in fields]
        if unknown:
            from segdsl.check.suggest import did_you_mean

            hint = did_you_mean(unknown[0], fields) or f"the fields are: {', '.join(fields)}"
            raise ValueError(f"`{unknown[0]}` is not a field of `{schema.entity}`; {hint}")
        chosen = [fields[c] for c in dict.fromkeys(columns)]
        computed = [f for f in chosen if f.days_since is not None]
        if computed:
            f = computed[0]
            raise ValueError(f"`{f.name}` is counted from `{f.days_since}` at each as-of; show `{f.days_since}`")
    elif all_columns:
        chosen = [f for f in fields.values() if f.days_since is None]
    else:
        chosen = ir.fields_used(rule)
    return [f for f in chosen if f.column != schema.key.column]


def rows_in_memory(segment: ir.Segment, schema: Schema, data_dir: Path, as_of: dt.datetime, fields: Sequence[Field],
                   limit: int | None) -> Callable[[], Iterator[tuple]]:
    """Evaluate now; a function that yields the members' rows (key, then ``fields``)
    in key order, decoded :data:`BATCH` rows at a time."""
    import numpy as np

    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile
    from segdsl.data.tables import Column, Table

    extra = [ir.IsNull(f) for f in fields if f.derive is not None]
    table = load_profile(schema, data_dir, [segment.rule, *extra], as_of)
    rows = np.nonzero(evaluate(segment.rule, table, as_of))[0]
    keys = table.columns[schema.key.column].values[rows]
    rows = rows[np.argsort(keys, kind="stable")]  # text keys: Python's order, by code point
    if limit is not None:
        rows = rows[:limit]
    names = [schema.key.column, *(f.column for f in fields)]

    def produce() -> Iterator[tuple]:
        for lo in range(0, len(rows), BATCH):
            part = rows[lo:lo + BATCH]
            cols = {c: Column(table.columns[c].values[part], table.columns[c].valid[part]) for c in names}
            yield from Table(table.schema, cols, len(part)).iter_rows(names, batch=BATCH)

    return produce


def rows_on_database(segment: ir.Segment, schema: Schema, dsn: str, as_of: dt.datetime, fields: Sequence[Field],
                     limit: int | None) -> Callable[[], Iterator[tuple]]:
    """Compile now (an error is an :class:`EvaluationError`); a function that runs the
    query and yields the members' rows in key order, read :data:`BATCH` at a time."""
    from segdsl.backends.sql import compile_rule
    from segdsl.backends.sql.storage import python_value
    from segdsl.data.loading import open_loaded

    def compiled_for(engine):
        compiled = compile_rule(segment.rule, schema, target=engine.dialect, form="select", as_of=as_of,
                                params=engine.binds_named_params, columns=fields, limit=limit)
        if not compiled.ok:
            raise EvaluationError(compiled.diagnostics)
        return compiled

    with open_loaded(dsn, schema) as engine:
        compiled_for(engine)
    shown = [schema.key, *fields]

    def produce() -> Iterator[tuple]:
        with open_loaded(dsn, schema) as engine:
            compiled, t = compiled_for(engine), engine.target
            for row in engine.stream(compiled.sql, compiled.params or None, batch=BATCH):
                yield tuple(python_value(t, f, v) for f, v in zip(shown, row))

    return produce


# --------------------------------------------------------------- one profile


@attrs.frozen
class EntityProfile:
    """One entity's profile row (every field a rule reads, traits computed) and, per
    source, its rows there: what a trace judges and counts."""

    record: Mapping[str, Any]
    sources: Mapping[str, list[dict[str, Any]]]
    as_of: dt.datetime

    def aggregate_rows(self, field: Field) -> dict[str, int]:
        """How many of the entity's rows in the trait's source there are, and how many
        the aggregate counted (its `where` TRUE; for sum, min and max a value; for
        `latest` a `by`)."""
        from segdsl.backends.memory.row import compile_row

        agg = field.derive
        rows = self.sources.get(agg.source, [])
        keep = compile_row(agg.where, self.as_of) if agg.where is not None else None
        counted = 0
        for r in rows:
            if keep is not None and not keep(r):
                continue
            if agg.fn in ("sum", "min", "max") and r.get(agg.column.column) is None:
                continue
            if agg.fn == "latest" and r.get(agg.by.column) is None:
                continue
            counted += 1
        return {"rows": len(rows), "counted": counted}


def _derived_sources(fields: Sequence[Field]) -> dict[str, str]:
    """Each source the fields read (an aggregate's, or either side of an event
    sequence's), and its column holding the entity's key."""
    out: dict[str, str] = {}
    for f in fields:
        d = f.derive
        for read in ((d.first, d.then) if isinstance(d, ir.Sequence) else (d,)):
            out[read.source] = read.entity_key
    return out


def profile_in_memory(schema: Schema, data_dir: Path, rule: ir.Node, key: Any, as_of: dt.datetime) -> EntityProfile:
    """The profile of the entity ``key`` from the CSV data; a key of no entity is a
    :class:`UnknownKey`."""
    import numpy as np

    from segdsl.backends.memory.profile import load_source, profile_fields, source_columns
    from segdsl.data.tables import Column, Table, load_table

    entity = load_table(schema, data_dir)
    col = entity.columns[schema.key.column]
    rows = np.nonzero(col.valid & (col.values == key))[0]
    if len(rows) == 0:
        raise UnknownKey(f"no {schema.entity} with {schema.key.name} `{key}` in the data")
    one = Table(schema, {c: Column(v.values[rows], v.valid[rows]) for c, v in entity.columns.items()}, 1)
    fields = profile_fields([rule])
    sources = {}
    for name, cols in source_columns(fields).items():
        table = load_source(schema.sources[name], data_dir, columns=cols)
        kc = table.columns[_derived_sources(fields)[name]]
        mine = np.nonzero(kc.valid & (kc.values == key))[0]
        sources[name] = Table(table.schema, {c: Column(v.values[mine], v.valid[mine]) for c, v in table.columns.items()},
                              len(mine))
    return _profile(schema, one, sources, fields, as_of)


def profile_on_database(schema: Schema, dsn: str, rule: ir.Node, key: Any, as_of: dt.datetime) -> EntityProfile:
    """The profile of the entity ``key`` from its rows on the database, each fetched
    with the key as a bound parameter; a key of no entity is a :class:`UnknownKey`."""
    from segdsl.backends.memory.profile import profile_fields
    from segdsl.backends.sql.storage import python_value, select_equal
    from segdsl.data.loading import open_loaded
    from segdsl.data.tables import Table

    fields = profile_fields([rule])
    with open_loaded(dsn, schema) as engine:
        t = engine.target

        def fetch(of: Schema, column: str) -> list[dict[str, Any]]:
            stored = of.stored_fields()
            rows = engine.execute(select_equal(t, of.table, [f.column for f in stored], column), (key,))
            return [{f.column: python_value(t, f, v) for f, v in zip(stored, row)} for row in rows]

        found = fetch(schema, schema.key.column)
        if not found:
            raise UnknownKey(f"no {schema.entity} with {schema.key.name} `{key}` on the database")
        one = Table.from_records(schema, found[:1])
        sources = {name: Table.from_records(schema.sources[name], fetch(schema.sources[name], entity_key))
                   for name, entity_key in _derived_sources(fields).items()}
    return _profile(schema, one, sources, fields, as_of)


def _profile(schema, one, sources, fields, as_of) -> EntityProfile:
    from segdsl.backends.memory.profile import build_profile

    profile = build_profile(schema, one, sources, fields, as_of)
    return EntityProfile(profile.records()[0], {name: _records(t) for name, t in sources.items()}, as_of)


def _records(table) -> list[dict[str, Any]]:
    """The rows of a table that may hold only some of its schema's columns."""
    names = list(table.columns)
    return [dict(zip(names, row)) for row in table.iter_rows(names)]


# ------------------------------------------------------------------- history


@attrs.frozen
class HistoryEvent:
    """One change of membership: at the refresh of ``instant``, ``key`` ``entered`` or
    ``left`` ``segment``."""

    instant: dt.datetime
    segment: str
    key: Any
    change: str  # "entered" | "left"

    def to_dict(self) -> dict[str, Any]:
        return {"instant": self.instant.isoformat().replace("+00:00", "Z"), "segment": self.segment,
                "key": self.key, "change": self.change}


#: The store's word for each change → history's.
_CHANGES = {"entered": "entered", "exited": "left"}


def read_history(store, segments: Sequence[str] | None, key: Any = None,
                 since: dt.datetime | None = None) -> list[HistoryEvent]:
    """The changes the store recorded for ``segments`` (default: every segment it holds),
    oldest first; only ``key``'s, and only from ``since`` on, when given."""
    if store is None:
        return []
    names = list(segments) if segments is not None else sorted(store.heads())
    found: list[tuple[dt.datetime, str, int, HistoryEvent]] = []
    for name in names:
        for e in store.events(name):
            if key is not None and e.key != key:
                continue
            if since is not None and e.as_of < since:
                continue
            found.append((e.as_of, name, e.event_id, HistoryEvent(e.as_of, name, e.key, _CHANGES[e.change])))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


__all__ = ["BATCH", "EntityProfile", "HistoryEvent", "UnknownKey", "profile_in_memory", "profile_on_database",
           "read_history", "rows_in_memory", "rows_on_database", "show_columns", "typed_key"]
