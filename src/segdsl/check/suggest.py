"""Did-you-mean suggestions, drawn only from names that are valid where the error is."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    pool = list(candidates)
    # An exact match ignoring case is the most likely intent ("gold" for "Gold").
    folded = [c for c in pool if c.casefold() == word.casefold()]
    if folded:
        return folded[:n]
    return difflib.get_close_matches(word, pool, n=n, cutoff=0.6)


def did_you_mean(word: str, candidates: Iterable[str], quote: str = "`") -> str | None:
    best = closest(word, candidates)
    if not best:
        return None
    return f"did you mean {quote}{best[0]}{quote}?"


def one_of(candidates: Iterable[str], quote: str = "`", limit: int = 12) -> str:
    items = [f"{quote}{c}{quote}" for c in candidates]
    if len(items) > limit:
        items = items[:limit] + [f"… ({len(items) - limit} more)"]
    return ", ".join(items)
