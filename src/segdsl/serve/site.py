"""The served project (:class:`Site`) and what every view shares: the error for input
the page should not have sent, and diagnostics and instants as the page reads them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

import segdsl

if TYPE_CHECKING:
    from segdsl.project.workspace import Workspace


class BadRequest(Exception):
    """Input the page sent that cannot be served: a status (4xx), a message, and the
    diagnostics behind it (as the CLI's ``--format json`` writes them)."""

    def __init__(self, status: int, message: str, diagnostics: list[dict] | None = None, rendered: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.diagnostics = diagnostics or []
        self.rendered = rendered  # the diagnostics as `segdsl check` prints them, carets and all

    def to_json(self) -> dict:
        out = {"error": self.message, "diagnostics": self.diagnostics}
        if self.rendered is not None:
            out["rendered"] = self.rendered
        return out


@attrs.frozen
class Site:
    """The served project: the workspace, the instant every figure is computed at,
    and where the data is (``dsn``, or the project's CSV data in memory)."""

    ws: Workspace
    as_of: dt.datetime
    dsn: str | None = None

    @property
    def source(self) -> str:
        """The data source, as the header shows it (a DSN without its password)."""
        if self.dsn:
            from segdsl.lifecycle.state import shown_location

            return shown_location(self.dsn)
        from segdsl.project.workspace import display_path

        return f"in memory: CSV data in {display_path(self.ws.data_dir)}"

    @property
    def stamp(self) -> str:
        return stamp(self.as_of)

    @property
    def root(self) -> Path | None:
        project = self.ws.project
        return project.root if project is not None and project.config is not None else None


def open_site(project: str | Path, *, as_of: str | dt.datetime = "now", dsn: str | None = None) -> Site:
    """The project around ``project``, pinned at ``as_of`` (``now`` is read once, at
    start, so every figure on the page is of the same instant)."""
    ws = segdsl.load_project(project)
    return Site(ws, segdsl.parse_as_of(as_of), dsn)


def stamp(instant: dt.datetime | None) -> str | None:
    return instant.isoformat().replace("+00:00", "Z") if instant is not None else None


def json_diagnostics(diagnostics, sources) -> list[dict]:
    """Diagnostics exactly as ``segdsl check --format json`` writes them."""
    import json

    return json.loads(segdsl.render(diagnostics, sources, format="json"))["diagnostics"]


