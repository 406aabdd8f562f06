"""Checking journeys: their audience rules, steps and per-channel consent (E0140–E0145),
that no audience can enrol a member of a declared holdout (E0146), and the I0210 note
for segments that no journey or other segment uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from segdsl.syntax import ast
from segdsl import ir
from segdsl.check.graph import substitute_refs
from segdsl.check.predicates import MAX_DAYS
from segdsl.diagnostics import Diagnostic, Label, error, info
from segdsl.check.suggest import did_you_mean, one_of

if TYPE_CHECKING:
    from segdsl.check.checker import Checker


def check_journeys(ck: Checker, modules: Iterable[ast.Module], defs: Mapping[str, ast.SegmentDef],
                   segments: Mapping[str, ir.Segment]) -> dict[str, ir.Journey]:
    """Type every journey of ``modules``, whose segments are already linked; diagnostics
    go to ``ck``."""
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
            checked = check_journey(ck, j, defs, segments)
            if checked is not None:
                journeys[j.name] = checked
    if seen:
        ck.diags.extend(_unused_segments(segments, seen.values(), defs))
    return journeys


def check_journey(ck: Checker, j: ast.Journey, defs: Mapping[str, ast.SegmentDef],
                  segments: Mapping[str, ir.Segment]) -> ir.Journey | None:
    """Type a journey: its audience rule, its steps, and consent for every send."""
    errors_before = sum(d.is_error for d in ck.diags)
    ck.known_segments = set(defs)
    ck.refs = []
    audiences = [i for i in j.items if isinstance(i, ast.Audience)]
    goals = [i for i in j.items if isinstance(i, ast.Goal)]
    for kind, found in (("audience", audiences), ("goal", goals)):
        if not found:
            ck.diags.append(error("E0143", f"journey `{j.name}` needs a `{kind}`", j.name_span,
                                  help="e.g. `audience in segment win_back and email_opt_in`" if kind == "audience"
                                  else "e.g. `goal converted within 14 days`"))
        for extra in found[1:]:
            ck.diags.append(error("E0112", f"`{kind}` is given twice in journey `{j.name}`", extra.span,
                                  labels=(Label(found[0].span, "first here"),)))
    rule = None
    if audiences:
        partial = ck.expr(audiences[0].expr)
        if partial is not None and all(r.name in segments for r in ck.refs):
            rule = substitute_refs(partial, segments)
        for h in ck.holdouts.values() if rule is not None else ():
            if not ir.excludes_bucket(rule, h.salt, 0, h.buckets):
                ck.diags.append(
                    error("E0146", f"journey `{j.name}` could enrol members of holdout `{h.name}`",
                          audiences[0].span, label="this audience",
                          help=f"add `and not in holdout {h.name}` to the audience, so the holdout stays untreated")
                )
    steps: list[ir.SendStep | ir.WaitStep] = []
    sent = False
    for item in j.items:
        if isinstance(item, ast.Wait):
            if item.duration.hours:
                _whole_days(ck, item.duration, "wait")
            elif item.duration.days > MAX_DAYS:
                ck.diagnostics_too_long(item.duration)
            steps.append(ir.WaitStep(item.duration.days, item.span))
        elif isinstance(item, ast.Send):
            channel = ck.schema.channels.get(item.channel)
            if channel is None:
                names = ck.schema.channels
                ck.diags.append(
                    error("E0140", f"unknown channel `{item.channel}`", item.channel_span, label="not a channel",
                          help=did_you_mean(item.channel, names)
                          or (f"the channels are {one_of(names)}" if names else "the schema declares no [channels]"))
                )
            elif rule is not None and not ir.implies_true(rule, channel.consent):
                ck.diags.append(
                    error("E0141", f"journey `{j.name}` sends {item.channel} to an audience that does not require "
                          f"{item.channel} consent", item.span, label="this step",
                          help=f"add `and {channel.consent}` to the audience, so only contacts who agreed get it")
                )
            if item.condition is not None:
                negated, event = item.condition
                if event not in ir.EVENTS:
                    ck.diags.append(error("E0145", f"`{event}` is not an event of a send", item.span,
                                          help=f"use one of {one_of(ir.EVENTS)}"))
                elif not sent:
                    ck.diags.append(error("E0145", f"`if {event}` needs an earlier send to have been {event}",
                                          item.span, help="put this step after a `send`"))
            sent = True
            steps.append(ir.SendStep(item.channel, item.template.value, item.condition, item.span))
    if not sent:
        ck.diags.append(error("E0144", f"journey `{j.name}` sends nothing", j.name_span,
                              help='add a step such as `send email "welcome"`'))
    for g in goals[:1]:
        if g.event not in ir.GOALS:
            ck.diags.append(error("E0145", f"`{g.event}` is not a goal", g.event_span,
                                  help=f"use one of {one_of(ir.GOALS)}"))
        if g.duration.hours:
            _whole_days(ck, g.duration, "goal")
        elif g.duration.days > MAX_DAYS:
            ck.diagnostics_too_long(g.duration)
    if rule is None or not goals or sum(d.is_error for d in ck.diags) > errors_before:
        return None
    desc = next((i.text.value for i in j.items if isinstance(i, ast.Description)), None)
    return ir.Journey(j.name, j.title.value if j.title else None, desc, rule, tuple(steps), goals[0].event,
                      goals[0].duration.days, j.span.path, j.span)


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
                case ast.Ranking(population=population) if population is not None:
                    stack.append(population)
    return [
        info("I0210", f"segment `{name}` is not used by any journey or other segment", defs[name].name_span,
             help="start a journey with `audience in segment " + name + "`, or sync it with `segdsl sync`")
        for name in segments
        if name not in used and defs[name].kind != "static"
    ]


def _whole_days(ck, duration: ast.Duration, clause: str) -> None:
    """A journey counts whole days: a ``wait`` or ``goal`` in hours is an error."""
    days = max(1, -(-duration.amount // 24))
    ck.diags.append(
        error("E0102", f"a journey's `{clause}` counts whole days, not hours", duration.span,
              label="hours", help=f"write `{days} day{'s' if days != 1 else ''}`")
    )
