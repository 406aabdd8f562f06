"""A segment's members for the page: a sample with the columns its rule reads, and
every member as CSV, streamed.

The keys come from :func:`segdsl.members` (in memory or on the database). The values
of the columns a rule reads are taken from the profile built in memory; on a database
the sample and the CSV list the keys alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import segdsl

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.schema.model import Field
    from segdsl.serve.site import Site


def columns_read(segment: ir.Segment, key: str) -> list[Field]:
    """The profile fields the rule reads, through the segments it refers to, but the
    key (``key``), which comes first anyway."""
    from segdsl import ir

    return [f for f in ir.fields_used(segment.rule) if f.name != key]


def keys(site: Site, segment: ir.Segment) -> list[Any]:
    from segdsl.serve.site import BadRequest, json_diagnostics

    found = segdsl.members(site.ws, [segment], as_of=site.as_of, dsn=site.dsn)
    if not found.ok:
        raise BadRequest(422, "the members cannot be listed", json_diagnostics(found.diagnostics, site.ws.sources))
    return list(found.members[segment.name])


def values(site: Site, segment: ir.Segment, wanted: list[Any]) -> tuple[list[str], dict[Any, tuple]]:
    """The column names shown beside the key, and for each key in ``wanted`` its values
    (in memory only; on a database, no columns)."""
    fields = columns_read(segment, site.ws.schema.key.name)
    if site.dsn or not fields:
        return [], {}
    from segdsl.backends.memory.profile import load_profile

    table = load_profile(site.ws.schema, site.ws.data_dir, [segment.rule], site.as_of)
    want = set(wanted)
    found: dict[Any, tuple] = {}
    for row in table.iter_rows([site.ws.schema.key.column, *(f.column for f in fields)]):
        if row[0] in want:
            found[row[0]] = row[1:]
    return [f.name for f in fields], found


def sample(site: Site, segment: ir.Segment, limit: int) -> tuple[list[str], list[list], int]:
    """The first ``limit`` members (in key order) with their values; and the size."""
    every = keys(site, segment)
    first = every[:limit]
    names, found = values(site, segment, first)
    key = site.ws.schema.key.name
    rows = [[cell(k), *(cell(v) for v in found.get(k, (None,) * len(names)))] for k in first]
    return [key, *names], rows, len(every)


def csv_lines(site: Site, segment: ir.Segment) -> Iterator[str]:
    """The header, then one line per member in key order. The members and their values
    are read now; the lines are written as they are iterated, a thousand at a time."""
    every = keys(site, segment)
    names, found = values(site, segment, every)
    return _lines(site.ws.schema.key.name, names, every, found)


def _lines(key: str, names: list[str], every: list[Any], found: dict[Any, tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([key, *names])
    empty = (None,) * len(names)
    for n, k in enumerate(every, 1):
        writer.writerow([k, *("" if v is None else cell(v) for v in found.get(k, empty))])
        if n % 1000 == 0:
            yield flush()
    yield flush()


def cell(value: Any) -> Any:
    """A value as the page and the CSV show it."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple, frozenset, set)):
        return ", ".join(sorted(str(v) for v in value))
    return value
