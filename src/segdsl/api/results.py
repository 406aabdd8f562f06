"""The API's results: small frozen classes, each with its ``diagnostics`` and ``ok``,
and the types of the arguments the API accepts."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

import attrs

from segdsl.frozen import Value, frozen

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.diagnostics import Diagnostic
    from segdsl.lifecycle.sizes import Overlap, Size
    from segdsl.schema.model import Schema
    from segdsl.syntax.span import SourceFile

#: A path as the API accepts it.
PathLike = Union[str, "os.PathLike[str]"]
#: An evaluation instant: an aware or naive (UTC) datetime, a date (its UTC midnight),
#: or text (``now``, ``YYYY-MM-DD``, an ISO timestamp).
AsOf = Union[dt.datetime, dt.date, str]
#: What can be compiled or evaluated: a segment's name (in the files loaded), a checked
#: segment, a checked rule, or the result of :func:`check_expression`.
RuleLike = Union[str, "ir.Segment", "ir.Node", "CheckedRule"]



@frozen
class LoadedSchema(Value):
    """A schema file, loaded: the schema, or ``None`` and the reasons."""

    schema: Schema | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.schema is not None and not any(d.is_error for d in self.diagnostics)


@frozen
class CheckedRule(Value):
    """A bare rule checked against a schema: the typed rule, or ``None`` when there are
    errors. ``source`` is the rule's text, for rendering the diagnostics."""

    rule: ir.Node | None
    diagnostics: tuple[Diagnostic, ...] = ()
    source: SourceFile | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.rule is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def sources(self) -> dict[str, SourceFile]:
        return {self.source.path: self.source} if self.source is not None else {}


@frozen
class SizeReport(Value):
    """Exact sizes of segments at one instant, and, if asked, how many members each
    pair shares. Empty, with the reasons in ``diagnostics``, when they cannot be had."""

    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    sizes: tuple[Size, ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def counts(self) -> dict[str, int]:
        """Each segment's size by name."""
        return {s.segment.name: s.size for s in self.sizes}

    @property
    def total(self) -> int:
        """The number of profiles the segments are drawn from."""
        return self.sizes[0].total if self.sizes else 0


@frozen
class MemberReport(Value):
    """Each segment's member keys at one instant, in ascending order."""

    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    members: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@frozen
class JourneyReport(Value):
    """A journey's simulated run at one instant (``run``: a
    :class:`~segdsl.lifecycle.journeys.JourneyRun`, ``None`` when the audience could not
    be evaluated) and, beside it, each declared holdout's simulated comparison. Every
    figure is SIMULATED: no message is ever sent."""

    journey: str
    as_of: dt.datetime
    run: Any = None
    holdouts: tuple[Any, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.run is not None and not any(d.is_error for d in self.diagnostics)

    def to_json(self) -> dict:
        out = self.run.to_json()
        if self.holdouts:
            out["holdouts"] = [h.to_json() for h in self.holdouts]
        return out


@frozen
class Formatted(Value):
    """Source in the canonical layout: ``text`` (``None`` when it does not parse, the
    input unchanged with ``E0090`` should the layout ever change its meaning)."""

    text: str | None
    changed: bool
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.text is not None and not self.diagnostics


@frozen
class DatabaseLoad(Value):
    """What :func:`load_database` wrote: rows per table, on which engine family."""

    family: str
    rows: Mapping[str, int] = attrs.field(factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)
