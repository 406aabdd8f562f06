"""A strict JSON reader that keeps the character range of every value, so import
diagnostics can point into the JSON text; iterative, so nesting cannot exhaust the stack."""

from __future__ import annotations

import json
import re

from segdsl.diagnostics import Diagnostic, error
from segdsl.interchange.names import quoted
from segdsl.syntax.span import Span

#: Deepest JSON nesting read (objects and arrays). A group costs two levels (the group
#: object and its ``rules`` array), so this allows 100 nested groups, twice what a rule
#: may nest in `.seg` (``MAX_DEPTH``).
MAX_JSON_DEPTH = 200


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
            diags.append(error("E0506", f"key {quoted(key)} appears twice in one object", Span(path, ks, ke),
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
