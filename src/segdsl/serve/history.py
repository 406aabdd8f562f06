"""A segment's refresh history for the page: its size at each refresh and how many
entered and exited (the store's runs), who entered and left (:func:`segdsl.history`),
the last refresh of every segment, and the sync consumers reading them. Read from the
project's state store, opened read-only; a store that does not exist yet is an empty
history, and is not created."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import segdsl
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


#: How many keys of those who entered or left the page lists.
SHOWN_KEYS = 50


def last_changes(site: Site, segment: str) -> dict | None:
    """Who entered and who left ``segment`` at its last refresh that changed it (the
    first :data:`SHOWN_KEYS` of each, and how many), or None without any."""
    from segdsl.lifecycle.state import StateError

    try:
        events = segdsl.history(site.ws, segment=segment, dsn=site.dsn)
    except (StateError, segdsl.UsageError):
        return None
    if not events:
        return None
    last = events[-1].instant
    keys = {"entered": [], "left": []}
    for e in events:
        if e.instant == last:
            keys[e.change].append(e.key)
    return {"as_of": stamp(last), **{f"{change}_count": len(found) for change, found in keys.items()},
            **{change: sorted(found)[:SHOWN_KEYS] for change, found in keys.items()}}
