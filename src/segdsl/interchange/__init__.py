"""Import and export between `.seg` segments and the JSON rule formats of no-code UIs.

Two formats (see ``docs/interchange.md``): ``segdsl`` — the golf seed's segment objects,
``{field, operator, value}`` rules under a ``combinator`` — and ``rqb``, the query
objects react-querybuilder emits. JSON from a UI is untrusted: it is read by a
position-tracking reader with no recursion, values are converted by the schema's field
types (never guessed), and the `.seg` text is produced by :mod:`segdsl.syntax.printer`, parsed
back and checked, so text is returned only when it reads exactly as the JSON meant and
checks cleanly. Export works on the AST, so what the user wrote is what is exported.
Diagnostics: E0501–E0529 (import, spans in the JSON), E0530–E0549 (export, spans in the
`.seg` source).

The package: :mod:`.jsonread` reads the JSON, :mod:`.importing` builds the AST from it,
this module prints that as `.seg` text, parses it back and checks it, and
:mod:`.exporting` goes the other way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

import attrs

from segdsl.syntax import ast
from segdsl.check.checker import check_modules
from segdsl.diagnostics import Diagnostic, error
from segdsl.interchange.exporting import MAX_EXPORT_DEPTH, export_json
from segdsl.interchange.formats import (
    FORMATS,
    RQB_OPERATORS,
    SEGDSL_OPERATORS,
    detect_format,
)
from segdsl.interchange.importing import ImportReader
from segdsl.interchange.jsonread import MAX_JSON_DEPTH, JNode, read_json
from segdsl.interchange.names import (
    camel_case,
    identifier_for,
    json_field_name,
    snake_case,
)
from segdsl.interchange.values import MAX_ERRORS, TooManyErrors, where_in_json
from segdsl.syntax.parser import parse_source
from segdsl.syntax.printer import literal_text, print_expr, string_text
from segdsl.schema.model import Schema
from segdsl.syntax.source import check_text, decode_source
from segdsl.syntax.span import Span

__all__ = [
    "FORMATS",
    "MAX_ERRORS",
    "MAX_EXPORT_DEPTH",
    "MAX_JSON_DEPTH",
    "RQB_OPERATORS",
    "SEGDSL_OPERATORS",
    "JNode",
    "camel_case",
    "detect_format",
    "export_json",
    "identifier_for",
    "import_json",
    "json_field_name",
    "read_json",
    "segment_text",
    "snake_case",
]


def import_json(
    data: str | bytes,
    path: str,
    schema: Schema,
    fmt: str = "auto",
    *,
    name: str | None = None,
    known: Iterable[ast.Module] = (),
) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """JSON rule text → `.seg` source text, checked against ``schema``.

    ``fmt`` is ``"segdsl"``, ``"rqb"`` or ``"auto"``. ``name`` is the identifier of the
    imported segment when the JSON has none (react-querybuilder queries never do) or
    overrides it (one segment only); by default it comes from the file name. ``known``
    are the project's other modules, which imported rules may reference and whose
    segment names an import must not repeat. Returns the text (None on errors) and the
    diagnostics, whose spans are character offsets in the decoded JSON text (decode
    bytes with :func:`segdsl.syntax.source.decode_source` to render them)."""
    if fmt not in (*FORMATS, "auto"):
        raise ValueError(f"unknown interchange format {fmt!r}; use one of {', '.join(FORMATS)} or auto")
    if isinstance(data, bytes):
        src, diags = decode_source(path, data)
    else:
        src, diags = check_text(path, data)
    if src is None or diags:
        return None, tuple(diags)
    root, diags = read_json(src.text, path)
    if root is None or diags:
        return None, tuple(diags)
    if fmt == "auto":
        fmt = detect_format(root)
    reader = ImportReader(fmt, schema, path)
    stem = PurePath(path).name.split(".")[0] or "imported"
    try:
        segments = reader.document(root, stem, name)
    except TooManyErrors:
        segments = []
    if reader.failed or not segments:
        return None, tuple(reader.diags)
    return _emit(segments, reader, path, schema, list(known))


# ----------------------------------------------------------------- .seg text out


def _emit(segments: list[ast.SegmentDef], reader: ImportReader, path: str, schema: Schema,
          known: list[ast.Module]) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """Print, parse back, check; map every diagnostic back into the JSON."""
    from segdsl.syntax.formatter import format_source

    seg_path = f"<imported from {path}>"
    text = "\n".join(segment_text(s) for s in segments)
    formatted, problems = format_source(text, seg_path)
    if formatted is not None and not problems:
        text = formatted
    parsed = parse_source(seg_path, text)
    if parsed.module is None or parsed.module.segments != tuple(segments):
        why = parsed.diagnostics[0].message if parsed.diagnostics else "the rule reads differently"
        return None, (error("E0529", f"internal error: the imported text does not read back as the JSON "
                                     f"meant ({why})", Span(path, 0, 0),
                            help="this is a bug in segdsl; please report it with the JSON file"),)
    records = _records(segments, parsed.module.segments, reader)
    checked = check_modules([*known, parsed.module], schema)

    def move(span: Span) -> tuple[Span, str | None]:
        if span.path != seg_path:
            return span, None
        hit = records.get((span.start, span.end))
        if hit is None:  # not a node's own span: the smallest node around it
            around = [(e - s, rec) for (s, e), rec in records.items() if s <= span.start and span.end <= e]
            hit = min(around, key=lambda t: t[0])[1] if around else None
        if hit is None:
            return Span(path, 0, 0), None
        (j, jpath), rule = hit
        note = where_in_json(jpath)
        if rule is not None:
            shown = text[rule.start:rule.end]
            note += f", imported as `{shown if len(shown) <= 100 else shown[:97] + '...'}`"
        return Span(path, j.start, j.end), note

    out: list[Diagnostic] = []
    for d in checked.diagnostics:
        if d.span is None or d.span.path != seg_path:
            continue
        span, note = move(d.span)
        labels = tuple(attrs.evolve(lb, span=move(lb.span)[0]) for lb in d.labels)
        out.append(attrs.evolve(d, span=span, labels=labels, notes=d.notes + ((note,) if note else ())))
        if len(out) >= MAX_ERRORS:
            break
    if any(d.is_error for d in out):
        return None, tuple(out)
    return text, tuple(out)


_EXPRS = (ast.BoolOp, ast.Not, ast.Truthy, ast.Compare, ast.CompareOperands, ast.InList, ast.Between, ast.IsNull,
          ast.TextMatch, ast.TagMatch, ast.TimeWindow, ast.SegmentRef)


def _records(built, parsed, reader: ImportReader) -> dict[tuple[int, int], tuple[tuple[JNode, str], Span | None]]:
    """Each parsed node's span → the JSON node it came from (the nearest marked ancestor
    when it has none of its own) and the span of the rule around it. The two trees are
    equal, so they are walked in step; inner nodes overwrite outer ones of equal span."""
    out: dict[tuple[int, int], tuple[tuple[JNode, str], Span | None]] = {}
    stack = [(b, p, None, None) for b, p in zip(built, parsed)]
    while stack:
        b, p, inherited, rule = stack.pop()
        origin = reader.origin.get(id(b), inherited)
        if isinstance(p, _EXPRS) and not isinstance(p, (ast.BoolOp, ast.Not)):
            rule = p.span
        if origin is not None:
            out[(p.span.start, p.span.end)] = (origin, rule)
            for extra in ("cadence_span", "name_span"):
                sp = getattr(p, extra, None)
                if sp is not None:
                    out[(sp.start, sp.end)] = (reader.name_origin.get(id(b), origin), rule)
        if isinstance(b, ast.ListLit):  # often long: its items are leaves, no need to walk them
            for xi, yi in zip(b.items, p.items):
                out[(yi.span.start, yi.span.end)] = (reader.origin.get(id(xi), origin), rule)
            continue
        for f in attrs.fields(type(b)):
            x, y = getattr(b, f.name), getattr(p, f.name)
            if isinstance(x, tuple):
                stack.extend((xi, yi, origin, rule) for xi, yi in zip(x, y) if attrs.has(type(xi)))
            elif attrs.has(type(x)) and not isinstance(x, Span):
                stack.append((x, y, origin, rule))
    return out


def segment_text(seg: ast.SegmentDef) -> str:
    """One segment declaration, a clause a line, spelled by :mod:`segdsl.syntax.printer`; the
    formatter then lays it out as `segdsl fmt` would."""
    head = ("" if seg.kind == "dynamic" else f"{seg.kind} ") + f"segment {seg.name}"
    if seg.title is not None:
        head += " " + string_text(seg.title.value)
    lines = [head + " {"]
    for clause in seg.clauses:
        match clause:
            case ast.Description(text=t):
                lines.append(f"    description {string_text(t.value)}")
            case ast.Refresh(cadence=c):
                lines.append(f"    refresh {c}")
            case ast.Members(items=items):
                lines.append(f"    members {literal_text(items)}")
            case ast.Where(expr=e):
                lines.append(f"    where {print_expr(e)}")
    lines.append("}")
    return "\n".join(lines) + "\n"
