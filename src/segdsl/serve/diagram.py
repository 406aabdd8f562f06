"""The diagram of one CRM and its audiences, drawn from the project itself.

Four columns, left to right: the raw tables (with their row counts), the profile (the
traits derived from them, and the entity table's stored columns the rules read), the
segments (size, share, cadence, last refresh with who entered and exited), and what
acts on the segments (journeys, sync consumers). Edges follow what each thing reads.
Nodes are placed by a layered layout, each column ordered by the mean position of its
neighbours in the column before, so the page needs no hand-placed coordinates.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import attrs

import segdsl

if TYPE_CHECKING:
    from segdsl.serve.site import Site

COLUMNS = ("sources", "profile", "segments", "actions")
HEADINGS = ("Raw tables", "Profile (traits)", "Segments", "Journeys and syncs")
WIDTH = (190, 200, 250, 210)
X = (10, 270, 540, 870)
TOP = 40
GAP = 12


@attrs.define
class Node:
    id: str
    column: int
    label: str
    lines: list[str]
    href: str | None = None
    kind: str = ""
    facts: dict = attrs.Factory(dict)
    y: float = 0.0

    @property
    def height(self) -> int:
        return 24 + 16 * len(self.lines)


def build(site: Site) -> dict:
    """Nodes and edges of the diagram (JSON), and its SVG."""
    from segdsl import ir
    from segdsl.serve import history

    ws, schema = site.ws, site.ws.schema
    segments = ws.requested_segments()
    report = segdsl.sizes(ws, segments, as_of=site.as_of, dsn=site.dsn)
    counts = report.counts if report.ok else {}
    total = report.total if report.ok else 0
    heads = history.heads(site)
    consumers = history.consumers(site)
    rows = table_rows(site)

    nodes: dict[str, Node] = {}
    edges: set[tuple[str, str]] = set()

    def add(node: Node) -> Node:
        return nodes.setdefault(node.id, node)

    entity = add(Node(f"table:{schema.table}", 0, schema.table, [_rows(rows.get(schema.table))], kind="table"))
    for name, source in schema.sources.items():
        add(Node(f"table:{source.table}", 0, source.table, [_rows(rows.get(source.table))], kind="table"))
    stored_used: set[str] = set()
    for seg in segments:
        size = counts.get(seg.name)
        head = heads.get(seg.name)
        lines = [(f"{size:,} · {size / total:.1%}" if size is not None and total else "size unknown")
                 + f" · {seg.refresh}"]
        if head:
            lines.append(f"last {head['as_of'][:10]} · +{head['entered']:,} / −{head['exited']:,}")
        else:
            lines.append("never refreshed")
        facts = {"name": seg.name, "size": size, "share": size / total if size is not None and total else None,
                 "cadence": seg.refresh, "last_refresh": head}
        add(Node(f"segment:{seg.name}", 2, seg.title or seg.name, lines, f"#/segment/{seg.name}", "segment", facts))
        for base in own_fields(seg.rule):  # `days_since(f)` is lowered to a test of `f`
            if base.derive is not None:
                agg = base.derive
                trait = add(Node(f"trait:{base.name}", 1, base.name, [f"{agg.fn}({agg.table})"], kind="trait"))
                edges.add((f"table:{agg.table}", trait.id))
                edges.add((trait.id, f"segment:{seg.name}"))
            elif base.name != schema.key.name:
                stored_used.add(base.name)
                edges.add(("stored", f"segment:{seg.name}"))
        for ref in ir.own_references(seg.rule):
            edges.add((f"segment:{ref.segment}", f"segment:{seg.name}"))
        for consumer in consumers.get(seg.name, []):
            add(Node(f"sync:{consumer}", 3, f"sync: {consumer}", ["change feed"], kind="sync"))
            edges.add((f"segment:{seg.name}", f"sync:{consumer}"))
    if stored_used:
        names = sorted(stored_used)
        add(Node("stored", 1, f"{schema.table} columns", [", ".join(names[i:i + 3]) for i in range(0, len(names), 3)],
                 kind="stored"))
        edges.add((entity.id, "stored"))
    for journey in ws.journeys.values():
        add(Node(f"journey:{journey.name}", 3, journey.title or journey.name, ["journey · simulated sends"],
                 f"#/journey/{journey.name}", "journey"))
        for ref in ir.own_references(journey.audience):
            edges.add((f"segment:{ref.segment}", f"journey:{journey.name}"))
    edges = {(a, b) for a, b in edges if a in nodes and b in nodes}
    height = _layout(list(nodes.values()), edges)
    return {
        "nodes": [{"id": n.id, "column": COLUMNS[n.column], "label": n.label, "lines": n.lines, "href": n.href,
                   **n.facts} for n in nodes.values()],
        "total": total,
        "edges": sorted([a, b] for a, b in edges),
        "svg": svg(list(nodes.values()), edges, height),
    }


def own_fields(rule) -> list:
    """The fields a rule reads itself, not through the segments it refers to."""
    from segdsl import ir

    seen: dict[str, object] = {}
    stack = [rule]
    while stack:
        node = stack.pop()
        match node:
            case ir.And(items=items) | ir.Or(items=items):
                stack.extend(reversed(items))
            case ir.Not(item=item):
                stack.append(item)
            case ir.Member():
                pass
            case _:
                f = getattr(node, "field", None)
                if f is not None:
                    seen.setdefault(f.name, f)
    return list(seen.values())


def _rows(n: int | None) -> str:
    return "rows unknown" if n is None else f"{n:,} rows"


def table_rows(site: Site) -> dict[str, int]:
    """Row counts of the entity table and each source table: read from the CSV data,
    or counted by the database (a count of everyone, through the API)."""
    ws, schema = site.ws, site.ws.schema
    out: dict[str, int] = {}
    if site.dsn:
        from segdsl import ir

        from segdsl.data.engines import fetch_count
        from segdsl.data.loading import open_loaded

        with open_loaded(site.dsn, schema) as engine:
            for table_schema in [schema, *schema.sources.values()]:
                compiled = segdsl.compile_sql(table_schema, ir.Const(True), target=engine.dialect, form="count")
                out[table_schema.table] = fetch_count(engine, compiled.sql)
        return out
    from segdsl.backends.memory.profile import load_source
    from segdsl.data.tables import load_table

    if ws.data_dir is None:
        return out
    out[schema.table] = load_table(schema, ws.data_dir, columns=[schema.key.column]).n_rows
    for source in schema.sources.values():
        out[source.table] = load_source(source, ws.data_dir, missing_ok=True, columns=[]).n_rows
    return out


def _layout(nodes: list[Node], edges: set[tuple[str, str]]) -> float:
    """Place the nodes. Segments keep the order of the files, stacked top to bottom;
    every other column is ordered by the mean position of its neighbours (traits and
    journeys by their segments, tables by their traits) and each node is placed level
    with them where the nodes above leave room."""
    by_id = {n.id: n for n in nodes}
    columns = [[n for n in nodes if n.column == c] for c in range(len(COLUMNS))]

    def stack(column: list[Node], wanted: dict[str, float]) -> None:
        column.sort(key=lambda n: (wanted.get(n.id, 1e9), n.label))
        y = TOP
        for n in column:
            n.y = max(y, wanted.get(n.id, y) - n.height / 2)
            y = n.y + n.height + GAP

    def centres(n: Node, column: int) -> list[float]:
        near = [by_id[b] for a, b in edges if a == n.id] + [by_id[a] for a, b in edges if b == n.id]
        return [m.y + m.height / 2 for m in near if m.column == column]

    stack(columns[2], {n.id: i for i, n in enumerate(columns[2])})
    columns[2].sort(key=lambda n: n.y)
    for c, neighbour in ((1, 2), (3, 2), (0, 1)):
        wanted = {}
        for n in columns[c]:
            found = centres(n, neighbour)
            if found:
                wanted[n.id] = sum(found) / len(found)
        stack(columns[c], wanted)
    return max((n.y + n.height for n in nodes), default=TOP) + GAP


def svg(nodes: list[Node], edges: set[tuple[str, str]], height: float) -> str:
    by_id = {n.id: n for n in nodes}
    width = X[-1] + WIDTH[-1] + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {width} {height:.0f}" '
             f'width="{width}" height="{height:.0f}" role="group" aria-label="Diagram of the CRM and its audiences">']
    for c, heading in enumerate(HEADINGS):
        parts.append(f'<text x="{X[c]}" y="22" class="heading">{escape(heading)}</text>')
    for a, b in sorted(edges):
        s, t = by_id[a], by_id[b]
        if s.column == t.column:  # a segment that refers to another: a curve on the right
            x0, x1 = X[s.column] + WIDTH[s.column], X[t.column] + WIDTH[t.column]
            y0, y1 = s.y + s.height / 2, t.y + t.height / 2
            parts.append(f'<path class="edge ref" d="M{x0},{y0:.0f} C{x0 + 40},{y0:.0f} {x1 + 40},{y1:.0f} '
                         f'{x1},{y1:.0f}"/>')
            continue
        x0, x1 = X[s.column] + WIDTH[s.column], X[t.column]
        y0, y1 = s.y + s.height / 2, t.y + t.height / 2
        mid = (x0 + x1) / 2
        parts.append(f'<path class="edge" d="M{x0},{y0:.0f} C{mid:.0f},{y0:.0f} {mid:.0f},{y1:.0f} {x1},{y1:.0f}"/>')
    for n in nodes:
        x, w = X[n.column], WIDTH[n.column]
        label = escape(n.label)
        inner = [f'<rect x="{x}" y="{n.y:.0f}" width="{w}" height="{n.height}" rx="6" class="node {n.kind}"/>',
                 f'<text x="{x + 10}" y="{n.y + 18:.0f}" class="label">{label}</text>']
        for i, line in enumerate(n.lines):
            inner.append(f'<text x="{x + 10}" y="{n.y + 36 + 16 * i:.0f}" class="detail">{escape(line)}</text>')
        title = escape(f"{n.label}: {'; '.join(n.lines)}")
        if n.href:
            parts.append(f'<a href="{escape(n.href)}" class="link" data-node="{escape(n.id)}" '
                         f'aria-label="{title}"><title>{title}</title>{"".join(inner)}</a>')
        else:
            parts.append(f'<g data-node="{escape(n.id)}" role="img" aria-label="{title}"><title>{title}</title>'
                         f'{"".join(inner)}</g>')
    parts.append("</svg>")
    return "".join(parts)
