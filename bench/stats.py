"""Small statistics and formatting helpers shared by the figures."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def percentile(xs: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (NumPy's default)."""
    s = sorted(xs)
    if not s:
        raise ValueError("no samples")
    pos = (len(s) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def us(ns: float) -> str:
    """Nanoseconds as a short µs/ms string."""
    if ns >= 10_000_000:
        return f"{ns / 1e6:,.0f} ms"
    if ns >= 1_000_000:
        return f"{ns / 1e6:,.2f} ms"
    return f"{ns / 1e3:,.0f} µs"


def ratio(ours: float, base: float) -> float:
    return ours / base if base else math.inf
