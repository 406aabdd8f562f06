"""Names across the boundary: schema fields ↔ the camelCase names UIs use, segment
identifiers made from human names, and user text quoted safely for messages."""

from __future__ import annotations

import json
import re
import unicodedata

from segdsl.syntax.keywords import KEYWORDS


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
    if ident in KEYWORDS:
        ident += "_segment"
    return ident


def quoted(value: str, limit: int = 40) -> str:
    """A string for a message: quoted, escaped to ASCII, so nothing in it can disturb a
    terminal or reorder the text."""
    shown = json.dumps(value[:limit])
    return shown + ("…" if len(value) > limit else "")
