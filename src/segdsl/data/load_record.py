"""The load record: what `segdsl db load` leaves beside a project's tables so that a
reader can tell a complete load from none, and the names a load's new and old tables
take while it runs.

Every load writes its tables under fresh names, then swaps them in at once together
with the record, a row per project in the table ``segdsl_loads`` beside the entity
table (see :func:`segdsl.data.engines.load_project`). The record holds the shape of
every table loaded (columns, kinds and decimal scales), so a size on tables loaded for
another schema is refused with a clear message instead of reading the wrong columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping, Sequence

import attrs

from segdsl.schema.model import Schema, read_schema_dict

#: The table holding one load record per project (per entity table).
RECORD_TABLE = "segdsl_loads"

_RECORD_SCHEMA, _problems = read_schema_dict({
    "entity": "load", "table": RECORD_TABLE, "key": "entity_table",
    "fields": {
        "entity_table": {"type": "text", "nullable": False, "doc": "the project's entity table, as its schema names it"},
        "load_id": {"type": "text", "nullable": False},
        "loaded_at": {"type": "text", "nullable": False, "doc": "when the load was swapped in, in UTC"},
        "shape": {"type": "text", "nullable": False, "doc": "JSON: each table's columns, kinds and decimal scales"},
    },
})
assert _RECORD_SCHEMA is not None, _problems
RECORD_COLUMNS = [f.column for f in _RECORD_SCHEMA.stored_fields()]

#: The names a load's tables take until the swap (``new``) and the replaced ones after
#: it (``old``, MySQL only): `segdsl_new_<load id>_<n>`; ``m`` is the load record's.
_WORKING = re.compile(r"segdsl_(?:new|old)_[0-9a-f]{12}_(?:\d+|m)")


def record_schema(table: str) -> Schema:
    """The load record's table, named ``table``."""
    return attrs.evolve(_RECORD_SCHEMA, table=table)


def new_load_id() -> str:
    return secrets.token_hex(6)


def is_load_id(text: str) -> bool:
    """Whether ``text`` has the form of a load id (:func:`new_load_id`)."""
    return re.fullmatch(r"[0-9a-f]{12}", text) is not None


def working_name(schema_name: str | None, kind: str, load_id: str, n: int | str) -> str:
    """A load's name for its ``kind`` ("new" or "old") table number ``n`` in the schema
    ``schema_name`` (None: the current one)."""
    name = f"segdsl_{kind}_{load_id}_{n}"
    return name if schema_name is None else f"{schema_name}.{name}"


def is_working_name(table: str) -> bool:
    """Whether ``table`` (a name within its schema) is a load's new or old table."""
    return _WORKING.fullmatch(table) is not None


def project_tables(schema: Schema) -> list[tuple[str, Schema]]:
    """The tables a load writes: the entity table, then each source's."""
    return [(schema.table, schema), *((s.table, s) for s in schema.sources.values())]


def shape(schema: Schema) -> dict[str, list[list]]:
    """Each table's stored columns with their kinds and decimal scales: what the SQL
    segdsl compiles reads, and what a load writes."""
    return {table: [[f.column, f.kind.value, f.type.scale or 0] for f in s.stored_fields()]
            for table, s in project_tables(schema)}


@attrs.frozen
class LoadRecord:
    entity_table: str
    load_id: str
    loaded_at: str
    shape: Mapping[str, list]

    def row(self) -> dict[str, str]:
        return {"entity_table": self.entity_table, "load_id": self.load_id, "loaded_at": self.loaded_at,
                "shape": json.dumps(self.shape, ensure_ascii=False, sort_keys=True)}

    @classmethod
    def from_row(cls, row: Sequence) -> LoadRecord:
        values = dict(zip(RECORD_COLUMNS, row))
        try:
            found = json.loads(values["shape"])
        except (TypeError, ValueError):
            found = {}
        return cls(str(values["entity_table"]), str(values["load_id"]), str(values["loaded_at"]),
                   found if isinstance(found, dict) else {})


def record_for(schema: Schema, load_id: str) -> LoadRecord:
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return LoadRecord(schema.table, load_id, stamp, shape(schema))


def shape_problem(schema: Schema, record: LoadRecord) -> str | None:
    """What differs between the tables ``record`` says were loaded and the tables
    ``schema`` reads, in a sentence; None when they agree."""
    wanted, loaded = shape(schema), record.shape
    for table, columns in wanted.items():
        if table not in loaded:
            return f"it has no table `{table}`"
        had = {c[0]: c for c in loaded[table] if isinstance(c, list) and c}
        for column in columns:
            if column[0] not in had:
                return f"table `{table}` has no column `{column[0]}`"
            if had[column[0]] != column:
                return (f"column `{column[0]}` of table `{table}` was loaded as {_kind(had[column[0]])}, "
                        f"not {_kind(column)}")
    return None


def _kind(column: list) -> str:
    kind, scale = (column + [None, 0])[1:3]
    return f"{kind} (scale {scale})" if scale else str(kind)
