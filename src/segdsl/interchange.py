"""Import and export between `.seg` segments and the JSON rule formats of no-code UIs.

Two formats (see ``docs/interchange.md``): ``segdsl`` — the golf seed's segment objects,
``{field, operator, value}`` rules under a ``combinator`` — and ``rqb``, the query
objects react-querybuilder emits. JSON from a UI is untrusted: it is read by a
position-tracking reader with no recursion, values are converted by the schema's field
types (never guessed), and the `.seg` text is produced by :mod:`segdsl.printer`, parsed
back and checked, so text is returned only when it reads exactly as the JSON meant and
checks cleanly. Export works on the AST, so what the user wrote is what is exported.
Diagnostics: E0501–E0529 (import, spans in the JSON), E0530–E0549 (export, spans in the
`.seg` source).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import PurePath

import attrs

from segdsl import ast
from segdsl.checker import check_modules
from segdsl.diagnostics import Diagnostic, error
from segdsl.ir import CADENCES
from segdsl.parser import MAX_DEPTH, parse_source
from segdsl.printer import literal_text, print_expr, string_text
from segdsl.schema import NUMERIC, RESERVED, Field, Kind, Schema
from segdsl.source import check_text, decode_source
from segdsl.span import Span
from segdsl.suggest import closest, did_you_mean, one_of

FORMATS = ("segdsl", "rqb")

#: Deepest JSON nesting read (objects and arrays). A group costs two levels (the group
#: object and its ``rules`` array), so this allows 100 nested groups, twice what a rule
#: may nest in `.seg` (``MAX_DEPTH``).
MAX_JSON_DEPTH = 200

#: Import stops after this many errors: one bad value in a 100,000-item list is enough.
MAX_ERRORS = 100

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# The grammar's DATE and TIMESTAMP tokens: text passed through must lex as one of them.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
)
_LOOSE_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
#: What JavaScript's ``String.prototype.trim`` removes (RQB trims list items with it).
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


# =============================================================================== JSON


class JNode:
    """A JSON value with the character range it came from.

    ``value`` is a dict (object), list (array), str (string), the number's text
    (number), bool, or None. ``keys`` holds each object key's range."""

    __slots__ = ("end", "keys", "kind", "start", "value")

    def __init__(self, kind: str, value, start: int, end: int):
        self.kind = kind
        self.value = value
        self.start = start
        self.end = end
        self.keys: dict[str, tuple[int, int]] | None = {} if kind == "object" else None


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_TOKEN = re.compile(
    r"(?P<punct>[{}\[\]])"
    r'|(?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")'
    r"|(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9A-Za-z_.+-])"
    r"|(?P<word>true|false|null)(?![0-9A-Za-z_])"
    r"|(?P<nonfinite>-?(?:NaN|Infinity))(?![0-9A-Za-z_])"
)


def read_json(text: str, path: str) -> tuple[JNode | None, list[Diagnostic]]:
    """Parse strict JSON (RFC 8259) into :class:`JNode` values, iteratively.

    Rejects what JSON parsers disagree on or Python would accept beyond the standard:
    ``NaN``/``Infinity``, duplicate keys, nesting past :data:`MAX_JSON_DEPTH`."""
    diags: list[Diagnostic] = []
    n = len(text)
    pos = _WS.match(text).end()
    stack: list[list] = []  # [container, pending key, pending key range]
    root: JNode | None = None
    expecting = "value"  # "value" | "key" | "after"

    def attach(node: JNode) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        frame = stack[-1]
        parent = frame[0]
        if parent.kind == "array":
            parent.value.append(node)
            return
        key, (ks, ke) = frame[1], frame[2]
        if key in parent.value:
            diags.append(error("E0506", f"key {_show(key)} appears twice in one object", Span(path, ks, ke),
                               label="again here",
                               help="JSON readers disagree on which one counts; keep one"))
            return
        parent.value[key] = node
        parent.keys[key] = (ks, ke)

    while True:
        if expecting == "value":
            m = _TOKEN.match(text, pos)
            if m is None:
                return None, [_syntax(text, path, pos, "expected a JSON value")]
            kind, tok, end = m.lastgroup, m.group(m.lastgroup), m.end()
            if kind == "punct":
                if tok in "]}":
                    return None, [_syntax(text, path, pos, f"expected a JSON value, found `{tok}`")]
                if len(stack) >= MAX_JSON_DEPTH:
                    return None, [error("E0503", f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
                                        Span(path, pos, pos + 1), label="too deep",
                                        help="no rule needs this much nesting; flatten the groups")]
                node = JNode("object" if tok == "{" else "array", {} if tok == "{" else [], pos, -1)
                attach(node)
                stack.append([node, None, None])
                pos = _WS.match(text, end).end()
                closer = "}" if tok == "{" else "]"
                if text.startswith(closer, pos):
                    node.end = pos + 1
                    stack.pop()
                    pos = _WS.match(text, pos + 1).end()
                    expecting = "after"
                else:
                    expecting = "key" if tok == "{" else "value"
                continue
            if kind == "nonfinite":
                return None, [error("E0502", f"`{tok}` is not a JSON number", Span(path, pos, end),
                                    label="not JSON", help="JSON has no NaN or Infinity; write a finite number")]
            if kind == "string":
                node = JNode("string", _decode_string(tok), pos, end)
            elif kind == "number":
                node = JNode("number", tok, pos, end)
            elif tok == "null":
                node = JNode("null", None, pos, end)
            else:
                node = JNode("bool", tok == "true", pos, end)
            attach(node)
            pos = _WS.match(text, end).end()
            expecting = "after"
        elif expecting == "key":
            m = _STRING.match(text, pos)
            if m is None:
                return None, [_syntax(text, path, pos, "expected a string key")]
            key = _decode_string(m.group(0))
            key_range = (pos, m.end())
            pos = _WS.match(text, m.end()).end()
            if not text.startswith(":", pos):
                return None, [_syntax(text, path, pos, "expected `:` after the key")]
            pos = _WS.match(text, pos + 1).end()
            stack[-1][1], stack[-1][2] = key, key_range
            expecting = "value"
        else:
            if not stack:
                if pos != n:
                    return None, [_syntax(text, path, pos, "extra data after the JSON value")]
                return root, diags
            node = stack[-1][0]
            closer = "}" if node.kind == "object" else "]"
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
                expecting = "key" if node.kind == "object" else "value"
            elif text.startswith(closer, pos):
                node.end = pos + 1
                stack.pop()
                pos = _WS.match(text, pos + 1).end()
            else:
                return None, [_syntax(text, path, pos, f"expected `,` or `{closer}`")]


def _decode_string(token: str) -> str:
    return token[1:-1] if "\\" not in token else json.loads(token)


def _syntax(text: str, path: str, pos: int, fallback: str) -> Diagnostic:
    """A syntax error, worded by Python's own JSON parser where it agrees it is one."""
    message = fallback
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos <= pos:
            message, pos = exc.msg, exc.pos
    except (RecursionError, ValueError):  # pragma: no cover - beyond our depth check
        pass
    return error("E0501", f"invalid JSON: {message}", Span(path, pos, pos + 1), label="here")


# ============================================================================== names


def snake_case(name: str, digits: bool = True) -> str:
    """``bookingCount30d`` → ``booking_count_30d``; ``emailOptIn`` → ``email_opt_in``.
    With ``digits=False`` a digit does not start a word (``count30d`` → ``count30d``)."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    if digits:
        s = re.sub(r"(?<=[A-Za-z])(?=[0-9])", "_", s)
    return s.lower()


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def json_field_name(name: str) -> str:
    """The name a schema field is exported under: camelCase when that maps back to
    exactly this name on import, the name itself otherwise."""
    camel = camel_case(name)
    return camel if snake_case(camel) == name else name


def identifier_for(text: str) -> str | None:
    """A segment identifier from a human name: ``Active Golfers - Low Handicap`` →
    ``active_golfers_low_handicap``. None when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_text)
    ident = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_").lower()
    if not ident:
        return None
    if ident[0].isdigit():
        ident = "segment_" + ident
    if ident in RESERVED:
        ident += "_segment"
    return ident


def _is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in RESERVED


def _show(value: str, limit: int = 40) -> str:
    """A string for a message: quoted, escaped to ASCII, so nothing in it can disturb a
    terminal or reorder the text."""
    shown = json.dumps(value[:limit])
    return shown + ("…" if len(value) > limit else "")


# ========================================================================= operators

#: segdsl-json operator → (shape, argument, negated).
SEGDSL_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "eq": ("compare", "=", False), "neq": ("compare", "!=", False),
    "lt": ("compare", "<", False), "lte": ("compare", "<=", False),
    "gt": ("compare", ">", False), "gte": ("compare", ">=", False),
    "in": ("list", "", False), "nin": ("list", "", True),
    "between": ("range", "", False), "notBetween": ("range", "", True),
    "isNull": ("null", "", False), "isNotNull": ("null", "", True),
    "isTrue": ("truthy", "", False),
    "contains": ("text", "contains", False), "startsWith": ("text", "starts with", False),
    "endsWith": ("text", "ends with", False),
    "has": ("tag", "has", False), "hasAny": ("tag", "has any", False), "hasAll": ("tag", "has all", False),
    "within": ("time", "within", False), "before": ("time", "before", False), "after": ("time", "after", False),
    "inSegment": ("segment", "", False), "notInSegment": ("segment", "", True),
}

#: react-querybuilder's default operators → (shape, argument, negated).
RQB_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "=": ("compare", "=", False), "!=": ("compare", "!=", False),
    "<": ("compare", "<", False), "<=": ("compare", "<=", False),
    ">": ("compare", ">", False), ">=": ("compare", ">=", False),
    "contains": ("text", "contains", False), "beginsWith": ("text", "starts with", False),
    "endsWith": ("text", "ends with", False),
    "doesNotContain": ("text", "contains", True), "doesNotBeginWith": ("text", "starts with", True),
    "doesNotEndWith": ("text", "ends with", True),
    "null": ("null", "", False), "notNull": ("null", "", True),
    "in": ("list", "", False), "notIn": ("list", "", True),
    "between": ("range", "", False), "notBetween": ("range", "", True),
}

_SEGMENT_KEYS = ("id", "name", "title", "description", "refresh", "type", "rules", "combinator", "not", "members")
_GROUP_KEYS = {"segdsl": ("combinator", "rules", "not"),
               "rqb": ("combinator", "rules", "not", "id", "path", "disabled", "muted")}
_RULE_KEYS = {"segdsl": ("field", "operator", "value", "ignoreCase", "daysSince"),
              "rqb": ("field", "operator", "value", "id", "path", "disabled", "muted", "valueSource", "match")}
_KINDS = ("dynamic", "static", "smart")
_NAMES = {"segdsl": "segdsl-json", "rqb": "react-querybuilder"}


# ============================================================================= import


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
    bytes with :func:`segdsl.source.decode_source` to render them)."""
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
    reader = _Reader(fmt, schema, path)
    stem = PurePath(path).name.split(".")[0] or "imported"
    try:
        segments = reader.document(root, stem, name)
    except _TooMany:
        segments = []
    if reader.failed or not segments:
        return None, tuple(reader.diags)
    return _emit(segments, reader, path, schema, list(known))


def detect_format(root: JNode) -> str:
    """``segdsl`` for a list, an object with segment keys, or segdsl-json operators
    (or the seed's upper-case combinators); ``rqb`` otherwise."""
    if root.kind != "object":
        return "segdsl"
    if any(k in root.value for k in ("name", "title", "description", "refresh", "type", "members")):
        return "segdsl"
    upper = False
    todo, seen = [root], 0
    while todo and seen < 10_000:
        node = todo.pop()
        seen += 1
        if node.kind == "array":
            todo.extend(node.value)
            continue
        if node.kind != "object":
            continue
        op = node.value.get("operator")
        if op is not None and op.kind == "string":
            if op.value in SEGDSL_OPERATORS and op.value not in RQB_OPERATORS:
                return "segdsl"
            if op.value in RQB_OPERATORS and op.value not in SEGDSL_OPERATORS:
                return "rqb"
        comb = node.value.get("combinator")
        upper = upper or (comb is not None and comb.kind == "string" and comb.value in ("AND", "OR"))
        if "rules" in node.value:
            todo.append(node.value["rules"])
    return "segdsl" if upper else "rqb"


class _TooMany(Exception):
    pass


_SKIP = object()  # a disabled react-querybuilder rule: not part of the query


class _Reader:
    """JSON values → AST nodes, remembering which JSON node each AST node came from."""

    def __init__(self, fmt: str, schema: Schema, path: str):
        self.fmt = fmt
        self.schema = schema
        self.path = path
        self.loose = fmt == "rqb"
        self.diags: list[Diagnostic] = []
        self.failed = False
        self.origin: dict[int, tuple[JNode, str]] = {}
        self.name_origin: dict[int, tuple[JNode, str]] = {}
        self.depth: dict[int, int] = {}
        self._keep: list = []  # keeps marked nodes alive, so their ids stay unique
        self.nowhere = Span("<import>", 0, 0)

    # ------------------------------------------------------------------ plumbing

    def err(self, code: str, message: str, j: JNode | tuple[int, int] | None, jpath: str, *,
            help: str | None = None, label: str = "") -> None:
        start, end = (j.start, j.end) if isinstance(j, JNode) else (j or (0, 0))
        where = _where(jpath)
        self.diags.append(error(code, message, Span(self.path, start, end), label=label, help=help, notes=(where,)))
        self.failed = True
        if sum(d.is_error for d in self.diags) >= MAX_ERRORS:
            raise _TooMany

    def mark(self, node, j: JNode, jpath: str):
        self.origin[id(node)] = (j, jpath)
        self._keep.append(node)
        return node

    def keys(self, j: JNode, jpath: str, allowed: Sequence[str], what: str) -> None:
        for key, where in j.keys.items():
            if key not in allowed:
                self.err("E0505", f"unknown key {_show(key)} in {what}", where, jpath, label="not expected here",
                         help=did_you_mean(key, allowed) or f"the keys are {one_of(allowed)}")

    def expect(self, j: JNode, kind: str, jpath: str, what: str) -> bool:
        if j.kind == kind:
            return True
        self.err("E0504", f"expected {what}, found {_describe(j)}", j, jpath, label=f"not {_article(kind)}")
        return False

    def string(self, j: JNode, jpath: str, what: str) -> str | None:
        if not self.expect(j, "string", jpath, what):
            return None
        return j.value if self.clean(j.value, j, jpath) else None

    def clean(self, value: str, j: JNode, jpath: str) -> bool:
        """Whether a `.seg` string can hold ``value`` exactly (see docs/language.md)."""
        if value.isprintable():
            return True
        if "\r" in value:
            self.err("E0510", "a carriage return cannot be written in a .seg string", j, jpath,
                     help="remove it; line breaks are written \\n")
            return False
        _, problems = check_text("<string>", value)
        if problems:
            self.err("E0510", f"the string holds a character a .seg file cannot: {problems[0].message}", j, jpath,
                     help="remove it from the value")
            return False
        return True

    # ------------------------------------------------------------------ segments

    def document(self, root: JNode, stem: str, name: str | None) -> list[ast.SegmentDef]:
        if name is not None and not _is_identifier(name):
            self.err("E0513", f"{_show(name)} is not a segment identifier", None, "",
                     help="an identifier is letters, digits and `_`, not starting with a digit, and not a keyword")
            return []
        if self.fmt == "rqb":
            if not self.expect(root, "object", "", "a react-querybuilder query object"):
                return []
            ident = name or identifier_for(stem) or "imported"
            where = self.group(root, "")
            if where is None or where is _SKIP:
                if where is _SKIP:
                    self.err("E0511", "the whole query is disabled, so it has no rule", root, "")
                return []
            seg = ast.SegmentDef("dynamic", ident, None, (ast.Where(where, self.nowhere),), self.nowhere, self.nowhere)
            return [self.mark(seg, root, "")]
        if root.kind == "array":
            if not root.value:
                self.err("E0504", "the list holds no segments", root, "")
            if name is not None and len(root.value) != 1:
                self.err("E0513", f"a name was given for one segment, but the list holds {len(root.value)}",
                         root, "", help="give each segment an \"id\" in the JSON instead")
            out = [self.segment(item, f"[{i}]", name) for i, item in enumerate(root.value)]
            return [s for s in out if s is not None]
        seg = self.segment(root, "", name, stem)
        return [seg] if seg is not None else []

    def segment(self, j: JNode, jpath: str, override: str | None, stem: str | None = None) -> ast.SegmentDef | None:
        if not self.expect(j, "object", jpath, "a segment object"):
            return None
        self.keys(j, jpath, _SEGMENT_KEYS, "a segment")
        v = j.value
        errors = len(self.diags)
        kind = "dynamic"
        if "type" in v:
            text = self.string(v["type"], _path(jpath, "type"), "the segment type")
            if text is not None and text.lower() in _KINDS:
                kind = text.lower()
            elif text is not None:
                self.err("E0504", f"unknown segment type {_show(text)}", v["type"], _path(jpath, "type"),
                         help=did_you_mean(text, _KINDS, quote='"') or f"use one of {one_of(_KINDS, quote=chr(34))}")
        human = self.string(v["name"], _path(jpath, "name"), "the segment name") if "name" in v else None
        title = self.string(v["title"], _path(jpath, "title"), "the segment title") if "title" in v else None
        ident = None
        name_j = v.get("id") or v.get("name") or j
        if override is not None:
            ident = override
        elif "id" in v:
            ident = self.string(v["id"], _path(jpath, "id"), "the segment identifier")
            if ident is not None and not _is_identifier(ident):
                self.err("E0513", f"{_show(ident)} is not a segment identifier", v["id"], _path(jpath, "id"),
                         help=f"try {_show(identifier_for(ident) or 'segment_1')}; an identifier is letters, "
                              "digits and `_`, not starting with a digit, and not a keyword")
                ident = None
        elif human is not None:
            ident = identifier_for(human)
            if ident is None:
                self.err("E0513", f"cannot make a segment identifier from the name {_show(human)}", v["name"],
                         _path(jpath, "name"), help='give one explicitly with "id"')
        elif stem is not None:
            ident = identifier_for(stem) or "imported"
        elif "name" not in v:
            self.err("E0504", 'a segment in a list needs a "name" or an "id"', j, jpath)
        if title is None and human is not None and (override is not None or "id" in v or human != ident):
            title = human
        clauses: list[ast.Clause] = []
        if "description" in v:
            text = self.string(v["description"], _path(jpath, "description"), "the description")
            if text is not None:
                lit = self.mark(ast.StringLit(text, self.nowhere), v["description"], _path(jpath, "description"))
                clause = ast.Description(lit, self.nowhere)
                clauses.append(self.mark(clause, v["description"], _path(jpath, "description")))
        if "refresh" in v:
            text = self.string(v["refresh"], _path(jpath, "refresh"), "the refresh cadence")
            if text is not None and text.lower() in CADENCES:
                clauses.append(self.mark(ast.Refresh(text.lower(), self.nowhere, self.nowhere), v["refresh"],
                                         _path(jpath, "refresh")))
            elif text is not None:
                self.err("E0504", f"unknown refresh cadence {_show(text)}", v["refresh"], _path(jpath, "refresh"),
                         help=did_you_mean(text, CADENCES, quote='"')
                         or f"use one of {one_of(CADENCES, quote=chr(34))}")
        if kind == "static":
            for key in ("rules", "combinator", "not"):
                if key in v:
                    self.err("E0504", f'a static segment lists its "members"; it has no "{key}"', v[key],
                             _path(jpath, key), help='drop "type": "static" to make it a rule-based segment')
            if "members" not in v:
                self.err("E0504", 'a static segment needs "members", a list of member keys', j, jpath)
            else:
                members = self.members(v["members"], _path(jpath, "members"))
                if members is not None:
                    clauses.append(self.mark(ast.Members(members, self.nowhere), v["members"], _path(jpath, "members")))
        else:
            if "members" in v:
                self.err("E0504", f'only a static segment has "members"; this one is {kind}', v["members"],
                         _path(jpath, "members"), help='add "type": "static", or remove "members"')
            if "rules" not in v:
                self.err("E0504", f'a {kind} segment needs "rules"', j, jpath)
            else:
                where = self.group(j, jpath, top=True)
                if where is _SKIP:  # pragma: no cover - segdsl-json has no disabled rules
                    where = None
                if where is not None:
                    clauses.append(self.mark(ast.Where(where, self.nowhere), v["rules"], _path(jpath, "rules")))
        if ident is None or len(self.diags) > errors:
            return None
        title_lit = ast.StringLit(title, self.nowhere) if title is not None else None
        if title_lit is not None:
            self.mark(title_lit, v.get("title") or v["name"], _path(jpath, "title" if "title" in v else "name"))
        seg = ast.SegmentDef(kind, ident, title_lit, tuple(clauses), self.nowhere, self.nowhere,
                             kind_explicit=kind != "dynamic")
        self.name_origin[id(seg)] = (name_j, _path(jpath, "id" if "id" in v else "name"))
        return self.mark(seg, j, jpath)

    def members(self, j: JNode, jpath: str) -> ast.ListLit | None:
        if not self.expect(j, "array", jpath, "a list of member keys"):
            return None
        key = self.schema.key
        items = [self.scalar(item, f"{jpath}[{i}]", key) for i, item in enumerate(j.value)]
        if any(i is None for i in items):
            return None
        return self.mark(ast.ListLit(tuple(items), self.nowhere), j, jpath)

    # ------------------------------------------------------------------ groups

    def group(self, j: JNode, jpath: str, top: bool = False):
        v = j.value
        if not top:
            self.keys(j, jpath, _GROUP_KEYS[self.fmt], "a rule group")
        if self.disabled(j, jpath):
            return _SKIP
        rules_path = _path(jpath, "rules")
        if "rules" not in v:
            return self.err("E0504", 'a group needs "rules"', j, jpath)
        rules_j = v["rules"]
        if not self.expect(rules_j, "array", rules_path, "a list of rules"):
            return None
        negate = False
        not_j = v.get("not")
        if not_j is not None and not_j.kind != "null":
            negate = self.expect(not_j, "bool", _path(jpath, "not"), "true or false") and not_j.value
        if self.fmt == "rqb" and any(c.kind == "string" for c in rules_j.value):
            inner = self.independent(j, jpath)
        else:
            inner = self.together(j, jpath)
        if inner is None or inner is _SKIP:
            return inner
        if negate:
            inner = self.mark(self.nest(ast.Not(inner, self.nowhere)), j, jpath)
        if self.depth.get(id(inner), 0) > MAX_DEPTH:
            return self.err("E0503", f"groups nest more than {MAX_DEPTH} levels deep", j, jpath, label="too deep",
                            help="flatten the groups: a group inside a group of the same combinator adds nothing")
        return inner

    def disabled(self, j: JNode, jpath: str) -> bool:
        """react-querybuilder leaves disabled (and muted) rules and groups out of the query."""
        if self.fmt != "rqb":
            return False
        off = False
        for key in ("disabled", "muted"):
            if key in j.value and self.expect(j.value[key], "bool", _path(jpath, key), "true or false"):
                off = off or j.value[key].value
        return off

    def together(self, j: JNode, jpath: str):
        """The rules of a group joined by its one combinator."""
        v = j.value
        rules_path = _path(jpath, "rules")
        children = v["rules"].value
        combinator = self.combinator(v["combinator"], _path(jpath, "combinator")) if "combinator" in v else None
        items = []
        failed = False
        for i, child in enumerate(children):
            e = self.item(child, f"{rules_path}[{i}]")
            if e is None:
                failed = True
            elif e is not _SKIP:
                items.append(e)
        if failed:
            return None
        if len(items) >= 2 and combinator is None:
            if "combinator" not in v:
                self.err("E0504", 'a group of several rules needs a "combinator"', j, jpath,
                         help='add "combinator": "AND" (all must hold) or "OR" (any may)')
            return None
        if not items:
            if children and self.fmt == "rqb":
                return _SKIP  # every rule in it is disabled
            return self.err("E0511", "an empty group has no rule", v["rules"], rules_path,
                            help="add at least one rule; segdsl has no rule that matches everyone")
        if len(items) == 1:
            return items[0]
        return self.mark(self.nest(ast.BoolOp(combinator, tuple(items), self.nowhere)), j, jpath)

    def nest(self, node):
        children = node.items if isinstance(node, ast.BoolOp) else (node.item,)
        self.depth[id(node)] = 1 + max(self.depth.get(id(c), 0) for c in children)
        return node

    def combinator(self, j: JNode, jpath: str) -> str | None:
        text = self.string(j, jpath, '"AND" or "OR"')
        if text is None:
            return None
        if text.lower() in ("and", "or"):
            return text.lower()
        spelled = ("and", "or") if self.fmt == "rqb" else ("AND", "OR")
        return self.err("E0512", f"unknown combinator {_show(text)}", j, jpath, label="not a combinator",
                        help=("segdsl has no exclusive or; write it with and/or/not" if text.lower() == "xor"
                              else f"use {one_of(spelled, quote=chr(34))}"))

    def independent(self, j: JNode, jpath: str):
        """react-querybuilder's independent combinators: ``[rule, "and", rule, "or", rule]``.
        As in the SQL react-querybuilder writes for them, `and` binds tighter than `or`."""
        rules_j = j.value["rules"]
        rules_path = _path(jpath, "rules")
        if "combinator" in j.value:
            return self.err("E0504", 'a group with combinators between its rules has no "combinator" of its own',
                            j.value["combinator"], _path(jpath, "combinator"))
        if len(rules_j.value) % 2 == 0:
            return self.err("E0504", "the list of rules ends with a combinator", rules_j, rules_path,
                            help="rules and combinators alternate: [rule, \"and\", rule]")
        terms: list[list] = [[]]
        failed = False
        for i, child in enumerate(rules_j.value):
            cp = f"{rules_path}[{i}]"
            if i % 2 == 1:
                if child.kind != "string":
                    self.err("E0504", f"expected a combinator between rules, found {_describe(child)}", child, cp)
                    failed = True
                    continue
                word = self.combinator(child, cp)
                if word is None:
                    failed = True
                elif word == "or":
                    terms.append([])
                continue
            if child.kind == "string":
                self.err("E0504", "expected a rule or a group, found a combinator", child, cp)
                failed = True
                continue
            e = self.item(child, cp)
            if e is None:
                failed = True
            elif e is not _SKIP:
                terms[-1].append(e)
        if failed:
            return None
        ands = [t[0] if len(t) == 1 else self.mark(self.nest(ast.BoolOp("and", tuple(t), self.nowhere)), j, jpath)
                for t in terms if t]
        if not ands:
            return _SKIP
        if len(ands) == 1:
            return ands[0]
        return self.mark(self.nest(ast.BoolOp("or", tuple(ands), self.nowhere)), j, jpath)

    def item(self, j: JNode, jpath: str):
        if j.kind != "object":
            return self.err("E0504", f"expected a rule or a group, found {_describe(j)}", j, jpath,
                            help='a rule is {"field": ..., "operator": ..., "value": ...}')
        if "rules" in j.value:
            return self.group(j, jpath)
        return self.rule(j, jpath)

    # ------------------------------------------------------------------ rules

    def rule(self, j: JNode, jpath: str):
        v = j.value
        fmt = self.fmt
        self.keys(j, jpath, _RULE_KEYS[fmt], "a rule")
        operators = SEGDSL_OPERATORS if fmt == "segdsl" else RQB_OPERATORS
        errors = len(self.diags)
        if self.disabled(j, jpath):
            return _SKIP
        if fmt == "rqb":
            if "valueSource" in v and not (v["valueSource"].kind == "string" and v["valueSource"].value == "value"):
                return self.err("E0514", "a rule comparing a field with another field cannot be expressed in segdsl",
                                v["valueSource"], _path(jpath, "valueSource"),
                                help="segdsl compares a field with a literal value")
            if "match" in v:
                return self.err("E0514", "react-querybuilder match modes (subqueries over arrays) cannot be "
                                "expressed in segdsl", v["match"], _path(jpath, "match"))
        if "operator" not in v:
            return self.err("E0504", 'a rule needs an "operator"', j, jpath)
        op = self.string(v["operator"], _path(jpath, "operator"), "an operator name")
        if op is None:
            return None
        if op not in operators:
            other = RQB_OPERATORS if fmt == "segdsl" else SEGDSL_OPERATORS
            hint = did_you_mean(op, operators, quote='"')
            if op in other:
                same = [name for name, spec in operators.items() if spec == other[op]]
                hint = f'{_show(op)} is a {_NAMES["rqb" if fmt == "segdsl" else "segdsl"]} operator; ' + (
                    f"in {_NAMES[fmt]} write {_show(same[0])}" if same
                    else f"{_NAMES[fmt]} has no such operator; pass --format to read the other format")
            return self.err("E0507", f"unknown operator {_show(op)}", v["operator"], _path(jpath, "operator"),
                            label="not an operator",
                            help=hint
                            or f"the {_NAMES[fmt]} operators are {one_of(operators, quote=chr(34), limit=30)}")
        shape, arg, negated = operators[op]
        value_path = _path(jpath, "value")
        value = v.get("value")
        if shape == "segment":
            return self.segment_ref(j, jpath, op, negated)
        if "field" not in v:
            return self.err("E0504", 'a rule needs a "field"', j, jpath)
        field = self.field(v["field"], _path(jpath, "field"))
        days = False
        if "daysSince" in v and self.expect(v["daysSince"], "bool", _path(jpath, "daysSince"), "true or false"):
            days = v["daysSince"].value
        ignore_case = False
        if "ignoreCase" in v and self.expect(v["ignoreCase"], "bool", _path(jpath, "ignoreCase"), "true or false"):
            ignore_case = v["ignoreCase"].value
            if shape != "text":
                self.err("E0504", f'"ignoreCase" applies to the text operators, not to {_show(op)}',
                         v["ignoreCase"], _path(jpath, "ignoreCase"))
        if field is None or len(self.diags) > errors:
            return None
        operand = self.mark(ast.FieldRef(field.name, self.nowhere), v["field"], _path(jpath, "field"))
        if days:
            operand = self.mark(ast.DaysSince(operand, self.nowhere), v["field"], _path(jpath, "field"))
        target = None if days else field
        needs_value = shape not in ("null", "truthy")
        if needs_value and value is None:
            return self.err("E0504", f'operator {_show(op)} needs a "value"', j, jpath)
        if not needs_value and fmt == "segdsl" and value is not None and value.kind != "null":
            return self.err("E0504", f'operator {_show(op)} takes no "value"', value, value_path)
        node = self.predicate(shape, arg, negated, operand, target, value, value_path, ignore_case)
        if node is None:
            return None
        self.mark(node, j, jpath)
        if negated and shape == "text":
            node = self.mark(self.nest(ast.Not(node, self.nowhere)), j, jpath)
        return node

    def predicate(self, shape, arg, negated, operand, target, value, vpath, ignore_case):
        sp = self.nowhere
        if shape == "compare":
            lit = self.scalar(value, vpath, target)
            return None if lit is None else ast.Compare(operand, arg, lit, sp)
        if shape == "list":
            items = self.list_value(value, vpath, target)
            return None if items is None else ast.InList(operand, items, negated, sp)
        if shape == "range":
            pair = self.pair(value, vpath, target)
            return None if pair is None else ast.Between(operand, pair[0], pair[1], negated, sp)
        if shape == "null":
            return ast.IsNull(operand, negated, sp)
        if shape == "truthy":
            return ast.Truthy(operand, sp)
        if shape == "text":
            text = self.string(value, vpath, "a text value")
            if text is None:
                return None
            return ast.TextMatch(operand, arg, self.mark(ast.StringLit(text, sp), value, vpath), ignore_case, sp)
        if shape == "tag":
            if arg == "has":
                tag = self.string(value, vpath, "one tag (a string)")
                lit = None if tag is None else self.mark(ast.StringLit(tag, sp), value, vpath)
            else:
                lit = self.tag_list(value, vpath)
            return None if lit is None else ast.TagMatch(operand, arg, lit, sp)
        duration = self.duration(value, vpath)
        return None if duration is None else ast.TimeWindow(operand, arg, duration, sp)

    def segment_ref(self, j: JNode, jpath: str, op: str, negated: bool):
        v = j.value
        if "field" in v:
            return self.err("E0504", f'{_show(op)} takes no "field"; its "value" names the segment', v["field"],
                            _path(jpath, "field"))
        if "value" not in v:
            return self.err("E0504", f'{_show(op)} needs a "value": the segment\'s identifier', j, jpath)
        vpath = _path(jpath, "value")
        text = self.string(v["value"], vpath, "a segment identifier")
        if text is None:
            return None
        ident = text if _is_identifier(text) else identifier_for(text)
        if ident is None:
            return self.err("E0513", f"{_show(text)} does not name a segment", v["value"], vpath)
        node = self.mark(ast.SegmentRef(ident, self.nowhere, self.nowhere), v["value"], vpath)
        return self.mark(self.nest(ast.Not(node, self.nowhere)), j, jpath) if negated else node

    def field(self, j: JNode, jpath: str) -> Field | None:
        name = self.string(j, jpath, "a field name")
        if name is None:
            return None
        fields = self.schema.fields
        for candidate in (name, snake_case(name), snake_case(name, digits=False)):
            if candidate in fields:
                return fields[candidate]
        snake = snake_case(name)
        guess = closest(snake, fields)
        best = None
        if guess:
            shown = json_field_name(guess[0]) if name != snake else guess[0]
            best = f"did you mean `{shown}`" + (f" (`{guess[0]}`)?" if shown != guess[0] else "?")
        read_as = f" (read as `{snake}`)" if snake != name and _IDENT.match(snake) else ""
        return self.err("E0508", f"unknown field {_show(name)}{read_as}", j, jpath,
                        label=f"not a field of `{self.schema.entity}`",
                        help=best or f"the fields are {one_of(json_field_name(f) for f in fields)}")

    # ------------------------------------------------------------------ values

    def scalar(self, j: JNode, jpath: str, f: Field | None):
        """One value as a literal of field ``f``'s type (``None``: a number of days)."""
        kind = Kind.INT if f is None or f.days_since else f.kind
        what = "a whole number of days" if f is None else f"`{f.name}`"
        sp = self.nowhere
        if j.kind == "null":
            op = '"isNull"' if self.fmt == "segdsl" else '"null"'
            return self.err("E0509", f"null is not a value of {what}", j, jpath, label="null",
                            help=f"to find rows where it is missing, use the operator {op}")
        if kind in NUMERIC:
            text = None
            if j.kind == "number":
                text = j.value
            elif self.loose and j.kind == "string" and _LOOSE_NUMBER.match(j.value.strip(_JS_SPACE)):
                text = j.value.strip(_JS_SPACE)
            if text is None:
                return self.err("E0509", f"{what} holds numbers; {_describe(j, True)} is not one", j, jpath,
                                label="not a number",
                                help="write the number without quotes" if j.kind == "string" else None)
            d = Decimal(text)
            exp = d.as_tuple().exponent
            if len(d.as_tuple().digits) > 40 or not -40 <= exp <= 40:
                return self.err("E0509", f"{text[:40]} is out of range for {what}", j, jpath, label="out of range")
            if kind is Kind.INT:
                if d != d.to_integral_value():
                    return self.err("E0509", f"{what} holds whole numbers; {text} is not one", j, jpath,
                                    label="not a whole number")
                return self.mark(ast.IntLit(int(d), str(int(d)), sp), j, jpath)
            shown = format(d, "f")
            if "." in shown:
                return self.mark(ast.DecimalLit(d, shown, sp), j, jpath)
            return self.mark(ast.IntLit(int(shown), shown, sp), j, jpath)
        if kind is Kind.BOOL:
            if j.kind == "bool":
                return self.mark(ast.BoolLit(j.value, sp), j, jpath)
            if self.loose and j.kind == "string" and j.value.strip(_JS_SPACE).lower() in ("true", "false"):
                return self.mark(ast.BoolLit(j.value.strip(_JS_SPACE).lower() == "true", sp), j, jpath)
            return self.err("E0509", f"{what} is a boolean; {_describe(j, True)} is not true or false", j, jpath,
                            label="not a boolean")
        if j.kind != "string":
            return self.err("E0509", f"{what} holds {_plural(kind)}; {_describe(j, True)} is not one", j, jpath,
                            label="expected a string", help="write the value in quotes")
        text = j.value
        if kind in (Kind.TEXT, Kind.ENUM, Kind.TAGS):
            return self.mark(ast.StringLit(text, sp), j, jpath) if self.clean(text, j, jpath) else None
        if _DATE.match(text):
            try:
                return self.mark(ast.DateLit(dt.date.fromisoformat(text), sp), j, jpath)
            except ValueError:
                return self.err("E0509", f"{_show(text)} is not a valid date", j, jpath, label="no such day")
        if kind is Kind.TIMESTAMP and _TIMESTAMP.match(text):
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                return self.err("E0509", f"{_show(text)} is not a valid timestamp", j, jpath, label="no such time")
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return self.mark(ast.TimestampLit(value.astimezone(dt.UTC), text, sp), j, jpath)
        form = "YYYY-MM-DD" if kind is Kind.DATE else "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]"
        return self.err("E0509", f"{what} is {_article(kind.value)}; {_show(text)} is not written as one", j, jpath,
                        label=f"not {_article(kind.value)}", help=f"write it as {form}")

    def values(self, j: JNode, jpath: str) -> list[tuple[JNode, str]] | None:
        """The items of a list value. react-querybuilder also accepts a comma-separated
        string (``"Gold, Platinum"``; ``\\,`` is a literal comma) or one number, and
        trims the items, as its own formatQuery does."""
        if j.kind == "array":
            items = [(item, f"{jpath}[{i}]") for i, item in enumerate(j.value)]
            if self.loose:
                items = [(JNode("string", item.value.strip(_JS_SPACE), item.start, item.end)
                          if item.kind == "string" else item, p) for item, p in items]
            return items
        if self.loose and j.kind == "string":
            parts = re.split(r"(?<!\\),", j.value)
            parts = [p.replace("\\,", ",").strip(_JS_SPACE) for p in parts]
            return [(JNode("string", p, j.start, j.end), jpath) for p in parts if p]
        if self.loose and j.kind == "number":
            return [(j, jpath)]
        self.err("E0504", f"expected a list of values, found {_describe(j)}", j, jpath, label="not a list",
                 help='write a JSON array, e.g. ["Gold", "Platinum"]')
        return None

    def list_value(self, j: JNode, jpath: str, f: Field | None) -> ast.ListLit | None:
        items = self.values(j, jpath)
        if items is None:
            return None
        lits = [self.scalar(item, p, f) for item, p in items]
        if any(lit is None for lit in lits):
            return None
        return self.mark(ast.ListLit(tuple(lits), self.nowhere), j, jpath)

    def tag_list(self, j: JNode, jpath: str) -> ast.ListLit | None:
        if not self.expect(j, "array", jpath, "a list of tags"):
            return None
        lits = []
        for i, item in enumerate(j.value):
            text = self.string(item, f"{jpath}[{i}]", "a tag (a string)")
            lits.append(None if text is None else self.mark(ast.StringLit(text, self.nowhere), item, f"{jpath}[{i}]"))
        if any(lit is None for lit in lits):
            return None
        return self.mark(ast.ListLit(tuple(lits), self.nowhere), j, jpath)

    def pair(self, j: JNode, jpath: str, f: Field | None):
        items = self.values(j, jpath)
        if items is None:
            return None
        if len(items) != 2:
            return self.err("E0504", f"a range needs exactly two values, low and high; found {len(items)}", j, jpath,
                            help="write [low, high]")
        low, high = (self.scalar(item, p, f) for item, p in items)
        return None if low is None or high is None else (low, high)

    def duration(self, j: JNode, jpath: str) -> ast.Duration | None:
        if not self.expect(j, "object", jpath, 'a duration, {"amount": 30, "unit": "days"}'):
            return None
        self.keys(j, jpath, ("amount", "unit"), "a duration")
        amount_j, unit_j = j.value.get("amount"), j.value.get("unit")
        if amount_j is None or unit_j is None:
            return self.err("E0504", 'a duration needs "amount" and "unit"', j, jpath,
                            help='write {"amount": 30, "unit": "days"}')
        unit = self.string(unit_j, _path(jpath, "unit"), '"days" or "weeks"')
        ok_amount = amount_j.kind == "number" and re.fullmatch(r"[0-9]{1,9}", amount_j.value)
        if not ok_amount:
            self.err("E0509", f"a duration is a whole number of days or weeks, not {_describe(amount_j, True)}",
                     amount_j, _path(jpath, "amount"), label="not a whole number",
                     help="`before` and `after` already look into the past; the amount is never negative")
        if unit is not None and unit not in ("day", "days", "week", "weeks"):
            self.err("E0509", f"unknown unit {_show(unit)}", unit_j, _path(jpath, "unit"),
                     help='use "days" or "weeks" (months and years vary in length)')
            return None
        if not ok_amount or unit is None:
            return None
        return self.mark(ast.Duration(int(amount_j.value), "weeks" if unit.startswith("week") else "days",
                                      self.nowhere), j, jpath)


def _path(base: str, key: str) -> str:
    part = key if _IDENT.match(key) else f"[{json.dumps(key)}]"
    if not base:
        return part
    return f"{base}{part}" if part.startswith("[") else f"{base}.{part}"


def _where(jpath: str) -> str:
    return f"in the JSON at `{jpath}`" if jpath else "in the JSON at the top level"


def _describe(j: JNode, value: bool = False) -> str:
    if value and j.kind == "string":
        return f"the string {_show(j.value)}"
    if value and j.kind in ("number", "bool"):
        return f"`{str(j.value).lower()[:40]}`"
    return {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
            "bool": "true or false", "null": "null"}[j.kind]


def _article(word: str) -> str:
    return {"object": "an object", "array": "an array", "bool": "a boolean", "int": "an integer",
            "enum": "an enum"}.get(word, f"a {word}")


def _plural(kind: Kind) -> str:
    return {Kind.TEXT: "text", Kind.ENUM: "enum values", Kind.TAGS: "tags", Kind.DATE: "dates",
            Kind.TIMESTAMP: "timestamps"}.get(kind, "values")


# ----------------------------------------------------------------- .seg text out


def _emit(segments: list[ast.SegmentDef], reader: _Reader, path: str, schema: Schema,
          known: list[ast.Module]) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """Print, parse back, check; map every diagnostic back into the JSON."""
    from segdsl.formatter import format_source

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
        note = _where(jpath)
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


_EXPRS = (ast.BoolOp, ast.Not, ast.Truthy, ast.Compare, ast.InList, ast.Between, ast.IsNull, ast.TextMatch,
          ast.TagMatch, ast.TimeWindow, ast.SegmentRef)


def _records(built, parsed, reader: _Reader) -> dict[tuple[int, int], tuple[tuple[JNode, str], Span | None]]:
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
    """One segment declaration, a clause a line, spelled by :mod:`segdsl.printer`; the
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


# ============================================================================= export

#: Deepest rule exported; the parser allows 48 levels, so only a hand-built tree trips it.
MAX_EXPORT_DEPTH = 100

_COMPARE_WORDS = {"=": "eq", "!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_TEXT_WORDS = {"segdsl": {"contains": "contains", "starts with": "startsWith", "ends with": "endsWith"},
               "rqb": {"contains": "contains", "starts with": "beginsWith", "ends with": "endsWith"}}
_RQB_NEGATED_TEXT = {"contains": "doesNotContain", "starts with": "doesNotBeginWith", "ends with": "doesNotEndWith"}
_TAG_WORDS = {"has": "has", "has any": "hasAny", "has all": "hasAll"}


class _Num(str):
    """A JSON number, written exactly as this text (an exact decimal stays exact)."""


def export_json(item, fmt: str = "segdsl") -> tuple[str | None, tuple[Diagnostic, ...]]:
    """An AST → JSON text in ``fmt`` (``"segdsl"`` or ``"rqb"``).

    ``item`` is a :class:`segdsl.ast.SegmentDef` (one object), a module or a sequence of
    segments (a list, in segdsl-json), or a bare rule (:data:`segdsl.ast.Expr`, a
    group). A react-querybuilder query holds one rule and nothing about the segment.
    What the target cannot express is a diagnostic at the construct's `.seg` span."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown interchange format {fmt!r}; use one of {', '.join(FORMATS)}")
    ex = _Exporter(fmt)
    if isinstance(item, ast.Module):
        item = list(item.segments)
    if isinstance(item, (list, tuple)):
        if fmt == "rqb" and len(item) != 1:
            raise ValueError("a react-querybuilder query holds one segment's rule; export segments one at a time")
        value = [ex.segment(s) for s in item] if fmt == "segdsl" else ex.segment(item[0])
    elif isinstance(item, ast.SegmentDef):
        value = ex.segment(item)
    else:
        value = ex.top(item)
    if any(d.is_error for d in ex.diags):
        return None, tuple(ex.diags)
    return _dump(value) + "\n", tuple(ex.diags)


class _Exporter:
    def __init__(self, fmt: str):
        self.fmt = fmt
        self.diags: list[Diagnostic] = []

    def err(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.diags.append(error(code, message, span, label=f"not expressible in {_NAMES[self.fmt]}", help=help))

    def segment(self, seg: ast.SegmentDef):
        where, members = seg.where, seg.clause(ast.Members)
        if self.fmt == "rqb":
            if seg.kind == "static" or members is not None:
                self.err("E0535", f"static segment `{seg.name}` is a list of members, not a rule", seg.name_span,
                         help="export it as segdsl-json, which carries member lists")
                return None
            if where is None:
                self.err("E0537", f"segment `{seg.name}` has no rule to export", seg.name_span)
                return None
            return self.top(where)
        out: dict = {"id": seg.name}
        if seg.title is not None:
            out["name"] = seg.title.value
        if seg.kind != "dynamic":
            out["type"] = seg.kind
        if seg.description is not None:
            out["description"] = seg.description
        if seg.refresh is not None:
            out["refresh"] = seg.refresh
        if members is not None:
            out["members"] = [self.literal(i) for i in members.items.items]
        if where is not None:
            group = self.top(where)
            if group is not None:
                out["rules"] = group.pop("rules")
                out.update(group)
        elif members is None:
            self.err("E0537", f"segment `{seg.name}` has no rule to export", seg.name_span,
                     help="give it a `where` rule, or make it static with `members [...]`")
        return out

    def top(self, e: ast.Expr):
        depth = _expr_depth(e)
        if depth > MAX_EXPORT_DEPTH:
            self.err("E0538", f"the rule nests {depth} levels deep; the limit is {MAX_EXPORT_DEPTH}", e.span)
            return None
        return self.group(e)

    def group(self, e: ast.Expr) -> dict:
        negate = isinstance(e, ast.Not) and isinstance(e.item, ast.BoolOp)
        inner = e.item if negate else e
        if isinstance(inner, ast.BoolOp):
            out = {"combinator": self.combinator(inner.op)}
            rules = [self.rule(i) for i in inner.items]
        else:
            out = {"combinator": self.combinator("and")}
            rules = [self.rule(inner)]
        if negate:
            out["not"] = True
        out["rules"] = rules
        return out

    def combinator(self, op: str) -> str:
        return op.upper() if self.fmt == "segdsl" else op

    def rule(self, e: ast.Expr) -> dict | None:
        if isinstance(e, ast.BoolOp) or (isinstance(e, ast.Not) and isinstance(e.item, ast.BoolOp)):
            return self.group(e)
        if isinstance(e, ast.Not):
            inner = e.item
            if self.fmt == "segdsl" and isinstance(inner, ast.SegmentRef):
                return {"operator": "notInSegment", "value": inner.name}
            if self.fmt == "rqb" and isinstance(inner, ast.TextMatch) and not inner.ignore_case:
                out = self.predicate(inner)
                if out is not None:
                    out["operator"] = _RQB_NEGATED_TEXT[inner.kind]
                return out
            return {"combinator": self.combinator("and"), "not": True, "rules": [self.rule(inner)]}
        return self.predicate(e)

    def field(self, o: ast.Operand) -> dict:
        if isinstance(o, ast.Aggregate):
            self.err("E0539", f"an inline aggregate (`{o.fn}(...)`) cannot be expressed in {_NAMES[self.fmt]}",
                     o.span, help="declare it as a trait in the schema (`derive = '...'`) and compare that field")
            return {"field": json_field_name(o.source.name)}
        if isinstance(o, ast.DaysSince):
            if self.fmt == "rqb":
                self.err("E0533", "`days_since(...)` cannot be expressed in react-querybuilder", o.span,
                         help="use a derived day-count field from the schema, or export as segdsl-json")
                return {"field": json_field_name(o.field.name)}
            return {"field": json_field_name(o.field.name), "daysSince": True}
        return {"field": json_field_name(o.name)}

    def predicate(self, e: ast.Expr) -> dict | None:
        rqb = self.fmt == "rqb"
        match e:
            case ast.SegmentRef(name=name):
                if rqb:
                    self.err("E0534", "`in segment` cannot be expressed in react-querybuilder", e.span,
                             help="export as segdsl-json, or expand the referenced rule by hand")
                    return None
                return {"operator": "inSegment", "value": name}
            case ast.Truthy(operand=o):
                # react-querybuilder has no bare boolean; `f` means exactly `f = true`.
                if rqb:
                    return {**self.field(o), "operator": "=", "value": True}
                return {**self.field(o), "operator": "isTrue"}
            case ast.Compare(left=o, op=op, right=lit):
                return {**self.field(o), "operator": op if rqb else _COMPARE_WORDS[op], "value": self.literal(lit)}
            case ast.InList(left=o, items=items, negated=neg):
                word = ("notIn" if neg else "in") if rqb else ("nin" if neg else "in")
                return {**self.field(o), "operator": word, "value": self.list_items(items.items)}
            case ast.Between(left=o, low=low, high=high, negated=neg):
                return {**self.field(o), "operator": "notBetween" if neg else "between",
                        "value": self.list_items((low, high))}
            case ast.IsNull(left=o, negated=neg):
                if rqb:
                    return {**self.field(o), "operator": "notNull" if neg else "null", "value": None}
                return {**self.field(o), "operator": "isNotNull" if neg else "isNull"}
            case ast.TextMatch(left=o, kind=kind, text=text, ignore_case=ic):
                out = {**self.field(o), "operator": _TEXT_WORDS[self.fmt][kind], "value": text.value}
                if ic and rqb:
                    self.err("E0530", "`ignoring case` cannot be expressed in react-querybuilder", e.span,
                             help="react-querybuilder's text operators are case-sensitive; export as segdsl-json")
                elif ic:
                    out["ignoreCase"] = True
                return out
            case ast.TagMatch(left=o, kind=kind, value=value):
                if rqb:
                    self.err("E0531", f"tag-list operator `{kind}` cannot be expressed in react-querybuilder",
                             e.span, help="export as segdsl-json")
                    return None
                return {**self.field(o), "operator": _TAG_WORDS[kind], "value": self.literal(value)}
            case ast.TimeWindow(left=o, kind=kind, duration=d):
                if rqb:
                    self.err("E0532", f"relative time (`{kind}`) cannot be expressed in react-querybuilder",
                             e.span, help="react-querybuilder compares with fixed values; export as segdsl-json")
                    return None
                return {**self.field(o), "operator": kind, "value": {"amount": d.amount, "unit": d.unit}}
        raise AssertionError(f"cannot export {e!r}")  # pragma: no cover

    def list_items(self, items) -> list:
        if self.fmt == "rqb":
            for lit in items:
                if isinstance(lit, ast.StringLit) and lit.value != lit.value.strip(_JS_SPACE):
                    self.err("E0536", f"react-querybuilder trims list values, so {_show(lit.value)} would lose "
                                      "its surrounding spaces", lit.span, help="export as segdsl-json")
        return [self.literal(i) for i in items]

    def literal(self, lit: ast.Literal):
        match lit:
            case ast.ListLit(items=items):
                return [self.literal(i) for i in items]
            case ast.IntLit(value=v):
                return _Num(str(v))
            case ast.DecimalLit(value=v):
                return _Num(format(v, "f"))
            case ast.StringLit(value=v):
                return v
            case ast.BoolLit(value=v):
                return v
            case ast.NullLit():
                return None
            case ast.DateLit(value=v):
                return v.isoformat()
            case ast.TimestampLit(text=t):
                return t
        raise AssertionError(f"cannot export {lit!r}")  # pragma: no cover


def _expr_depth(e: ast.Expr) -> int:
    best = 0
    stack = [(e, 0)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, ast.BoolOp):
            stack.extend((i, d + 1) for i in node.items)
        elif isinstance(node, ast.Not):
            stack.append((node.item, d + 1))
        else:
            best = max(best, d)
    return best


# ------------------------------------------------------------------- JSON writer


def _dump(value, indent: int = 0) -> str:
    """JSON text, two-space indented, with small objects and lists kept on one line."""
    flat = _flat(value, 3)
    if flat is not None and indent + len(flat) <= 100:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        body = ",\n".join(f"{pad}{_scalar(k)}: {_dump(v, indent + 2)}" for k, v in value.items())
        return "{\n" + body + "\n" + " " * indent + "}"
    if isinstance(value, list):
        body = ",\n".join(pad + _dump(v, indent + 2) for v in value)
        return "[\n" + body + "\n" + " " * indent + "]"
    return _scalar(value)


def _flat(value, budget: int) -> str | None:
    if isinstance(value, dict):
        if budget == 0:
            return None
        parts = [(k, _flat(v, budget - 1)) for k, v in value.items()]
        if any(p is None for _, p in parts):
            return None
        return "{" + ", ".join(f"{_scalar(k)}: {p}" for k, p in parts) + "}"
    if isinstance(value, list):
        if budget == 0 or any(isinstance(v, (dict, list)) for v in value):
            return None
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _Num):
        return str.__str__(value)
    return json.dumps(value, ensure_ascii=False)
