"""Hover text: a field's type, nullability, column and doc; a segment's title, rule and size."""

from __future__ import annotations

from pathlib import Path

import attrs

from segdsl.syntax import ast
from segdsl.check.checker import DEFAULT_REFRESH
from segdsl.lsp.analysis import Document, Snapshot, relocate
from segdsl.lsp.text import enclosing_aggregate, enclosing_events
from segdsl.syntax.keywords import KEYWORDS
from segdsl.syntax.printer import literal_text, print_expr
from segdsl.schema.model import Field, Kind, Schema


#: Hover text for `followed` (see docs/language.md, "Event sequences").
SEQUENCE_HOVER = (
    "**event sequence** · `(A) followed by (B) within N`\n\n"
    "TRUE when some A event at tA has a B event at tB with tA < tB ≤ tA + N, both at or before the as-of; "
    "`not followed by`: some A event whose window has closed (tA + N ≤ as-of) has none. Never unknown; "
    "events with a NULL time never count. N is exact time: N days are N × 86,400 s."
)


@attrs.frozen
class Target:
    kind: str  # "field" | "segment" | "source" | "column" | "keyword"
    name: str
    start: int
    end: int
    #: For a column: the source table it belongs to.
    source: str | None = None


def target_at(snapshot: Snapshot, doc: Document, offset: int) -> Target | None:
    """The name under ``offset`` (token-based: works while typing)."""
    sc = doc.scan
    tok = sc.token_at(offset)
    if tok is not None and tok.kind == "name" and tok.text == "followed":
        return Target("keyword", tok.text, tok.start, tok.end)
    if tok is None or tok.kind != "name" or tok.text in KEYWORDS:
        return None
    i = sc.index_before(tok.end) - 1
    prev = sc.tokens[i - 1] if i > 0 else None
    if prev is not None and prev.kind == "name" and prev.text == "segment":
        return Target("segment", tok.text, tok.start, tok.end)
    schema = snapshot.schema
    if schema is None:
        return None
    agg = enclosing_aggregate(sc.tokens, i)
    if agg is not None:  # inside `fn(source ...)`: names are the source's columns
        sources = getattr(schema, "sources", None) or {}
        src_name = sc.tokens[agg + 1].text if agg + 1 < len(sc.tokens) else ""
        if i == agg + 1:
            return Target("source", tok.text, tok.start, tok.end) if tok.text in sources else None
        source = sources.get(src_name)
        if source is not None and tok.text in source.fields:
            return Target("column", tok.text, tok.start, tok.end, src_name)
        return None
    side = enclosing_events(sc.tokens, i)
    if side is None and i > 0 and sc.tokens[i - 1].text == "(" and i + 1 < len(sc.tokens) and (
            sc.tokens[i + 1].text in (")", "where")):
        side = i - 1  # the source of a side: `(bookings)` or `(bookings where`
    if side is not None:
        sources = getattr(schema, "sources", None) or {}
        src_name = sc.tokens[side + 1].text
        if i == side + 1:
            return Target("source", tok.text, tok.start, tok.end) if tok.text in sources else None
        source = sources.get(src_name)
        if source is not None and tok.text in source.fields:
            return Target("column", tok.text, tok.start, tok.end, src_name)
        return None
    if tok.text in schema.fields:
        return Target("field", tok.text, tok.start, tok.end)
    return None


def target_markdown(snapshot: Snapshot, target: Target) -> str | None:
    """Hover text for a field, a source table or one of its columns (not segments)."""
    if target.kind == "keyword":
        return SEQUENCE_HOVER
    schema = snapshot.schema
    if schema is None:
        return None
    if target.kind == "field":
        return field_markdown(schema, schema.fields[target.name])
    sources = getattr(schema, "sources", None) or {}
    if target.kind == "source":
        src = sources[target.name]
        lines = [f"**{target.name}** · source table `{src.table}`", ""]
        if src.doc:
            lines += [src.doc, ""]
        lines.append("columns: " + ", ".join(f"`{n}`" for n in src.fields))
        if getattr(src, "time", None):
            lines += ["", f"event source: each row happened at `{src.time}` (event sequences read it)"]
        return "\n".join(lines)
    if target.kind == "column":
        src = sources[target.source]
        return field_markdown(src, src.fields[target.name])
    return None


def type_text(f: Field) -> str:
    if f.days_since is not None:
        return f"day count, days_since({f.days_since})"
    if f.kind is Kind.ENUM:
        return "enum of " + ", ".join(f'"{v}"' for v in f.type.values)
    return str(f.type)


def field_markdown(schema: Schema, f: Field) -> str:
    head = f"**{f.name}** · `{type_text(f)}` · {'nullable' if f.nullable else 'not nullable'}"
    lines = [head, ""]
    if f.doc:
        lines += [f.doc, ""]
    facts = []
    derive = getattr(f, "derive_text", None)
    if f.days_since is not None:
        facts.append(f"derived: whole UTC days from `{f.days_since}` to the as-of date; no column")
    elif derive:
        facts.append(f"trait: `{derive}`, computed from the source tables")
    else:
        facts.append(f"column `{f.column}` of `{schema.table}`")
    if f.name == schema.key.name:
        facts.append(f"the key of each `{schema.entity}`")
    if f.model:
        facts.append(f"model score (model `{f.model}`)")
    lines.append(" · ".join(facts))
    return "\n".join(lines).rstrip()


def segment_markdown(snapshot: Snapshot, name: str, size_text: str | None) -> str | None:
    found = snapshot.defs.get(name)
    if found is None:
        decls = snapshot.declarations(name)
        if not decls:
            return f"**{name}**: no segment of this name in the project"
        doc, start, _ = decls[0]
        line = doc.index.position(start)[0] + 1
        return f"**{name}** · segment declared in `{Path(doc.path).name}`, line {line}; it does not parse yet"
    doc, seg = found
    title = f' · "{seg.title.value}"' if seg.title is not None else ""
    lines = [f"**{name}** · {seg.kind} segment{title}", ""]
    if seg.description:
        lines += [seg.description, ""]
    checked = snapshot.segments.get(name)
    refresh = checked.refresh if checked is not None else (seg.refresh or DEFAULT_REFRESH[seg.kind])
    lines += [f"refresh: {refresh}", ""]
    if seg.where is not None:
        lines += ["```segdsl", f"where {print_expr(seg.where)}", "```", ""]
    members = seg.clause(ast.Members)
    if members is not None:
        count = len(members.items.items)
        lines += ["```segdsl", f"members {literal_text(members.items)}", "```", "",
                  f"{count} listed key{'s' if count != 1 else ''}", ""]
    if snapshot.schema is None:
        lines += ["size unknown: the file is not in a segdsl project with a valid schema", ""]
    elif checked is None:
        lines += ["size unknown: the segment has errors", ""]
    elif size_text:
        lines += [size_text, ""]
    where = relocate(seg.name_span, doc)
    line = doc.index.position(where.start)[0] + 1
    lines.append(f"defined in `{Path(doc.path).name}`, line {line}")
    return "\n".join(lines)
