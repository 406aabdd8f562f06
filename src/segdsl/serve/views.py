"""What the page shows, as JSON-ready values: each view is one call of the library API
(sizes, show, explain_member, history, check, compile, a journey's simulation) on the
served project, at the one as-of instant the server was started with.

Nothing here writes: no ``.seg`` file, no table, no state store (the store is opened
read-only, and only when it exists). Rule text from the page is checked into a typed
rule first; a database only ever sees it as compiled SQL with bound parameters.
Problems in what the page sent are :class:`~segdsl.serve.site.BadRequest` (a 4xx with
diagnostics); Starlette is not imported here, so the views can be tested without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import segdsl
from segdsl.serve import history as past
from segdsl.backends.sql.targets import VERIFIED
from segdsl.serve import members as listing
from segdsl.serve.site import BadRequest, Site, json_diagnostics

if TYPE_CHECKING:
    from segdsl import ir

#: The longest rule the editor accepts, in bytes of UTF-8; longer text is a 413.
MAX_RULE_BYTES = 16_384
#: The targets the compile view offers: those every rule is verified on, member by member.
VERIFIED_TARGETS = VERIFIED


# ------------------------------------------------------------------------ project


def project(site: Site) -> dict:
    """The header: project, entity, as-of, data source; the segments and journeys."""
    ws = site.ws
    errors = [d for d in ws.relevant() if d.is_error]
    return {
        "project": ws.project.name if ws.project and ws.project.name else (site.root.name if site.root else ""),
        "entity": ws.schema.entity if ws.schema else None,
        "as_of": site.stamp,
        "source": site.source,
        "evaluated": "database" if site.dsn else "in memory",
        "segments": [{"name": s.name, "title": s.title, "kind": s.kind} for s in ws.requested_segments()],
        "journeys": [{"name": j.name, "title": j.title} for j in ws.journeys.values()],
        "targets": list(VERIFIED_TARGETS),
        "diagnostics": json_diagnostics(errors, ws.sources),
    }


def _sizes(site: Site, segments=None, overlap: bool = False):
    report = segdsl.sizes(site.ws, segments, as_of=site.as_of, dsn=site.dsn, overlap=overlap)
    if not report.ok:
        raise BadRequest(422, "the segments cannot be sized", json_diagnostics(report.diagnostics, site.ws.sources))
    return report


def segment_of(site: Site, name: str) -> ir.Segment:
    """The served segment ``name``; a 404 with a did-you-mean when there is none."""
    try:
        (segment,) = site.ws.select([name])
    except segdsl.UsageError as exc:
        raise BadRequest(404, exc.message) from None
    return segment


# ------------------------------------------------------------------------- segment


def segment(site: Site, name: str) -> dict:
    """One segment: its rule as written (tokens for highlighting), size and share,
    cadence, the fields its rule reads, and its last refresh."""
    from segdsl import ir

    seg = segment_of(site, name)
    size = _sizes(site, [seg]).sizes[0]
    source = site.ws.sources.get(seg.path)
    text = source.text[seg.span.start:seg.span.end] if source is not None and seg.span is not None else ""
    line = source.position(seg.span.start).line if source is not None and seg.span is not None else 1
    runs = past.runs(site, seg.name)
    return {
        "name": seg.name,
        "title": seg.title,
        "description": seg.description,
        "kind": seg.kind,
        "cadence": seg.refresh,
        "file": seg.path,
        "line": line,
        "text": text,
        "tokens": highlight(text),
        "size": size.size,
        "total": size.total,
        "share": size.share,
        "fields": [f.name for f in ir.fields_used(seg.rule)],
        "references": [m.segment for m in ir.own_references(seg.rule)],
        "last_refresh": runs[-1] if runs else None,
        "as_of": site.stamp,
    }


def highlight(text: str) -> list[list[str]]:
    """``text`` as ``[kind, text]`` pieces, the blanks between tokens kept as ``""``
    pieces: the editor's token kinds (keywords are ``keyword``), for colouring."""
    from segdsl.syntax.keywords import KEYWORDS
    from segdsl.syntax.tokens import scan_line

    out: list[list[str]] = []
    for n, line in enumerate(text.split("\n")):
        if n:
            out.append(["", "\n"])
        at = 0
        for kind, word, start, end, _open in scan_line(line):
            if start > at:
                out.append(["", line[at:start]])
            if kind == "name" and word in KEYWORDS:
                kind = "keyword"
            out.append([kind, word])
            at = end
        if at < len(line):
            out.append(["", line[at:]])
    return out


def overlap(site: Site, name: str, others: list[str] | None = None) -> dict:
    """How many members ``name`` shares with each other segment (one ``sizes`` call
    with ``overlap``), and, with ``others`` (one or two names), the regions of a Venn
    diagram of the two or three segments, each region's size counted exactly."""
    seg = segment_of(site, name)
    if others:
        if len(others) > 2:  # a Venn diagram of four sets is no longer readable
            raise BadRequest(400, "a Venn diagram compares at most three segments")
        chosen = [seg, *(segment_of(site, o) for o in others)]
        if len({s.name for s in chosen}) != len(chosen):
            raise BadRequest(400, "choose different segments to compare")
        return {"segment": seg.name, "venn": venn(site, chosen)}
    segments = site.ws.requested_segments()
    report = _sizes(site, segments, overlap=True)
    sizes = report.counts
    rows = []
    for o in report.overlaps:
        if seg.name in (o.a.name, o.b.name):
            other = o.b if o.a.name == seg.name else o.a
            rows.append({"segment": other.name, "size": sizes[other.name], "both": o.both, "jaccard": o.jaccard})
    order = [s.name for s in segments]
    rows.sort(key=lambda r: order.index(r["segment"]))
    return {"segment": seg.name, "size": sizes[seg.name], "total": report.total, "overlaps": rows}


def venn(site: Site, chosen: list[ir.Segment]) -> dict:
    """The exact size of every region of the Venn diagram of two or three segments:
    members of exactly the segments named in each region, one ``sizes`` call."""
    from itertools import product

    from segdsl import ir

    regions, rules = [], []
    for inside in product((True, False), repeat=len(chosen)):
        if not any(inside):
            continue
        parts = [ir.Member(s.name, s.rule) if yes else ir.Not(ir.Member(s.name, s.rule))
                 for s, yes in zip(chosen, inside)]
        regions.append([s.name for s, yes in zip(chosen, inside) if yes])
        rules.append(segdsl.expression_segment(ir.And(tuple(parts)), f"region{len(rules)}"))
    from segdsl.serve import charts

    report = _sizes(site, [*chosen, *rules])
    sizes = [s.size for s in report.sizes[:len(chosen)]]
    counts = [s.size for s in report.sizes[len(chosen):]]
    names = [s.name for s in chosen]
    flags = [[n in r for n in names] for r in regions]
    return {
        "segments": [{"name": n, "size": c} for n, c in zip(names, sizes)],
        "regions": [{"in": r, "size": c} for r, c in zip(regions, counts)],
        "total": report.total,
        "chart": charts.venn(names, sizes, list(zip(flags, counts)), label=f"Overlap of {', '.join(names)}"),
    }


def sample(site: Site, name: str, limit: int = 50) -> dict:
    """The first ``limit`` members, with the columns the rule reads."""
    seg = segment_of(site, name)
    if not 1 <= limit <= 1000:
        raise BadRequest(400, "limit must be from 1 to 1000")
    columns, rows, total = listing.sample(site, seg, limit)
    return {"segment": seg.name, "columns": columns, "rows": rows, "size": total, "limit": limit}


def members_csv(site: Site, name: str) -> Iterator[str]:
    """Every member as CSV lines (the key, then the columns the rule reads), streamed."""
    seg = segment_of(site, name)
    return listing.csv_lines(site, seg)


def explain(site: Site, name: str, key_text: str) -> dict:
    """Why the profile ``key_text`` is (not) a member of ``name``: each condition of
    the rule TRUE, FALSE or unknown for it, with the values behind them."""
    from segdsl.serve import explain as tracing

    seg = segment_of(site, name)
    key = parse_key(site, key_text)
    return tracing.explain(site, seg, key)


def parse_key(site: Site, text: str) -> Any:
    """A profile key from the page: an integer for an integer key; a 400 otherwise."""
    from segdsl.schema.model import Kind

    key_field = site.ws.schema.key
    if len(text) > 200 or not text.strip():
        raise BadRequest(400, f"`{text[:40]}` is not a {site.ws.schema.entity} key")
    if key_field.kind is Kind.INT:
        try:
            return int(text.strip())
        except ValueError:
            raise BadRequest(400, f"`{text}` is not a {site.ws.schema.entity} key: "
                                  f"`{key_field.name}` is a whole number") from None
    return text


def history(site: Site, name: str) -> dict:
    """The segment's size at each refresh with how many entered and exited, and who
    entered and who left at the last refresh that changed it."""
    from segdsl.serve import charts

    seg = segment_of(site, name)
    runs = past.runs(site, seg.name)
    points = [(r["as_of"][:10], r["size"], r["entered"], r["exited"]) for r in runs]
    chart = charts.timeline(points, label=f"Size of {seg.name} at each refresh") if points else None
    return {"segment": seg.name, "runs": runs, "source": past.SOURCE, "chart": chart,
            "last_changes": past.last_changes(site, seg.name)}


# --------------------------------------------------------------------------- editor


def rule_text(body: Any) -> str:
    """The ``rule`` of a request body, within :data:`MAX_RULE_BYTES`."""
    if not isinstance(body, dict) or not isinstance(body.get("rule"), str):
        raise BadRequest(400, 'send a JSON object with the rule as text: {"rule": "..."}')
    text = body["rule"]
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULE_BYTES:
        raise BadRequest(413, f"the rule is longer than {MAX_RULE_BYTES:,} bytes")
    return text


def check(site: Site, text: str) -> dict:
    """A rule as typed: its exact size at the served as-of and its warnings; a 422
    with its diagnostics (the CLI's codes and spans) when it has errors."""
    checked = segdsl.check_expression(text, site.ws)
    diagnostics = json_diagnostics(checked.diagnostics, checked.sources)
    if not checked.ok:
        errors = sum(d["severity"] == "error" for d in diagnostics)
        raise BadRequest(422, f"the rule has {errors} error{'s' if errors != 1 else ''}", diagnostics,
                         segdsl.render(checked.diagnostics, checked.sources))
    report = segdsl.sizes(site.ws, [checked], as_of=site.as_of, dsn=site.dsn)
    if not report.ok:
        raise BadRequest(422, "the rule cannot be sized here", json_diagnostics(report.diagnostics, checked.sources))
    size = report.sizes[0]
    return {"ok": True, "diagnostics": diagnostics, "size": size.size, "total": size.total, "share": size.share,
            "as_of": site.stamp}


def compile_rule(site: Site, text: str, target: str) -> dict:
    """The SQL of a rule for one verified target, with its bound parameters."""
    if target not in VERIFIED_TARGETS:
        raise BadRequest(400, f"unknown target `{target}`; choose from {', '.join(VERIFIED_TARGETS)}")
    checked = segdsl.check_expression(text, site.ws)
    if not checked.ok:
        raise BadRequest(422, "the rule has errors", json_diagnostics(checked.diagnostics, checked.sources))
    result = segdsl.compile_sql(site.ws, checked, target=target, as_of=site.as_of, params=True)
    return {
        "target": target,
        "ok": result.ok,
        "sql": result.sql,
        "params": {k: _jsonable(v) for k, v in result.params.items()},
        "diagnostics": json_diagnostics(result.diagnostics, checked.sources),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- journey


def journey(site: Site, name: str) -> dict:
    """A journey's simulated run at the served as-of: the funnel in total and per step
    and channel. Every figure is SIMULATED (no message is sent)."""
    from segdsl.lifecycle.journeys import SIMULATED_NOTE, JourneyError
    from segdsl.project.errors import UsageError

    try:
        # The same run as `segdsl journey run --as-of` at the served instant.
        report = segdsl.run_journey(site.ws, name, as_of=site.as_of, dsn=site.dsn)
    except UsageError as exc:
        raise BadRequest(404 if exc.param == "journey" else 422, exc.message) from None
    except JourneyError as exc:
        raise BadRequest(422, str(exc)) from None
    if not report.ok:
        raise BadRequest(422, "the journey's audience cannot be evaluated",
                         json_diagnostics(report.diagnostics, site.ws.sources))
    target, run = site.ws.journeys[name], report.run
    from segdsl.serve import charts

    out = report.to_json()
    note = "SIMULATED: representative rates, no message sent"
    out["charts"] = {
        "funnel": charts.bars(run.funnel, label=f"Simulated funnel of {name}", note=note),
        "steps": [
            {"index": s.index, "channel": s.channel, "template": s.template, "condition": s.condition,
             "chart": charts.bars([("sent", s.sent), ("opened", s.opened), ("clicked", s.clicked)],
                                  label=f"Simulated step {s.index} ({s.channel})", note=note, width=520)}
            for s in run.steps if s.kind == "send"
        ],
        "channels": [
            {"channel": channel,
             "chart": charts.bars([(stage, sum(getattr(s, stage) for s in run.steps if s.channel == channel))
                                   for stage in ("sent", "opened", "clicked")],
                                  label=f"Simulated sends by {channel}", note=note, width=520)}
            for channel in dict.fromkeys(s.channel for s in run.steps if s.kind == "send")
        ],
    }
    out.update(title=target.title, description=target.description, simulated=True, note=SIMULATED_NOTE,
               goal=f"{target.goal} within {target.goal_days} days")
    return out
