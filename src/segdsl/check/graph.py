"""The graph of segment references: placeholders for `in segment` while segments are
checked, cycles (Tarjan's strongly connected components), the order to link them in,
and the substitution and nesting depth of the linked rules."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from segdsl import ir
from segdsl.syntax.span import Span


class RefPlaceholder:
    """Placeholder for ``in segment NAME`` until every segment is checked."""

    __slots__ = ("name", "span")

    def __init__(self, name: str, span: Span):
        self.name = name
        self.span = span


def substitute_refs(node: ir.Node, segments: Mapping[str, ir.Segment]) -> ir.Node:
    """Replace reference placeholders with membership of the referenced segment."""
    match node:
        case RefPlaceholder(name=name, span=span):
            return ir.Member(name, segments[name].rule, span)
        case ir.And(items=items, span=span):
            return ir.And(tuple(substitute_refs(i, segments) for i in items), span)
        case ir.Or(items=items, span=span):
            return ir.Or(tuple(substitute_refs(i, segments) for i in items), span)
        case ir.Not(item=item, span=span):
            return ir.Not(substitute_refs(item, segments), span)
        case ir.Rank(population=population) if population is not None:
            return attrs.evolve(node, population=substitute_refs(population, segments))
    return node


def nesting_depth(node, ref_depth: Mapping[str, int]) -> int:
    match node:
        case RefPlaceholder(name=name):
            return 1 + ref_depth.get(name, 0)
        case ir.And(items=items) | ir.Or(items=items):
            return 1 + max(nesting_depth(i, ref_depth) for i in items)
        case ir.Not(item=item):
            return 1 + nesting_depth(item, ref_depth)
        case ir.Rank(population=population) if population is not None:
            return 1 + nesting_depth(population, ref_depth)
    return 1


def strongly_connected(graph: Mapping[str, list[str]]) -> list[list[str]]:
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


def cycle_path(component: list[str], graph: Mapping[str, list[str]]) -> list[str]:
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


def topological_order(graph: Mapping[str, list[str]]) -> list[str]:
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
