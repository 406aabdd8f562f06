"""Hover text: a field's type, nullability, column and doc; a segment's title, rule and
size; a split's arms and a holdout's share, with their bucket ranges."""

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
    kind: str  # "field" | "segment" | "source" | "column" | "ranking" (`top`, `among`) | "split" | "arm" | "holdout" | "keyword" (`followed`)
    name: str
    start: int
    end: int
    #: For a column: the source table it belongs to.
    source: str | None = None


def target_at(snapshot: Snapshot, doc: Document, offset: int) -> Target | None:
    """The name under ``offset`` (token-based: works while typing)."""
    sc = doc.scan
    tok = sc.token_at(offset)
    if tok is not None and tok.kind == "name" and tok.text in ("top", "among"):
        return Target("ranking", tok.text, tok.start, tok.end)
    if tok is not None and tok.kind == "name" and tok.text == "followed":
        return Target("keyword", tok.text, tok.start, tok.end)
    if tok is None or tok.kind != "name" or tok.text in KEYWORDS:
        return None
    i = sc.index_before(tok.end) - 1
    prev = sc.tokens[i - 1] if i > 0 else None
    if prev is not None and prev.kind == "name" and prev.text == "segment":
        return Target("segment", tok.text, tok.start, tok.end)
    if prev is not None and prev.kind == "name" and prev.text in ("split", "holdout"):
        return Target(prev.text, tok.text, tok.start, tok.end)
    if prev is not None and prev.text == "." and i >= 3 and sc.tokens[i - 3].text == "split":
        return Target("arm", tok.text, tok.start, tok.end, sc.tokens[i - 2].text)
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
    """Hover text for a field, a source table or one of its columns, a ranking keyword, a
    split, an arm, a holdout or `followed` (not segments)."""
    if target.kind == "ranking":
        return RANKING_MARKDOWN
    if target.kind in ("split", "arm", "holdout"):
        return split_markdown(snapshot, target)
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


#: Hover text for `top` and `among` (docs/language.md, "Ranking").
RANKING_MARKDOWN = (
    "**ranking** · `X in top P% [among ...]` · `top N by X [among ...]`\n\n"
    "Ranks the population's entities whose value is not NULL, best first (the greatest value; for "
    "`days_since(...)` the most days). `in top P%`: TRUE where 100 × (rank − 1) < P × N, N the number ranked; "
    "ties at the cut-off are all in. `top N by`: the first N, ties broken by the smallest key (code-point "
    "order).\n\n"
    "`among in segment NAME` or `among (rule)` is the population (default: every entity). A NULL value is "
    "unknown; an entity outside the population is false. `segdsl plan` and `segdsl size` show each cut-off."
)


def split_markdown(snapshot: Snapshot, target: Target) -> str | None:
    """A split's arms (or one arm) or a holdout: shares, bucket ranges and salt."""
    from segdsl.ir.semantics import BUCKETS, bucket_ranges, share_buckets

    if target.kind == "holdout":
        h = snapshot.holdout_defs.get(target.name)
        if h is None:
            return f"**{target.name}**: no holdout of this name in the project"
        n = share_buckets(h.share.value)
        title = f" — {h.title.value}" if h.title else ""
        ranges = f"buckets 0–{n - 1} of {BUCKETS:,}" if n else "no whole number of buckets"
        return (f"**{h.name}** · holdout{title}\n\n{h.share.text}% of all entities ({ranges}) under salt "
                f"`{literal_text(h.salt)}`; no journey may enrol them")
    name = target.source if target.kind == "arm" else target.name
    sp = snapshot.split_defs.get(name or "")
    if sp is None:
        return f"**{name}**: no split of this name in the project"
    shares = [share_buckets(a.weight.value) for a in sp.arms]
    ranges = bucket_ranges([n or 0 for n in shares])
    salt = next((i.text for i in sp.items if isinstance(i, ast.Salt)), None)
    rows = [f"- `{a.name}` {a.weight.text}%: buckets {lo}–{hi - 1}" if hi > lo else f"- `{a.name}` 0%: empty"
            for a, (lo, hi) in zip(sp.arms, ranges) if target.kind == "split" or a.name == target.name]
    if not rows:
        return f"**{target.name}**: split `{name}` has no arm of this name"
    title = f" — {sp.title.value}" if sp.title else ""
    head = f"**{sp.name}** · split{title}" if target.kind == "split" else f"**{target.name}** · arm of split `{name}`"
    salt_text = f"salt `{literal_text(salt)}`" if salt is not None else "no salt yet"
    return "\n".join([head, "", *rows, "", f"{salt_text}; each entity's bucket is SHA-256 of `salt:key` (docs/language.md)"])


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
    if f.kind is Kind.TIMESTAMP and f.days_since is None:
        facts.append("windows: `within N days` counts UTC dates, `within N hours` exact instants")
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
