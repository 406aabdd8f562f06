"""AST + schema → typed IR, with every problem reported as a diagnostic.

The checker resolves field names against the schema and segment names across all the
modules it is given, types every predicate, lowers it to :mod:`segdsl.ir`, and detects
reference cycles. It never stops at the first problem: a bad predicate is reported and
skipped, and checking goes on.

Journeys, the graph of segment references, the predicate forms and the wording of
messages each live in a ``check_*`` module beside this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from segdsl.syntax import ast
from segdsl import ir
from segdsl.check.graph import (
    RefPlaceholder,
    cycle_path,
    nesting_depth,
    strongly_connected,
    substitute_refs,
    topological_order,
)
from segdsl.check.predicates import (
    INT64_MAX,
    INT64_MIN,
    MAX_DAYS,  # noqa: F401 - still segdsl.check.checker.MAX_DAYS
    MAX_DIGITS,
    PredicateChecks,
)
from segdsl.check.rankings import check_ranking
from segdsl.check.sequences import check_sequence
from segdsl.check.messages import example_condition, first_time_field, kind_name, source_column_help
from segdsl.diagnostics import Diagnostic, Label, error, warning
from segdsl.frozen import building
from segdsl.schema.model import ORDERED, Field, FieldType, Kind, Schema
from segdsl.syntax.printer import operand_text
from segdsl.check.suggest import did_you_mean, one_of

#: How deep rules may nest once segment references are expanded into one another.
MAX_EXPANDED_DEPTH = 160

DEFAULT_REFRESH = {"static": "manual", "dynamic": "daily", "smart": "daily"}


@attrs.frozen
class CheckResult:
    segments: Mapping[str, ir.Segment]
    diagnostics: tuple[Diagnostic, ...]
    journeys: Mapping[str, ir.Journey] = attrs.field(factory=dict)
    splits: Mapping[str, ir.Split] = attrs.field(factory=dict)
    holdouts: Mapping[str, ir.Holdout] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def check_modules(modules: Iterable[ast.Module], schema: Schema) -> CheckResult:
    """Check every segment of ``modules`` together (references may cross files)."""
    with building():  # the IR of a big file is many small values, and no cycles
        return _check_modules(modules, schema)


def _check_modules(modules: Iterable[ast.Module], schema: Schema) -> CheckResult:
    ck = Checker(schema)
    modules = list(modules)
    if any(module.splits or module.holdouts for module in modules):
        from segdsl.check.splits import check_splits  # only projects with splits need it

        ck.declare(modules)
        ck.splits, ck.holdouts = check_splits(ck, modules)
    defs: dict[str, ast.SegmentDef] = {}
    for module in modules:
        for seg in module.segments:
            first = defs.get(seg.name)
            if first is not None:
                ck.diags.append(
                    error(
                        "E0107",
                        f"segment `{seg.name}` is defined twice",
                        seg.name_span,
                        label="second definition",
                        labels=(Label(first.name_span, "first defined here"),),
                        help="segment names are unique across the project; rename one",
                    )
                )
                continue
            defs[seg.name] = seg
    partial = {name: ck.segment(seg, defs) for name, seg in defs.items()}
    segments = ck.link(partial, defs)
    from segdsl.check.lint import lint_segment

    for seg in segments.values():
        ck.diags.extend(lint_segment(seg))
    journeys: dict[str, ir.Journey] = {}
    if any(module.journeys for module in modules):
        from segdsl.check.journeys import check_journeys  # only projects with journeys need it

        journeys = check_journeys(ck, modules, defs, segments)
    return CheckResult(segments, tuple(ck.diags), journeys, ck.splits, ck.holdouts)


def check_expression(
    expr: ast.Expr, schema: Schema, segments: Mapping[str, ir.Segment] | None = None,
    splits: Mapping[str, ir.Split] | None = None, holdouts: Mapping[str, ir.Holdout] | None = None,
) -> tuple[ir.Node | None, tuple[Diagnostic, ...]]:
    """Check a bare rule (``--expr``); ``segments``, ``splits`` and ``holdouts`` are
    those it may reference."""
    ck = Checker(schema)
    ck.splits, ck.holdouts = dict(splits or {}), dict(holdouts or {})
    ck.declared_splits, ck.declared_holdouts = set(ck.splits), set(ck.holdouts)
    ck.declared = ck.declared_splits | ck.declared_holdouts
    known = dict(segments or {})
    ck.known_segments = set(known)
    node = ck.expr(expr)
    if node is None or any(d.is_error for d in ck.diags):
        return None, tuple(ck.diags)
    if ck.refs:  # no `in segment`: nothing to substitute, keep the tree as built
        node = substitute_refs(node, known)
    return node, tuple(ck.diags)


# --------------------------------------------------------------------------- internals


@attrs.define
class _Partial:
    seg: ast.SegmentDef
    rule: ir.Node | None
    refs: list[ast.SegmentRef]
    members: tuple | None
    refresh: str


class Checker(PredicateChecks):
    """Types and lowers segments and rules, collecting every diagnostic in ``diags``; the
    predicate forms come from :class:`segdsl.check.predicates.PredicateChecks`."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.diags: list[Diagnostic] = []
        self.refs: list[ast.SegmentRef] = []
        self.known_segments: set[str] = set()
        #: The splits and holdouts that checked, by name, and the names of every one
        #: declared (those with errors too, whose own diagnostics explain them).
        self.splits: dict[str, ir.Split] = {}
        self.holdouts: dict[str, ir.Holdout] = {}
        self.declared_splits: set[str] = set()
        self.declared_holdouts: set[str] = set()
        self.declared: set[str] = set()

    def declare(self, modules: Iterable[ast.Module]) -> None:
        for module in modules:
            self.declared_splits.update(s.name for s in module.splits)
            self.declared_holdouts.update(h.name for h in module.holdouts)
        self.declared = self.declared_splits | self.declared_holdouts

    # ---------------------------------------------------------------- segments

    def segment(self, seg: ast.SegmentDef, defs: Mapping[str, ast.SegmentDef]) -> _Partial:
        self.known_segments = set(defs)
        self.refs = []
        errors_before = sum(d.is_error for d in self.diags)
        seen: dict[type, ast.Clause] = {}
        for clause in seg.clauses:
            prev = seen.get(type(clause))
            if prev is not None:
                word = type(clause).__name__.lower()
                self.diags.append(
                    error("E0112", f"`{word}` is given twice in segment `{seg.name}`", clause.span,
                          label="again here", labels=(Label(prev.span, "first here"),),
                          help=f"keep one `{word}`")
                )
            else:
                seen[type(clause)] = clause
        refresh = DEFAULT_REFRESH[seg.kind]
        rc = seg.clause(ast.Refresh)
        if rc is not None:
            if rc.cadence in ir.CADENCES:
                refresh = rc.cadence
            else:
                self.diags.append(
                    error("E0113", f"unknown refresh cadence `{rc.cadence}`", rc.cadence_span,
                          label="not a cadence",
                          help=did_you_mean(rc.cadence, ir.CADENCES) or f"use one of {one_of(ir.CADENCES)}")
                )
        where = seg.clause(ast.Where)
        members = seg.clause(ast.Members)
        rule: ir.Node | None = None
        member_values: tuple | None = None
        if seg.kind == "static":
            if where is not None:
                self.diags.append(
                    error("E0111", "a static segment lists its members; it has no `where` rule", where.span,
                          help="drop `static` to make it a rule-based segment, or replace `where` with `members [...]`")
                )
            if members is None:
                self.diags.append(
                    error("E0111", f"static segment `{seg.name}` needs a `members [...]` list", seg.name_span,
                          help="add `members [1001, 1002]` with the keys of its members")
                )
            else:
                member_values = self.member_list(members.items)
                if member_values is not None:
                    key = self.schema.key
                    rule = ir.InSet(key, member_values, members.span) if member_values else ir.Const(False, members.span)
        else:
            if members is not None:
                self.diags.append(
                    error("E0111", f"only a static segment has `members`; `{seg.name}` is {seg.kind}", members.span,
                          help=f"write `static segment {seg.name}` to keep a fixed member list")
                )
            if where is None:
                self.diags.append(
                    error("E0111", f"segment `{seg.name}` needs a `where` rule", seg.name_span,
                          help="add `where <condition>`, or make it `static` with `members [...]`")
                )
            else:
                rule = self.expr(where.expr)
                if rule is not None and seg.kind == "smart":
                    scores = [f for f in ir.fields_used(rule) if f.model]
                    if not scores:
                        models = sorted(f.name for f in self.schema.fields.values() if f.model)
                        self.diags.append(
                            error("E0120", f"smart segment `{seg.name}` does not use a model score", where.span,
                                  help=(f"use one of the model scores: {one_of(models)}" if models
                                        else "the schema declares no model score (a field with `model = ...`)"))
                        )
        if sum(d.is_error for d in self.diags) > errors_before:
            rule = None  # a segment with errors is reported, never evaluated
        return _Partial(seg, rule, list(self.refs), member_values, refresh)

    def member_list(self, items: ast.ListLit) -> tuple | None:
        key = self.schema.key
        values: list = []
        ok = True
        seen: set = set()
        for item in items.items:
            if key.kind is Kind.INT and isinstance(item, ast.IntLit):
                v = item.value
                if not INT64_MIN <= v <= INT64_MAX:
                    self.diags.append(error("E0114", "member key is out of the 64-bit range", item.span))
                    ok = False
                    continue
            elif key.kind is Kind.TEXT and isinstance(item, ast.StringLit):
                v = item.value
            else:
                self.diags.append(
                    error("E0114", f"member keys are {key.kind.value} values (`{key.name}`)", item.span,
                          label=f"not {'an' if key.kind is Kind.INT else 'a'} {key.kind.value}")
                )
                ok = False
                continue
            if v in seen:
                self.diags.append(warning("W0206", f"member `{v}` is listed twice", item.span, help="remove the duplicate"))
                continue
            seen.add(v)
            values.append(v)
        return tuple(values) if ok else None

    def link(self, partial: Mapping[str, _Partial], defs: Mapping[str, ast.SegmentDef]) -> dict[str, ir.Segment]:
        """Resolve references, report cycles, and build each segment's final rule."""
        graph = {name: [r.name for r in p.refs if r.name in partial] for name, p in partial.items()}
        in_cycle = self._cycles(graph, partial)
        done: dict[str, ir.Segment] = {}
        depth: dict[str, int] = {}
        for name in topological_order(graph):
            p = partial[name]
            if p.rule is None or name in in_cycle:
                continue
            if any(r not in done for r in graph[name]):
                continue  # a dependency has errors; its own diagnostics explain
            rules = {r: done[r] for r in graph[name]}
            expanded = substitute_refs(p.rule, rules)
            d = nesting_depth(p.rule, {r: depth[r] for r in graph[name]})
            if d > MAX_EXPANDED_DEPTH:
                self.diags.append(
                    error("E0109", f"segment `{name}` nests {d} levels deep once its references are expanded",
                          p.seg.name_span, help=f"the limit is {MAX_EXPANDED_DEPTH}; simplify the chain of references")
                )
                continue
            depth[name] = d
            seg = p.seg
            done[name] = ir.Segment(
                name=name,
                kind=seg.kind,
                title=seg.title.value if seg.title else None,
                description=seg.description,
                refresh=p.refresh,
                rule=expanded,
                path=seg.span.path,
                span=seg.span,
                members=p.members,
                depends_on=tuple(dict.fromkeys(graph[name])),
            )
        return done

    def _cycles(self, graph: Mapping[str, list[str]], partial: Mapping[str, _Partial]) -> set[str]:
        in_cycle: set[str] = set()
        for component in strongly_connected(graph):
            if len(component) == 1 and component[0] not in graph[component[0]]:
                continue
            in_cycle.update(component)
            cycle = cycle_path(component, graph)
            first = cycle[0]
            ref = next(r for r in partial[first].refs if r.name == cycle[1 % len(cycle)])
            labels = tuple(
                Label(next(r for r in partial[a].refs if r.name == b).span, f"`{a}` uses `{b}` here")
                for a, b in zip(cycle[1:], cycle[2:] + cycle[:1])
                if a != first or b != cycle[1 % len(cycle)]
            )
            path = " → ".join(cycle + [cycle[0]])
            self.diags.append(
                error("E0110", f"segments refer to each other in a cycle: {path}", ref.span,
                      label=f"`{first}` uses `{cycle[1 % len(cycle)]}` here", labels=labels,
                      help="a segment cannot depend on itself; break the cycle")
            )
        return in_cycle

    # ---------------------------------------------------------------- expressions

    def expr(self, e: ast.Expr) -> ir.Node | None:
        """``e`` typed and lowered, or None after a diagnostic: one method per node class."""
        self.predicate = e  # the innermost node being checked, for examples in help texts
        return _EXPR[e.__class__](self, e)

    def _bool_op(self, e: ast.BoolOp) -> ir.Node | None:
        parts = [self.expr(i) for i in e.items]
        if None in parts:
            return None
        flat: list[ir.Node] = []
        cls = ir.And if e.op == "and" else ir.Or
        for p in parts:
            if p.__class__ is cls:
                flat.extend(p.items)
            else:
                flat.append(p)
        return cls(tuple(flat), e.span)

    def _not(self, e: ast.Not) -> ir.Node | None:
        inner = self.expr(e.item)
        return None if inner is None else ir.Not(inner, e.span)

    def _segment_ref(self, e: ast.SegmentRef) -> ir.Node | None:
        name = e.name
        if name not in self.known_segments:
            self.diags.append(
                error("E0108", f"unknown segment `{name}`", e.name_span, label="no segment of this name",
                      help=did_you_mean(name, self.known_segments)
                      or ("a field cannot be used as a segment; compare it instead"
                          if name in self.schema.fields else None))
            )
            return None
        self.refs.append(e)
        return RefPlaceholder(name, e.span)  # type: ignore[return-value]

    def _truthy(self, e: ast.Truthy) -> ir.Node | None:
        operand = self.resolve(e.operand)
        if operand is not e.operand:
            e = attrs.evolve(e, operand=operand)
        f = self.operand_field(operand)
        if f is None:
            return None
        if isinstance(operand, ast.DaysSince) or f.kind is not Kind.BOOL:
            what = "days_since(...)" if isinstance(operand, ast.DaysSince) else f"`{f.name}`"
            self.diags.append(
                error("E0102", f"{what} is not a boolean, so it cannot stand alone as a condition", e.span,
                      label=f"{kind_name(f) if not isinstance(operand, ast.DaysSince) else 'a number of days'}",
                      help=f"compare it, e.g. `{operand_text(operand)} {example_condition(f)}`")
            )
            return None
        return ir.IsTrue(f, e.span)

    def _is_null(self, e: ast.IsNull) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if not f.nullable:
            self.diags.append(
                warning("W0202", f"`{f.name}` is never null, so this is always {'true' if e.negated else 'false'}",
                        e.span, help="remove the condition")
            )
        node = ir.IsNull(f, e.span)
        return ir.Not(node, e.span) if e.negated else node

    def resolve(self, operand: ast.Operand) -> ast.Operand:
        """A derived day-count field reads as ``days_since`` of its source field."""
        if isinstance(operand, ast.FieldRef):
            f = self.schema.field(operand.name)
            if f is not None and f.days_since:
                return ast.DaysSince(ast.FieldRef(f.days_since, operand.span), operand.span)
        return operand

    def operand_field(self, operand: ast.Operand) -> Field | None:
        if isinstance(operand, ast.Aggregate):
            return self.aggregate_field(operand)
        ref = operand.field if isinstance(operand, ast.DaysSince) else operand
        f = self.schema.field(ref.name)
        if f is None:
            # A source's column used as a field: the aggregate is meant, not a similar name.
            help_ = (source_column_help(ref.name, self.schema, getattr(self, "predicate", None))
                     or did_you_mean(ref.name, self.schema.fields))
            if help_ is None and ref.name in self.known_segments:
                help_ = f"`{ref.name}` is a segment; test membership with `in segment {ref.name}`"
            self.diags.append(
                error("E0101", f"unknown field `{ref.name}`", ref.span,
                      label=f"not a field of `{self.schema.entity}`", help=help_)
            )
            return None
        if isinstance(operand, ast.DaysSince) and f.kind not in (Kind.DATE, Kind.TIMESTAMP):
            self.diags.append(
                error("E0102", f"days_since needs a date or timestamp field; `{f.name}` is {kind_name(f)}",
                      ref.span, label="not a date")
            )
            return None
        return f

    def source(self, ref: ast.FieldRef):
        """The source table ``ref`` names, or None after E0130 (an aggregate's source and
        an event sequence's sides are looked up alike)."""
        sources = self.schema.sources
        src = sources.get(ref.name)
        if src is None:
            self.diags.append(
                error("E0130", f"unknown source `{ref.name}`", ref.span,
                      label=f"not a source table of `{self.schema.entity}`",
                      help=did_you_mean(ref.name, sources)
                      or (f"the sources are {one_of(sources)}" if sources else "this schema declares no [sources]"))
            )
        return src

    def aggregate_field(self, e: ast.Aggregate, name: str | None = None, column: str | None = None) -> Field | None:
        """Type an aggregate over a source table; the result is a derived field."""
        src = self.source(e.source)
        if src is None:
            return None
        col = by = None
        if e.column is not None:
            col = src.field(e.column.name)
            if col is None:
                self.diags.append(
                    error("E0131", f"`{e.column.name}` is not a column of `{src.entity}`", e.column.span,
                          help=did_you_mean(e.column.name, src.fields) or f"the columns are {one_of(src.fields)}")
                )
                return None
        if e.by is not None:
            by = src.field(e.by.name)
            if by is None:
                self.diags.append(
                    error("E0131", f"`{e.by.name}` is not a column of `{src.entity}`", e.by.span,
                          help=did_you_mean(e.by.name, src.fields))
                )
                return None
        problem = None
        if e.fn == "count" and col is not None:
            problem = f"`count` counts rows; write `count({src.entity} where ...)` without a column"
        elif e.fn != "count" and col is None:
            problem = f"`{e.fn}` needs a column: `{e.fn}({src.entity}.<column>)`"
        elif e.fn == "sum" and col.kind not in (Kind.INT, Kind.DECIMAL):
            problem = (f"`sum` adds int or decimal columns; `{col.name}` is {kind_name(col)}"
                       + (" (float sums depend on each engine's order of addition)" if col.kind is Kind.FLOAT else ""))
        elif e.fn in ("min", "max") and col.kind not in ORDERED:
            problem = f"`{e.fn}` needs an ordered column; `{col.name}` is {kind_name(col)}"
        elif e.fn == "latest" and by is None:
            problem = f"`latest` needs `by <column>` to say which row is the latest, e.g. `by {first_time_field(src)}`"
        elif e.fn != "latest" and by is not None:
            problem = "only `latest` takes `by`"
        elif by is not None and by.kind not in ORDERED:
            problem = f"`by` needs an ordered column; `{by.name}` is {kind_name(by)}"
        elif e.fn == "latest" and col.kind is Kind.TAGS:
            problem = "`latest` of a tag list is not supported"
        if problem:
            self.diags.append(error("E0132", problem, e.span))
            return None
        where = None
        if e.where is not None:
            inner = Checker(src)
            where = inner.expr(e.where)
            self.diags.extend(inner.diags)
            if where is None or any(d.is_error for d in inner.diags):
                return None
        agg = ir.Aggregate(e.fn, src.entity, src.table, src.entity_key or "", src.key.column, col, by, where)
        if e.fn == "count":
            ftype, nullable = FieldType(Kind.INT), False
        elif e.fn == "sum":
            ftype = col.type if col.kind is Kind.INT else FieldType(Kind.DECIMAL, MAX_DIGITS, col.type.scale)
            nullable = False
        else:
            ftype, nullable = col.type, True
        text = operand_text(e)
        import hashlib

        alias = column or "_agg_" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        return Field(name or text, ftype, nullable, alias, derive=agg)


def _split_ref(self: Checker, e: ast.SplitRef) -> ir.Node | None:
    from segdsl.check.splits import split_ref

    return split_ref(self, e)


def _holdout_ref(self: Checker, e: ast.HoldoutRef) -> ir.Node | None:
    from segdsl.check.splits import holdout_ref

    return holdout_ref(self, e)


def _resolving(check):
    """``check`` of a predicate whose left side is first resolved (see Checker.resolve)."""

    def run(self: Checker, e):
        left = e.left
        resolved = self.resolve(left)
        return check(self, e if resolved is left else attrs.evolve(e, left=resolved))

    return run


#: The checker method for each syntax node class of a condition.
_EXPR = {
    ast.BoolOp: Checker._bool_op,
    ast.Not: Checker._not,
    ast.SegmentRef: Checker._segment_ref,
    ast.SplitRef: _split_ref,
    ast.HoldoutRef: _holdout_ref,
    ast.Truthy: Checker._truthy,
    ast.Compare: _resolving(Checker.compare),
    ast.CompareOperands: Checker.compare_operands,
    ast.InList: _resolving(Checker.in_list),
    ast.Between: _resolving(Checker.between),
    ast.IsNull: _resolving(Checker._is_null),
    ast.TextMatch: _resolving(Checker.text_match),
    ast.TagMatch: _resolving(Checker.tag_match),
    ast.TimeWindow: _resolving(Checker.time_window),
    ast.Ranking: check_ranking,
    ast.Sequence: check_sequence,
}
