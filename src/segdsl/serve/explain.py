"""Why one profile is (not) a member of a segment, for the page: the trace of
:func:`segdsl.explain_member` (each condition TRUE, FALSE or unknown for that profile,
judged by the evaluator that decides membership, with the values behind it) as a tree
of written conditions, each with one line saying what it read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import segdsl
from segdsl.serve.site import BadRequest

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.serve.site import Site


def explain(site: Site, segment: ir.Segment, key: Any) -> dict:
    try:
        trace = segdsl.explain_member(site.ws, segment, key, dsn=site.dsn, as_of=site.as_of)
    except segdsl.UsageError as exc:  # the key is of the right type (checked before): no profile has it
        raise BadRequest(404, exc.message) from None
    if not trace.ok:
        from segdsl.serve.site import json_diagnostics

        raise BadRequest(422, "the rule cannot be evaluated", json_diagnostics(trace.diagnostics, site.ws.sources))
    found = trace.to_dict()
    values: dict[str, Any] = {}
    return {
        "segment": segment.name,
        "key": found["key"],
        "member": trace.member,
        "as_of": found["as_of"],
        "evaluated": found["evaluated"],
        "tree": _node(found["rule"], values),
        "values": values,
    }


def _node(node: dict, values: dict[str, Any]) -> dict:
    """A trace node as the page shows it. A child written as its parent is (the checker
    lowers `is not null` to `not (is null)`, `between` to two bounds) is not shown again."""
    details = node["details"]
    if "field" in details:
        values.setdefault(details["field"], details.get("value"))
    children = []
    for child in node["children"]:
        shown = _node(child, values)
        if child["span"] is not None and child["span"] == node["span"]:
            children.extend(shown["children"])
        else:
            children.append(shown)
    return {"text": node["text"], "kind": node["kind"], "verdict": node["verdict"], "details": describe(details),
            "children": children}


def describe(details: dict) -> str | None:
    """What a condition read, in one line: the field's value, how a trait was computed
    (how many source rows it read and counted), the window a time test allows."""
    if "field" not in details:
        return None
    value = details.get("value")
    words = [f"{details['field']} = {'NULL' if value is None else _text(value)}"]
    agg = details.get("aggregate")
    if agg:
        rows = f", {agg['counted']} of {agg['rows']} rows counted" if "rows" in agg else ""
        words.append(f"{agg['fn']} over {agg['source']}{rows}")
    if "compared_with" in details:
        words.append(f"compared: {details['op']} {_text(details['compared_with'])}")
    if "windows" in details:
        spans = [f"{'…' if lo is None else lo} to {'…' if hi is None else hi}" for lo, hi in details["windows"]]
        words.append(f"window: {' or '.join(spans) or 'none'}")
    if "values" in details:
        words.append(f"one of {', '.join(map(_text, details['values']))}")
    if "tags" in details:
        words.append(f"{details['match']} of {', '.join(details['tags'])}")
    if "text" in details and "match" in details and "tags" not in details:
        words.append(f"{details['match']} {details['text']!r}{' ignoring case' if details.get('ignore_case') else ''}")
    return "; ".join(words)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(_text, value))
    return str(value)
