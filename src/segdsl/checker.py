"""AST + schema → typed IR, with every problem reported as a diagnostic.

The checker resolves field names against the schema and segment names across all the
modules it is given, types every predicate, lowers it to :mod:`segdsl.ir`, and detects
reference cycles. It never stops at the first problem: a bad predicate is reported and
skipped, and checking goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from segdsl import ast, ir
from segdsl.diagnostics import Diagnostic, Label, error, info, warning
from segdsl.schema import ORDERED, Field, FieldType, Kind, Schema
from segdsl.span import Span
from segdsl.suggest import did_you_mean, one_of

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: Longest span of days a rule may name (about 270 years): enough for any CRM, and far
#: from the edges of every engine's calendar.
MAX_DAYS = 100_000

#: Significant digits a number literal may have: SQLite orders decimals as doubles, and
#: a double separates decimal numbers exactly up to 15 digits.
MAX_DIGITS = 15

#: How deep rules may nest once segment references are expanded into one another.
MAX_EXPANDED_DEPTH = 160

DEFAULT_REFRESH = {"static": "manual", "dynamic": "daily", "smart": "daily"}


@attrs.frozen
class CheckResult:
    segments: Mapping[str, ir.Segment]
    diagnostics: tuple[Diagnostic, ...]
    journeys: Mapping[str, ir.Journey] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def check_modules(modules: Iterable[ast.Module], schema: Schema) -> CheckResult:
    """Check every segment of ``modules`` together (references may cross files)."""
    ck = _Checker(schema)
    modules = list(modules)
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
    from segdsl.lint import lint_segment

    for seg in segments.values():
        ck.diags.extend(lint_segment(seg))
    journeys: dict[str, ir.Journey] = {}
    seen: dict[str, ast.Journey] = {}
    for module in modules:
        for j in module.journeys:
            if j.name in seen:
                ck.diags.append(
                    error("E0142", f"journey `{j.name}` is defined twice", j.name_span, label="second definition",
                          labels=(Label(seen[j.name].name_span, "first defined here"),))
                )
                continue
            seen[j.name] = j
            checked = ck.journey(j, defs, segments)
            if checked is not None:
                journeys[j.name] = checked
    if seen:
        ck.diags.extend(_unused_segments(segments, seen.values(), defs))
    return CheckResult(segments, tuple(ck.diags), journeys)


def _unused_segments(segments, journeys: Iterable[ast.Journey], defs) -> list[Diagnostic]:
    """I0210: in a project with journeys, segments that nothing acts on. Journeys are
    read as written, so one with an error still counts as using its segments."""
    used: set[str] = set()
    for seg in segments.values():
        used.update(seg.depends_on)
    for j in journeys:
        stack = [i.expr for i in j.items if isinstance(i, ast.Audience)]
        while stack:
            e = stack.pop()
            match e:
                case ast.SegmentRef(name=name):
                    used.add(name)
                case ast.BoolOp(items=items):
                    stack.extend(items)
                case ast.Not(item=item):
                    stack.append(item)
    return [
        info("I0210", f"segment `{name}` is not used by any journey or other segment", defs[name].name_span,
             help="start a journey with `audience in segment " + name + "`, or sync it with `segdsl sync`")
        for name in segments
        if name not in used and defs[name].kind != "static"
    ]


def check_expression(
    expr: ast.Expr, schema: Schema, segments: Mapping[str, ir.Segment] | None = None
) -> tuple[ir.Node | None, tuple[Diagnostic, ...]]:
    """Check a bare rule (``--expr``); ``segments`` are those it may reference."""
    ck = _Checker(schema)
    known = dict(segments or {})
    ck.known_segments = set(known)
    node = ck.expr(expr)
    if node is None or any(d.is_error for d in ck.diags):
        return None, tuple(ck.diags)
    node = _substitute(node, known)
    return node, tuple(ck.diags)


# --------------------------------------------------------------------------- internals


@attrs.define
class _Partial:
    seg: ast.SegmentDef
    rule: ir.Node | None
    refs: list[ast.SegmentRef]
    members: tuple | None
    refresh: str


class _Ref:
    """Placeholder for ``in segment NAME`` until every segment is checked."""

    __slots__ = ("name", "span")

    def __init__(self, name: str, span: Span):
        self.name = name
        self.span = span


class _Checker:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.diags: list[Diagnostic] = []
        self.refs: list[ast.SegmentRef] = []
        self.known_segments: set[str] = set()

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

    def journey(self, j: ast.Journey, defs: Mapping[str, ast.SegmentDef],
                segments: Mapping[str, ir.Segment]) -> ir.Journey | None:
        """Type a journey: its audience rule, its steps, and consent for every send."""
        errors_before = sum(d.is_error for d in self.diags)
        self.known_segments = set(defs)
        self.refs = []
        audiences = [i for i in j.items if isinstance(i, ast.Audience)]
        goals = [i for i in j.items if isinstance(i, ast.Goal)]
        for kind, found in (("audience", audiences), ("goal", goals)):
            if not found:
                self.diags.append(error("E0143", f"journey `{j.name}` needs a `{kind}`", j.name_span,
                                        help="e.g. `audience in segment win_back and email_opt_in`" if kind == "audience"
                                        else "e.g. `goal converted within 14 days`"))
            for extra in found[1:]:
                self.diags.append(error("E0112", f"`{kind}` is given twice in journey `{j.name}`", extra.span,
                                        labels=(Label(found[0].span, "first here"),)))
        rule = None
        if audiences:
            partial = self.expr(audiences[0].expr)
            if partial is not None and all(r.name in segments for r in self.refs):
                rule = _substitute(partial, segments)
        steps: list[ir.SendStep | ir.WaitStep] = []
        sent = False
        for item in j.items:
            if isinstance(item, ast.Wait):
                if item.duration.days > MAX_DAYS:
                    self.diagnostics_too_long(item.duration)
                steps.append(ir.WaitStep(item.duration.days, item.span))
            elif isinstance(item, ast.Send):
                channel = self.schema.channels.get(item.channel)
                if channel is None:
                    names = self.schema.channels
                    self.diags.append(
                        error("E0140", f"unknown channel `{item.channel}`", item.channel_span, label="not a channel",
                              help=did_you_mean(item.channel, names)
                              or (f"the channels are {one_of(names)}" if names else "the schema declares no [channels]"))
                    )
                elif rule is not None and not ir.implies_true(rule, channel.consent):
                    self.diags.append(
                        error("E0141", f"journey `{j.name}` sends {item.channel} to an audience that does not require "
                              f"{item.channel} consent", item.span, label="this step",
                              help=f"add `and {channel.consent}` to the audience, so only contacts who agreed get it")
                    )
                if item.condition is not None:
                    negated, event = item.condition
                    if event not in ir.EVENTS:
                        self.diags.append(error("E0145", f"`{event}` is not an event of a send", item.span,
                                                help=f"use one of {one_of(ir.EVENTS)}"))
                    elif not sent:
                        self.diags.append(error("E0145", f"`if {event}` needs an earlier send to have been {event}",
                                                item.span, help="put this step after a `send`"))
                sent = True
                steps.append(ir.SendStep(item.channel, item.template.value, item.condition, item.span))
        if not sent:
            self.diags.append(error("E0144", f"journey `{j.name}` sends nothing", j.name_span,
                                    help='add a step such as `send email "welcome"`'))
        for g in goals[:1]:
            if g.event not in ir.GOALS:
                self.diags.append(error("E0145", f"`{g.event}` is not a goal", g.event_span,
                                        help=f"use one of {one_of(ir.GOALS)}"))
            if g.duration.days > MAX_DAYS:
                self.diagnostics_too_long(g.duration)
        if rule is None or not goals or sum(d.is_error for d in self.diags) > errors_before:
            return None
        desc = next((i.text.value for i in j.items if isinstance(i, ast.Description)), None)
        return ir.Journey(j.name, j.title.value if j.title else None, desc, rule, tuple(steps), goals[0].event,
                          goals[0].duration.days, j.span.path, j.span)

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
        for name in _topological(graph):
            p = partial[name]
            if p.rule is None or name in in_cycle:
                continue
            if any(r not in done for r in graph[name]):
                continue  # a dependency has errors; its own diagnostics explain
            rules = {r: done[r] for r in graph[name]}
            expanded = _substitute(p.rule, rules)
            d = _depth(p.rule, {r: depth[r] for r in graph[name]})
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
        for component in _strongly_connected(graph):
            if len(component) == 1 and component[0] not in graph[component[0]]:
                continue
            in_cycle.update(component)
            cycle = _cycle_path(component, graph)
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
        left = getattr(e, "left", None) if not isinstance(e, ast.Truthy) else e.operand
        if left is not None:
            resolved = self.resolve(left)
            if resolved is not left:
                e = attrs.evolve(e, left=resolved) if not isinstance(e, ast.Truthy) else attrs.evolve(e, operand=resolved)
        match e:
            case ast.BoolOp(op=op, items=items):
                parts = [self.expr(i) for i in items]
                if any(p is None for p in parts):
                    return None
                flat: list[ir.Node] = []
                cls = ir.And if op == "and" else ir.Or
                for p in parts:
                    if isinstance(p, cls):
                        flat.extend(p.items)
                    else:
                        flat.append(p)
                return cls(tuple(flat), e.span)
            case ast.Not(item=item):
                inner = self.expr(item)
                return None if inner is None else ir.Not(inner, e.span)
            case ast.SegmentRef(name=name):
                if name not in self.known_segments:
                    self.diags.append(
                        error("E0108", f"unknown segment `{name}`", e.name_span, label="no segment of this name",
                              help=did_you_mean(name, self.known_segments)
                              or ("a field cannot be used as a segment; compare it instead"
                                  if name in self.schema.fields else None))
                    )
                    return None
                self.refs.append(e)
                return _Ref(name, e.span)  # type: ignore[return-value]
            case ast.Truthy(operand=operand):
                f = self.operand_field(operand)
                if f is None:
                    return None
                if isinstance(operand, ast.DaysSince) or f.kind is not Kind.BOOL:
                    what = "days_since(...)" if isinstance(operand, ast.DaysSince) else f"`{f.name}`"
                    self.diags.append(
                        error("E0102", f"{what} is not a boolean, so it cannot stand alone as a condition", e.span,
                              label=f"{_kind_name(f) if not isinstance(operand, ast.DaysSince) else 'a number of days'}",
                              help=f"compare it, e.g. `{operand_text(operand)} {_example(f)}`")
                    )
                    return None
                return ir.IsTrue(f, e.span)
            case ast.Compare():
                return self.compare(e)
            case ast.InList():
                return self.in_list(e)
            case ast.Between():
                return self.between(e)
            case ast.IsNull(left=left, negated=negated):
                f = self.operand_field(left)
                if f is None:
                    return None
                if not f.nullable:
                    self.diags.append(
                        warning("W0202", f"`{f.name}` is never null, so this is always {'true' if negated else 'false'}",
                                e.span, help="remove the condition")
                    )
                node = ir.IsNull(f, e.span)
                return ir.Not(node, e.span) if negated else node
            case ast.TextMatch():
                return self.text_match(e)
            case ast.TagMatch():
                return self.tag_match(e)
            case ast.TimeWindow():
                return self.time_window(e)
        raise AssertionError(f"unhandled node {e!r}")  # pragma: no cover

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
            help_ = did_you_mean(ref.name, self.schema.fields)
            if help_ is None and ref.name in self.known_segments:
                help_ = f"`{ref.name}` is a segment; test membership with `in segment {ref.name}`"
            self.diags.append(
                error("E0101", f"unknown field `{ref.name}`", ref.span,
                      label=f"not a field of `{self.schema.entity}`", help=help_)
            )
            return None
        if isinstance(operand, ast.DaysSince) and f.kind not in (Kind.DATE, Kind.TIMESTAMP):
            self.diags.append(
                error("E0102", f"days_since needs a date or timestamp field; `{f.name}` is {_kind_name(f)}",
                      ref.span, label="not a date")
            )
            return None
        return f

    def aggregate_field(self, e: ast.Aggregate, name: str | None = None, column: str | None = None) -> Field | None:
        """Type an aggregate over a source table; the result is a derived field."""
        from segdsl.printer import operand_text

        sources = self.schema.sources
        src = sources.get(e.source.name)
        if src is None:
            self.diags.append(
                error("E0130", f"unknown source `{e.source.name}`", e.source.span,
                      label=f"not a source table of `{self.schema.entity}`",
                      help=did_you_mean(e.source.name, sources)
                      or (f"the sources are {one_of(sources)}" if sources else "this schema declares no [sources]"))
            )
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
            problem = (f"`sum` adds int or decimal columns; `{col.name}` is {_kind_name(col)}"
                       + (" (float sums depend on each engine's order of addition)" if col.kind is Kind.FLOAT else ""))
        elif e.fn in ("min", "max") and col.kind not in ORDERED:
            problem = f"`{e.fn}` needs an ordered column; `{col.name}` is {_kind_name(col)}"
        elif e.fn == "latest" and by is None:
            problem = f"`latest` needs `by <column>` to say which row is the latest, e.g. `by {_first_time(src)}`"
        elif e.fn != "latest" and by is not None:
            problem = "only `latest` takes `by`"
        elif by is not None and by.kind not in ORDERED:
            problem = f"`by` needs an ordered column; `{by.name}` is {_kind_name(by)}"
        elif e.fn == "latest" and col.kind is Kind.TAGS:
            problem = "`latest` of a tag list is not supported"
        if problem:
            self.diags.append(error("E0132", problem, e.span))
            return None
        where = None
        if e.where is not None:
            inner = _Checker(src)
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
        alias = column or "_agg_" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        return Field(name or text, ftype, nullable, alias, derive=agg)

    def compare(self, e: ast.Compare) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.right, ast.NullLit):
            self.diags.append(
                error("E0104", "comparing with null is never true", e.span,
                      help=f"write `{operand_text(e.left)} is {'not ' if e.op == '!=' else ''}null`")
            )
            return None
        if isinstance(e.left, ast.DaysSince):
            days = self.days_value(e.right)
            if days is None:
                return None
            return ir.DayCmp(f, ir.FLIP[e.op], ir.Day(offset=-days), e.span)
        if e.op not in ("=", "!=") and f.kind not in ORDERED:
            self.diags.append(
                error("E0105", f"`{e.op}` cannot order {_plural(f)} the same way on every database",
                      e.span, label=f"`{f.name}` is {_kind_name(f)}",
                      help=_unordered_help(f))
            )
            return None
        if f.kind is Kind.TIMESTAMP and isinstance(e.right, ast.DateLit):
            return ir.DayCmp(f, e.op, ir.Day(date=e.right.value), e.span)
        value = self.value(f, e.right)
        if value is _BAD:
            return None
        if f.kind is Kind.DECIMAL and e.op in ("=", "!=") and _scale(value) > (f.type.scale or 0):
            self.diags.append(
                warning("W0205", f"`{f.name}` has {f.type.scale} decimal places, so it never equals {value}",
                        e.right.span, help=f"`{e.op}` is always {'false' if e.op == '=' else 'true'} for non-null values")
            )
        return ir.Cmp(f, e.op, value, e.span)

    def in_list(self, e: ast.InList) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        items = self.list_items(e.items, e.span)
        if items is None:
            return None
        if isinstance(e.left, ast.DaysSince):
            days = [self.days_value(i) for i in items]
            if any(d is None for d in days):
                return None
            node: ir.Node = ir.Or(
                tuple(ir.DayCmp(f, "=", ir.Day(offset=-d), e.span) for d in dict.fromkeys(days)), e.span
            )
        elif f.kind is Kind.TIMESTAMP and all(isinstance(i, ast.DateLit) for i in items):
            node = ir.Or(tuple(ir.DayCmp(f, "=", ir.Day(date=i.value), e.span) for i in items), e.span)
        else:
            if f.kind is Kind.TAGS:
                self.diags.append(
                    error("E0102", f"`{f.name}` is a tag list; `in` tests a single value", e.span,
                          help=f"write `{f.name} has any [...]`")
                )
                return None
            values = [self.value(f, i) for i in items]
            if any(v is _BAD for v in values):
                return None
            unique = list(dict.fromkeys(values))
            if len(unique) < len(values):
                self.diags.append(warning("W0203", "the list repeats a value", e.items.span, help="remove the duplicate"))
            node = ir.InSet(f, tuple(unique), e.span)
        return ir.Not(node, e.span) if e.negated else node

    def list_items(self, lst: ast.ListLit, span: Span) -> list | None:
        if not lst.items:
            self.diags.append(
                error("E0106", "an empty list matches nothing", lst.span,
                      help="list at least one value; databases disagree about `in ()`")
            )
            return None
        nulls = [i for i in lst.items if isinstance(i, ast.NullLit)]
        if nulls:
            self.diags.append(
                error("E0104", "null in a list never matches anything", nulls[0].span,
                      help="remove it and add `or <field> is null` if that is what you mean")
            )
            return None
        return list(lst.items)

    def between(self, e: ast.Between) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince):
            lo, hi = self.days_value(e.low), self.days_value(e.high)
            if lo is None or hi is None:
                return None
            a = ir.DayCmp(f, "<=", ir.Day(offset=-lo), e.span)
            b = ir.DayCmp(f, ">=", ir.Day(offset=-hi), e.span)
            lo_v, hi_v = lo, hi
        else:
            if f.kind not in ORDERED:
                self.diags.append(
                    error("E0105", f"`between` cannot order {_plural(f)} the same way on every database",
                          e.span, help=_unordered_help(f))
                )
                return None
            if f.kind is Kind.TIMESTAMP and isinstance(e.low, ast.DateLit) and isinstance(e.high, ast.DateLit):
                a = ir.DayCmp(f, ">=", ir.Day(date=e.low.value), e.span)
                b = ir.DayCmp(f, "<=", ir.Day(date=e.high.value), e.span)
                lo_v, hi_v = e.low.value, e.high.value
            else:
                lo_v, hi_v = self.value(f, e.low), self.value(f, e.high)
                if lo_v is _BAD or hi_v is _BAD:
                    return None
                a = ir.Cmp(f, ">=", lo_v, e.span)
                b = ir.Cmp(f, "<=", hi_v, e.span)
        if lo_v > hi_v:
            self.diags.append(
                warning("W0201", f"the range is empty: {lo_v} is greater than {hi_v}", e.span,
                        help=f"write `between {_lit_text(e.high)} and {_lit_text(e.low)}`; as written it is never true")
            )
        node: ir.Node = ir.And((a, b), e.span)
        return ir.Not(node, e.span) if e.negated else node

    def text_match(self, e: ast.TextMatch) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind is not Kind.TEXT:
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a text field; `{f.name}` is {_kind_name(f)}", e.span,
                      help="use `=` or `in [...]`" if f.kind is Kind.ENUM else None)
            )
            return None
        if e.text.value == "":
            self.diags.append(
                warning("W0204", f"every text {e.kind} the empty string", e.text.span,
                        help=f"this only excludes rows where `{f.name}` is null; write `{f.name} is not null`")
            )
        kind = {"contains": "contains", "starts with": "starts", "ends with": "ends"}[e.kind]
        return ir.TextMatch(f, kind, e.text.value, e.ignore_case, e.span)

    def tag_match(self, e: ast.TagMatch) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind is not Kind.TAGS:
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a tag-list field; `{f.name}` is {_kind_name(f)}", e.span,
                      help=(f"write `{f.name} = ...`" if f.kind in (Kind.TEXT, Kind.ENUM) else None))
            )
            return None
        if e.kind == "has":
            items = [e.value] if not isinstance(e.value, ast.ListLit) else None
            if items is None:
                self.diags.append(
                    error("E0102", "`has` takes one tag", e.value.span, help="write `has any [...]` or `has all [...]`")
                )
                return None
        else:
            if not isinstance(e.value, ast.ListLit):
                self.diags.append(error("E0102", f"`{e.kind}` takes a list of tags", e.value.span,
                                        help=f'write `{e.kind} ["a", "b"]`'))
                return None
            items = self.list_items(e.value, e.span)
            if items is None:
                return None
        values = []
        for item in items:
            if not isinstance(item, ast.StringLit):
                self.diags.append(error("E0102", "tags are strings", item.span, help='write the tag in quotes: "vip"'))
                return None
            values.append(item.value)
        kind = {"has": "has", "has any": "any", "has all": "all"}[e.kind]
        return ir.TagMatch(f, kind, tuple(dict.fromkeys(values)), e.span)

    def time_window(self, e: ast.TimeWindow) -> ir.Node | None:
        f = self.operand_field(e.left)
        if f is None:
            return None
        if isinstance(e.left, ast.DaysSince) or f.kind not in (Kind.DATE, Kind.TIMESTAMP):
            self.diags.append(
                error("E0102", f"`{e.kind}` needs a date or timestamp field; `{f.name}` is {_kind_name(f)}", e.span)
            )
            return None
        n = e.duration.days
        if n > MAX_DAYS:
            self.diagnostics_too_long(e.duration)
            return None
        if e.kind == "within":
            # The last N days up to and including the as-of date.
            return ir.And(
                (ir.DayCmp(f, ">=", ir.Day(offset=-n), e.span), ir.DayCmp(f, "<=", ir.Day(offset=0), e.span)),
                e.span,
            )
        if e.kind == "before":
            return ir.DayCmp(f, "<", ir.Day(offset=-n), e.span)
        return ir.DayCmp(f, ">", ir.Day(offset=-n), e.span)

    def diagnostics_too_long(self, duration: ast.Duration) -> None:
        self.diags.append(
            error("E0118", f"a span of {duration.days:,} days is too long", duration.span,
                  help=f"the longest span is {MAX_DAYS:,} days")
        )

    def days_value(self, lit: ast.Scalar) -> int | None:
        if isinstance(lit, ast.IntLit) and abs(lit.value) <= MAX_DAYS:
            return lit.value
        if isinstance(lit, ast.IntLit):
            self.diags.append(
                error("E0118", f"a span of {abs(lit.value):,} days is too long", lit.span,
                      help=f"the longest span is {MAX_DAYS:,} days")
            )
        else:
            self.diags.append(
                error("E0102", "days_since(...) is compared with a whole number of days", lit.span,
                      label="not a number of days")
            )
        return None

    def value(self, f: Field, lit: ast.Scalar):
        """The literal as a value of ``f``'s type, or _BAD after a diagnostic."""
        k = f.kind
        match lit:
            case ast.IntLit(value=v) if k is Kind.INT:
                if not INT64_MIN <= v <= INT64_MAX:
                    self.diags.append(error("E0115", "the number is outside the 64-bit integer range", lit.span))
                    return _BAD
                return v
            case ast.IntLit(value=v) | ast.DecimalLit(value=v) if k in (Kind.DECIMAL, Kind.FLOAT) and _digits(
                Decimal(v)
            ) > MAX_DIGITS:
                self.diags.append(
                    error("E0117", f"`{lit.text}` has more than {MAX_DIGITS} significant digits", lit.span,
                          label="too precise",
                          help="some databases compare such numbers inexactly; round it")
                )
                return _BAD
            case ast.IntLit(value=v) if k is Kind.DECIMAL:
                return Decimal(v)
            case ast.IntLit(value=v) if k is Kind.FLOAT:
                if abs(v) > 2**53:
                    self.diags.append(error("E0115", "the number is too large to compare exactly with a float",
                                            lit.span))
                    return _BAD
                return float(v)
            case ast.DecimalLit(value=v) if k is Kind.DECIMAL:
                return v
            case ast.DecimalLit(value=v) if k is Kind.FLOAT:
                return float(v)
            case ast.DecimalLit() if k is Kind.INT:
                self.diags.append(
                    error("E0116", f"`{f.name}` holds whole numbers; compare it with a whole number", lit.span,
                          label="a decimal", help="a decimal against an integer column compares inexactly on some databases")
                )
                return _BAD
            case ast.StringLit(value=v) if k is Kind.TEXT:
                return v
            case ast.StringLit(value=v) if k is Kind.ENUM:
                if v in f.type.values:
                    return v
                self.diags.append(
                    error("E0103", f"`{v}` is not a value of `{f.name}`", lit.span, label="not declared",
                          help=did_you_mean(v, f.type.values, quote='"')
                          or f"the values are {one_of(f.type.values, quote=chr(34))}")
                )
                return _BAD
            case ast.BoolLit(value=v) if k is Kind.BOOL:
                return v
            case ast.DateLit(value=v) if k is Kind.DATE:
                return v
            case ast.TimestampLit(value=v) if k is Kind.TIMESTAMP:
                return v
        self.diags.append(
            error("E0102", f"`{f.name}` is {_kind_name(f)}, but this is {_lit_kind(lit)}", lit.span,
                  label=f"expected {_kind_name(f)}", help=f"e.g. `{f.name} {_example(f)}`")
        )
        return _BAD


_BAD = object()


def _substitute(node: ir.Node, segments: Mapping[str, ir.Segment]) -> ir.Node:
    """Replace reference placeholders with membership of the referenced segment."""
    match node:
        case _Ref(name=name, span=span):
            return ir.Member(name, segments[name].rule, span)
        case ir.And(items=items, span=span):
            return ir.And(tuple(_substitute(i, segments) for i in items), span)
        case ir.Or(items=items, span=span):
            return ir.Or(tuple(_substitute(i, segments) for i in items), span)
        case ir.Not(item=item, span=span):
            return ir.Not(_substitute(item, segments), span)
    return node


def _depth(node, ref_depth: Mapping[str, int]) -> int:
    match node:
        case _Ref(name=name):
            return 1 + ref_depth.get(name, 0)
        case ir.And(items=items) | ir.Or(items=items):
            return 1 + max(_depth(i, ref_depth) for i in items)
        case ir.Not(item=item):
            return 1 + _depth(item, ref_depth)
    return 1


def _strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            recurse = False
            edges = graph[v]
            while i < len(edges):
                w = edges[i]
                i += 1
                if w not in index:
                    work.append((v, i))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def _cycle_path(component: list[str], graph: Mapping[str, list[str]]) -> list[str]:
    members = set(component)
    start = component[0]
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = next(w for w in graph[node] if w in members)
        if nxt == start or nxt in seen:
            if nxt != start:
                path = path[path.index(nxt):]
            return path
        path.append(nxt)
        seen.add(nxt)
        node = nxt


def _topological(graph: Mapping[str, list[str]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for root in graph:
        if root in state:
            continue
        work = [(root, iter(graph[root]))]
        state[root] = 1
        while work:
            v, it = work[-1]
            for w in it:
                if w not in state:
                    state[w] = 1
                    work.append((w, iter(graph[w])))
                    break
            else:
                work.pop()
                state[v] = 2
                order.append(v)
    return order


def _digits(d: Decimal) -> int:
    return len(d.normalize().as_tuple().digits) if d else 1


def _scale(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def _kind_name(f: Field) -> str:
    return {
        Kind.INT: "an integer", Kind.DECIMAL: "a decimal", Kind.FLOAT: "a float", Kind.TEXT: "text",
        Kind.BOOL: "a boolean", Kind.DATE: "a date", Kind.TIMESTAMP: "a timestamp", Kind.ENUM: "an enum",
        Kind.TAGS: "a tag list",
    }[f.kind]


def _first_time(src: Schema) -> str:
    for f in src.fields.values():
        if f.kind in (Kind.TIMESTAMP, Kind.DATE):
            return f.name
    return "<column>"


def _plural(f: Field) -> str:
    return {Kind.TEXT: "text values", Kind.ENUM: "enum values", Kind.BOOL: "booleans",
            Kind.TAGS: "tag lists"}.get(f.kind, "these values")


def _lit_kind(lit: ast.Scalar) -> str:
    return {
        ast.IntLit: "a whole number", ast.DecimalLit: "a decimal number", ast.StringLit: "a string",
        ast.BoolLit: "a boolean", ast.DateLit: "a date", ast.TimestampLit: "a timestamp", ast.NullLit: "null",
    }[type(lit)]


def _lit_text(lit: ast.Scalar) -> str:
    match lit:
        case ast.IntLit(text=t) | ast.DecimalLit(text=t) | ast.TimestampLit(text=t):
            return t
        case ast.DateLit(value=v):
            return v.isoformat()
        case ast.StringLit(value=v):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        case ast.BoolLit(value=v):
            return "true" if v else "false"
    return "null"


def _example(f: Field) -> str:
    return {
        Kind.INT: ">= 1", Kind.DECIMAL: ">= 100.00", Kind.FLOAT: ">= 0.5", Kind.TEXT: '= "text"',
        Kind.BOOL: "= true", Kind.DATE: ">= 2024-01-01", Kind.TIMESTAMP: "within 30 days",
        Kind.ENUM: f'= "{f.type.values[0]}"' if f.type.values else '= "value"', Kind.TAGS: 'has "tag"',
    }[f.kind]


def _unordered_help(f: Field) -> str:
    if f.kind is Kind.TEXT:
        return "text order depends on each database's collation; use `=`, `in [...]` or `starts with`"
    if f.kind is Kind.ENUM:
        return f"list the values you want: `{f.name} in [...]`"
    return "use `=` or `!=`"


def operand_text(operand: ast.Operand) -> str:
    if isinstance(operand, ast.DaysSince):
        return f"days_since({operand.field.name})"
    return operand.name

