"""The API for seeing who is in a segment and why: a segment's members with the columns
its rule reads (``show``), one entity's path through a rule (``explain_member``), and
who entered and left when (``history``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from segdsl.api.results import AsOf, PathLike
from segdsl.api.run import parse_as_of
from segdsl.project.errors import UsageError

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.backends.memory.trace import TraceNode
    from segdsl.diagnostics import Diagnostic
    from segdsl.lifecycle.inspect import HistoryEvent
    from segdsl.project.workspace import Workspace


@attrs.frozen(eq=False)
class ShowResult:
    """A segment's members as rows: ``columns`` names each row's values, the key first.
    Iterating evaluates nothing again in memory and runs the query once on a database;
    rows come a batch at a time, so a segment of millions streams. ``rows()`` lists
    them all. With ``diagnostics`` that are errors there are no rows."""

    segment: str
    columns: list[str]
    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    limit: int | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    _produce: Callable[[], Iterator[tuple]] | None = attrs.field(default=None, alias="produce", repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def __iter__(self) -> Iterator[tuple]:
        return iter(()) if self._produce is None else self._produce()

    def rows(self) -> list[tuple]:
        return list(self)


@attrs.frozen(eq=False)
class MemberTrace:
    """Why one entity is or is not in a segment: the rule as a tree (``root``) with each
    node's verdict — ``true``, ``false`` or ``unknown`` — and the values behind it.
    ``verdict`` is the root's: the entity is a member exactly when it is ``true``."""

    segment: str
    key: Any
    as_of: dt.datetime
    evaluated: str  # "in memory" | "database"
    root: TraceNode | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.root is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def verdict(self) -> str | None:
        return None if self.root is None else self.root.verdict

    @property
    def member(self) -> bool:
        return self.verdict == "true"

    def to_dict(self) -> dict[str, Any]:
        from segdsl.backends.memory.trace import jsonable

        return {"segment": self.segment, "key": jsonable(self.key), "as_of": jsonable(self.as_of),
                "evaluated": self.evaluated, "verdict": self.verdict, "member": self.member,
                "rule": None if self.root is None else self.root.to_dict()}


def show(
    workspace: Workspace,
    segment: str | ir.Segment,
    *,
    dsn: str | None = None,
    as_of: AsOf | None = None,
    columns: Sequence[str] | None = None,
    all_columns: bool = False,
    limit: int | None = None,
    data: PathLike | None = None,
) -> ShowResult:
    """The members of ``segment`` at ``as_of`` (default: now), in key order, each as a
    row of its key and, by default, the fields the rule reads (``columns`` names them;
    ``all_columns`` takes every field of the schema). In memory on the project's CSV
    data (or ``data``), or on the database at ``dsn``. ``limit`` keeps the first rows."""
    from segdsl.api.run import data_folder
    from segdsl.lifecycle.inspect import rows_in_memory, rows_on_database, show_columns
    from segdsl.lifecycle.refresh import EvaluationError

    instant = parse_as_of("now" if as_of is None else as_of)
    where = "database" if dsn else "in memory"
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise UsageError(f"a limit is a whole number of rows, not {limit!r}", "limit")
    chosen = _segment(workspace, segment)
    if isinstance(chosen, tuple):
        return ShowResult(str(segment), [], instant, where, limit, chosen)
    schema = workspace.schema
    try:
        fields = show_columns(schema, chosen.rule, columns, all_columns)
    except ValueError as exc:
        raise UsageError(str(exc), "column") from None
    names = [schema.key.name, *(f.name for f in fields)]
    try:
        if dsn:
            produce = rows_on_database(chosen, schema, dsn, instant, fields, limit)
        else:
            produce = rows_in_memory(chosen, schema, data_folder(workspace, data), instant, fields, limit)
    except EvaluationError as exc:
        return ShowResult(chosen.name, names, instant, where, limit, exc.diagnostics)
    return ShowResult(chosen.name, names, instant, where, limit, (), produce=produce)


def explain_member(
    workspace: Workspace,
    segment: str | ir.Segment,
    key: Any,
    *,
    dsn: str | None = None,
    as_of: AsOf | None = None,
    data: PathLike | None = None,
) -> MemberTrace:
    """Why the entity ``key`` is or is not in ``segment`` at ``as_of`` (default: now):
    the rule as a tree, each node judged for this entity by the same evaluator that
    decides membership, with the field values, aggregates (result, rows read and
    counted), time windows and referenced segments behind each leaf. ``key`` is typed
    by the schema (``"1001"`` is the integer key 1001); a key that is no entity's is a
    :class:`UsageError`. In memory, or on the database at ``dsn``."""
    from segdsl.api.run import data_folder
    from segdsl.backends.memory.trace import Tracer
    from segdsl.lifecycle.inspect import UnknownKey, profile_in_memory, profile_on_database, typed_key

    instant = parse_as_of("now" if as_of is None else as_of)
    where = "database" if dsn else "in memory"
    chosen = _segment(workspace, segment)
    if isinstance(chosen, tuple):
        return MemberTrace(str(segment), key, instant, where, None, chosen)
    schema = workspace.schema
    try:
        typed = typed_key(schema, key)
        if dsn:
            profile = profile_on_database(schema, dsn, chosen.rule, typed, instant)
        else:
            profile = profile_in_memory(schema, data_folder(workspace, data), chosen.rule, typed, instant)
    except UnknownKey as exc:
        raise UsageError(str(exc), "key") from None
    tracer = Tracer(chosen.rule, instant, rule_text(workspace), _rankings(workspace, chosen.rule, instant, dsn, data))
    return MemberTrace(chosen.name, typed, instant, where, tracer.trace(profile.record, profile.aggregate_rows))


def _rankings(workspace: Workspace, rule: ir.Node, instant, dsn: str | None, data: PathLike | None) -> dict:
    """The rankings ``rule`` reaches, resolved over the whole population (one entity's
    profile cannot rank it): in memory over the project's profile, or on the database."""
    from segdsl import ir as ir_

    if not ir_.rankings(rule):
        return {}
    if dsn:
        from segdsl.data.loading import open_loaded
        from segdsl.lifecycle.cutoffs import resolved_on_database

        with open_loaded(dsn, workspace.schema) as engine:
            return resolved_on_database(rule, workspace.schema, engine, instant)
    from segdsl.api.run import data_folder
    from segdsl.backends.memory.profile import load_profile
    from segdsl.backends.memory.row import resolve_rankings

    table = load_profile(workspace.schema, data_folder(workspace, data), [rule], instant)
    return resolve_rankings(rule, instant, table)


def history(
    workspace: Workspace,
    *,
    segment: str | None = None,
    key: Any = None,
    since: AsOf | None = None,
    state: str | None = None,
    dsn: str | None = None,
) -> list[HistoryEvent]:
    """Who entered and left which segment when, oldest first, from the membership store
    ``segdsl refresh`` keeps (the project's ``.segdsl/state.db``, or ``state``: another
    SQLite file or a Postgres DSN; Postgres when ``dsn`` is one). Each event has its
    refresh's ``instant``, ``segment``, ``key`` and ``change`` (``entered`` or
    ``left``). Only ``segment``'s, ``key``'s, or those from ``since`` on, when given.
    Nothing is written; a store that does not exist yet has no history."""
    from segdsl.lifecycle.inspect import UnknownKey, read_history, typed_key
    from segdsl.lifecycle.refresh import read_project_store

    if workspace.schema is None:
        raise UsageError("the workspace has no schema; see its diagnostics", "context")
    instant = None if since is None else parse_as_of(since)
    typed = None
    if key is not None:
        try:
            typed = typed_key(workspace.schema, key)
        except UnknownKey as exc:
            raise UsageError(str(exc), "key") from None
    root = workspace.project.root if workspace.project and workspace.project.config else None
    store = read_project_store(root, state, dsn)
    try:
        if segment is not None and segment not in workspace.segments and (
                store is None or segment not in store.heads()):
            from segdsl.check.suggest import did_you_mean

            known = sorted({*workspace.segments, *(store.heads() if store else ())})
            hint = did_you_mean(segment, known) or f"the segments are: {', '.join(known) or '(none)'}"
            raise UsageError(f"no segment `{segment}` in the project or its history; {hint}", "segment")
        return read_history(store, None if segment is None else [segment], typed, instant)
    finally:
        if store is not None:
            store.close()


def rule_text(workspace: Workspace) -> Callable[[Any, Any], str]:
    """The text a node was written as, from the workspace's sources."""

    def text(span, node) -> str:
        source = workspace.sources.get(span.path) if span is not None else None
        if source is None:
            return type(node).__name__
        return " ".join(source.text[span.start:span.end].split())

    return text


def _segment(workspace: Workspace, segment) -> ir.Segment | tuple[Diagnostic, ...]:
    from segdsl import ir

    errors = tuple(d for d in workspace.relevant() if d.is_error)
    if workspace.schema is None or errors:
        return errors
    if isinstance(segment, ir.Segment):
        return segment
    if segment in workspace.segments:
        return workspace.segments[segment]
    (found,) = workspace.select([segment])  # a UsageError with a did-you-mean
    return found


__all__ = ["MemberTrace", "ShowResult", "explain_member", "history", "show"]
