"""Why one profile is (not) a member of a segment: the rule as a tree of conditions,
each TRUE, FALSE or unknown for that profile, with the values it reads.

Each condition is judged by the engine that serves the page, through the API: the
profile is where the condition is TRUE if it is a member of the condition as a rule,
FALSE if it is a member of its negation, and unknown otherwise (three-valued logic:
``not`` of unknown is unknown). All the conditions go in one :func:`segdsl.members`
call. A referenced segment is a node whose children are its own rule's conditions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import segdsl

if TYPE_CHECKING:
    from segdsl import ir
    from segdsl.serve.site import Site

#: Deepest nesting of conditions the trace shows (a deeper rule is cut, and says so).
MAX_DEPTH = 12


def explain(site: Site, segment: ir.Segment, key: Any) -> dict:
    from segdsl import ir
    from segdsl.serve.members import cell, values
    from segdsl.serve.site import BadRequest, json_diagnostics

    nodes: list[tuple[ir.Node, dict]] = []

    def visit(node: ir.Node, depth: int) -> dict:
        out = {"text": text_of(site, node), "kind": type(node).__name__, "children": []}
        nodes.append((node, out))
        if depth >= MAX_DEPTH:
            out["cut"] = True
            return out
        match node:
            case ir.And(items=items) | ir.Or(items=items):
                children = list(items)
            case ir.Not(item=item):
                children = [item]
            case ir.Member(segment=name, rule=rule):
                children = [rule]
                out["text"] = f"in segment {name}"
            case _:
                children = []
        for child in children:
            shown = visit(child, depth + 1)
            if _same_text(child, node):  # a form the checker lowered (`is not null`, `between`): one condition
                nodes.pop()
                out["children"].extend(shown["children"])
            else:
                out["children"].append(shown)
        return out

    tree = visit(segment.rule, 0)
    rules = [segdsl.expression_segment(ir.Const(True), "everyone")]
    for i, (node, _) in enumerate(nodes):
        rules += [segdsl.expression_segment(node, f"yes{i}"), segdsl.expression_segment(ir.Not(node), f"no{i}")]
    found = segdsl.members(site.ws, rules, as_of=site.as_of, dsn=site.dsn)
    if not found.ok:
        raise BadRequest(422, "the rule cannot be evaluated", json_diagnostics(found.diagnostics, site.ws.sources))
    if key not in set(found.members["everyone"]):
        raise BadRequest(404, f"no {site.ws.schema.entity} with the key {key!r}")
    for i, (node, out) in enumerate(nodes):
        yes, no = key in set(found.members[f"yes{i}"]), key in set(found.members[f"no{i}"])
        out["verdict"] = "true" if yes else ("false" if no else "unknown")
    names, row = values(site, segment, [key])
    shown = dict(zip(names, (cell(v) for v in row.get(key, ())))) if names else {}
    return {
        "segment": segment.name,
        "key": key,
        "member": tree["verdict"] == "true",
        "as_of": site.stamp,
        "tree": tree,
        "values": shown,
    }


def _same_text(child: ir.Node, parent: ir.Node) -> bool:
    a, b = getattr(child, "span", None), getattr(parent, "span", None)
    return a is not None and a == b


def text_of(site: Site, node: ir.Node) -> str:
    """The condition as written in its file (or its kind, for one with no span)."""
    span = getattr(node, "span", None)
    source = site.ws.sources.get(span.path) if span is not None else None
    if source is None:
        return type(node).__name__.lower()
    return " ".join(source.text[span.start:span.end].split())
