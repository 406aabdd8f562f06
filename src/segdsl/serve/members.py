"""A segment's members for the page: a sample with the columns its rule reads, and
every member as CSV, streamed. Both are :func:`segdsl.show` (in memory, or on the
database through a server-side cursor); the CSV is written as ``segdsl show --format
csv`` writes it, value for value."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import segdsl
from segdsl.serve.site import BadRequest, json_diagnostics

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.api.inspect import ShowResult
    from segdsl.serve.site import Site


def _show(site: Site, segment: ir.Segment, limit: int | None) -> ShowResult:
    shown = segdsl.show(site.ws, segment, dsn=site.dsn, as_of=site.as_of, limit=limit)
    if not shown.ok:
        raise BadRequest(422, "the members cannot be listed", json_diagnostics(shown.diagnostics, site.ws.sources))
    return shown


def sample(site: Site, segment: ir.Segment, limit: int) -> tuple[list[str], list[list], int]:
    """The first ``limit`` members (in key order) with the columns the rule reads; and
    the segment's size."""
    shown = _show(site, segment, limit)
    rows = [[cell(v) for v in row] for row in shown]
    size = segdsl.sizes(site.ws, [segment], as_of=site.as_of, dsn=site.dsn)
    if not size.ok:
        raise BadRequest(422, "the segment cannot be sized", json_diagnostics(size.diagnostics, site.ws.sources))
    return shown.columns, rows, size.sizes[0].size


def csv_lines(site: Site, segment: ir.Segment) -> Iterator[str]:
    """The header, then one line per member in key order, written as they are read."""
    shown = _show(site, segment, None)
    return _lines(shown)


def _lines(shown: ShowResult) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    from segdsl.cli.inspect import cell as csv_cell

    writer.writerow(shown.columns)
    for n, row in enumerate(shown, 1):
        writer.writerow([csv_cell(v) for v in row])
        if n % 1000 == 0:
            yield flush()
    yield flush()


def cell(value: Any) -> Any:
    """A value for the page's JSON: NULL as null, true and false as JSON's, numbers as
    they are, everything else as ``segdsl show`` prints it."""
    from segdsl.cli.inspect import cell as text

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return text(value)
