"""A segment's refresh history for the page: its size at each refresh and who entered
and exited, the last refresh of every segment, and the sync consumers reading them.
Read from the project's state store, opened read-only; a store that does not exist yet
is an empty history, and is not created."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from segdsl.serve.site import stamp

if TYPE_CHECKING:
    from segdsl.lifecycle.state import Run, Store
    from segdsl.serve.site import Site

#: Where the history comes from, as the page says.
SOURCE = "refresh runs in the state store (segdsl refresh)"


@contextlib.contextmanager
def _store(site: Site) -> Iterator[Store | None]:
    """The project's state store, read-only (on Postgres when the data is), or None."""
    from segdsl.lifecycle.refresh import read_project_store
    from segdsl.lifecycle.state import StateError, is_postgres_dsn

    dsn = site.dsn if site.dsn and is_postgres_dsn(site.dsn) else None
    try:
        store = read_project_store(site.root, None, dsn)
    except StateError:
        store = None
    if store is None:
        yield None
        return
    with store:
        yield store


def _run(r: Run) -> dict:
    return {"as_of": stamp(r.as_of), "size": r.size, "entered": r.entered, "exited": r.exited}


def runs(site: Site, segment: str) -> list[dict]:
    """Each refresh of ``segment``, oldest first."""
    with _store(site) as store:
        return [_run(r) for r in store.runs(segment)] if store else []


def heads(site: Site) -> dict[str, dict]:
    """Each segment's last refresh: when, its size then, entered and exited."""
    with _store(site) as store:
        return {name: _run(r) for name, r in store.heads().items()} if store else {}


def consumers(site: Site) -> dict[str, list[str]]:
    """The sync consumers reading each segment's changes."""
    with _store(site) as store:
        return {s.name: store.consumers(s.name) for s in site.ws.requested_segments()} if store else {}
