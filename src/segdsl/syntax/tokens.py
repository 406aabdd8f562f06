"""A forgiving token scan for editors, with the grammar's own terminals.

The language server needs tokens while someone types half a rule, where the parser gives
up. This scan matches the terminals Lark lexes with, taken from the loaded grammar and
tried in the order Lark's lexer tries them, so it reads every valid file exactly as the
parser does. Where no terminal matches it still goes on: a string with no closing quote
runs to the end of its line (as the parser's "unterminated string" does), and any other
character becomes a one-character ``other`` token.
"""

from __future__ import annotations

import functools
import re

from segdsl.syntax.keywords import KEYWORDS

#: The kind of token an editor sees for each of the grammar's terminals that is neither
#: a keyword nor punctuation. Every terminal needs a kind (a test checks it).
_KINDS = {
    "NAME": "name",
    "UNIT": "name",  # `days`, `weeks`: words, like the keywords
    "STRING": "string",
    "INT": "number",
    "DECIMAL": "number",
    "PERCENT": "number",
    "DATE": "date",
    "TIMESTAMP": "date",
    "COMP_OP": "op",
    "COMMENT": "comment",
}

# Recovery, for text being typed; tried after every terminal.
_OPEN_STRING = '(?P<open_string>"[^\\n]*)'
_OTHER = "(?P<other>.)"


def scan_line(line: str) -> list[tuple[str, str, int, int, bool]]:
    """The tokens of one line (a text without line breaks) as ``(kind, text, start, end,
    open)``, blanks left out. ``kind`` is ``name`` (keywords included), ``string``,
    ``number``, ``date``, ``op``, ``punct``, ``comment`` or ``other``; ``open`` marks a
    string with no closing quote."""
    pattern, kinds = _scanner()
    out = []
    for m in pattern.finditer(line):
        group = m.lastgroup
        kind = kinds[group]
        if kind != "blank":
            out.append((kind, m.group(), m.start(), m.end(), group == "open_string"))
    return out


def terminal_kinds() -> dict[str, str]:
    """Each of the grammar's terminals → its kind in :func:`scan_line` (``blank`` for
    whitespace)."""
    from segdsl.syntax.parser import lark_parser

    lark = lark_parser("module")
    ignored = set(lark.lexer_conf.ignore)
    kinds = {}
    for t in lark.terminals:
        if t.name in _KINDS:
            kinds[t.name] = _KINDS[t.name]
        elif t.name in ignored:
            kinds[t.name] = "blank"
        elif t.pattern.type == "str":
            kinds[t.name] = "name" if t.pattern.value in KEYWORDS else "punct"
        else:
            raise LookupError(f"the grammar's terminal {t.name} has no kind in {__name__}._KINDS")
    return kinds


@functools.cache
def _scanner() -> tuple[re.Pattern[str], dict[str, str]]:
    from segdsl.syntax.parser import lark_parser

    lark = lark_parser("module")
    kinds = terminal_kinds()
    name = lark.get_terminal("NAME").pattern.to_regexp()
    terminals = [
        t
        for t in lark.terminals
        # A keyword is read as a NAME and then recognised, as Lark's lexer does: tried
        # on its own, `in` would match the start of `income`.
        if not (t.pattern.type == "str" and re.fullmatch(name, t.pattern.value))
    ]
    # Lark's lexer order: priority, then the longest possible match, then the longest pattern.
    terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    groups = [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals]
    kinds = {**kinds, "open_string": "string", "other": "other"}
    return re.compile("|".join([*groups, _OPEN_STRING, _OTHER]), re.S), kinds
