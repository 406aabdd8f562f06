"""The language's words, read from its grammar (``grammar/segdsl.lark``) once.

The grammar is the one definition of the language; its string terminals are the
keywords. The parser's messages, the schema's reserved names and the language server's
completion and highlighting all draw on :data:`KEYWORDS` and :func:`first_words`, so a
keyword added to the grammar is known everywhere without being copied.

Reading the grammar here needs no Lark (importing and loading Lark costs a hundred times
more than this): a ``.lark`` file is a list of definitions, ``name: body``, each starting
at the beginning of a line, whose bodies hold ``"strings"``, ``/regexps/`` and ``//``
comments; that is all this module looks at.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

#: The grammar file, shipped inside the package (``segdsl/syntax/grammar``).
GRAMMAR_PATH = Path(__file__).with_name("grammar") / "segdsl.lark"


@functools.cache
def grammar_text() -> str:
    """The grammar's text; read once per process."""
    return GRAMMAR_PATH.read_text(encoding="utf-8")


# Pieces of a .lark file's text. Comments and regexps are matched only so that the quotes
# inside them are not read as strings; they have no meaning here.
_PIECES = re.compile(
    r"""
     (?P<comment>//[^\n]*)
    |(?P<string>"(?:\\.|[^"\\\n])*")i?
    |(?P<regexp>/(?:\\.|[^/\\\n])+/)[imslux]*
    |^(?P<head>[?!]?(?P<defined>[A-Za-z_][A-Za-z0-9_]*)(?:\.-?[0-9]+)?[ \t]*:)
    |(?P<directive>^%[a-z]+[^\n]*)
    |(?P<symbol>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<bar>\|)
    |(?P<other>\S)
    """,
    re.M | re.X,
)


@functools.cache
def _definitions() -> dict[str, tuple[tuple[str, str], ...]]:
    """Each rule and terminal of the grammar: its body as (piece kind, text) pairs."""
    defs: dict[str, list[tuple[str, str]]] = {}
    body: list[tuple[str, str]] | None = None
    for m in _PIECES.finditer(grammar_text()):
        kind = m.lastgroup
        if kind == "head":
            body = defs.setdefault(m.group("defined"), [])
        elif kind == "directive":
            body = None
        elif kind != "comment" and body is not None:
            text = m.group(kind)
            body.append((kind, text[1:-1] if kind in ("string", "regexp") else text))
    return {name: tuple(pieces) for name, pieces in defs.items()}


@functools.cache
def terminal(name: str) -> re.Pattern[str]:
    """The pattern of the grammar's terminal ``name``, one written as a ``/regexp/``
    (``NAME``, ``INT``, ``DATE``, ``TIMESTAMP`` ...). Use ``fullmatch`` to test a text."""
    (regexp,) = [text for kind, text in _definitions()[name] if kind == "regexp"]
    return re.compile(regexp)


#: The grammar's ``NAME`` terminal: what a field, source, segment or journey name looks
#: like (keywords aside). Use ``NAME.fullmatch``.
NAME: re.Pattern[str] = terminal("NAME")

#: Every keyword of the language: the grammar's strings that would otherwise read as a
#: name. None of them can name a field, a source, a segment or a journey.
KEYWORDS: frozenset[str] = frozenset(
    text for pieces in _definitions().values() for kind, text in pieces if kind == "string" and NAME.fullmatch(text)
)


def is_name(text: str) -> bool:
    """Whether ``text`` can name a field, source, segment or journey: a ``NAME`` that is
    not a keyword."""
    return NAME.fullmatch(text) is not None and text not in KEYWORDS


@functools.cache
def first_words(rule: str) -> tuple[str, ...]:
    """The keywords that start ``rule``'s alternatives, in the grammar's order, following
    an alternative that starts with another rule or a terminal into it:
    ``first_words("agg_fn")`` is ``("count", "sum", "min", "max", "latest")``. An
    alternative starting with an optional or grouped part contributes nothing."""
    defs = _definitions()
    words: list[str] = []

    def visit(name: str, seen: frozenset[str]) -> None:
        starting = True  # at the start of an alternative
        for kind, text in defs[name]:
            if kind == "bar":
                starting = True
                continue
            if starting and kind == "string" and text in KEYWORDS and text not in words:
                words.append(text)
            elif starting and kind == "symbol" and text in defs and text not in seen:
                visit(text, seen | {text})
            starting = False

    visit(rule, frozenset({rule}))
    return tuple(words)
