"""Charts as SVG text, drawn on the server so the page needs no chart library: bars
with their numbers on them, a size-over-time line with labelled axes, and a Venn
diagram of two or three segments with the exact size of every region.

Every text that comes from a project (names, titles) is escaped; the charts carry
``role="img"`` and an ``aria-label`` that says what they show in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

FONT = 'font-family="system-ui, sans-serif"'


def bars(items: Sequence[tuple[str, int]], *, label: str, top: int | None = None, note: str | None = None,
         width: int = 640) -> str:
    """Horizontal bars, one per ``(name, count)``, each with its count and its share
    of ``top`` (default: the first count) written beside it."""
    top = top if top is not None else (items[0][1] if items else 0)
    name_w, bar_h, gap = 150, 26, 10
    room = width - name_w - 150
    height = len(items) * (bar_h + gap) + (28 if note else 6)
    words = "; ".join(f"{n}: {c:,}" for n, c in items)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(label)}: {escape(words)}" class="chart" {FONT}>']
    for i, (name, count) in enumerate(items):
        y = i * (bar_h + gap)
        w = max(2, round(room * count / top)) if top else 2
        share = f" ({100 * count / top:.1f}%)" if top else ""
        out.append(f'<text x="{name_w - 8}" y="{y + 18}" text-anchor="end" class="axis">{escape(name)}</text>'
                   f'<rect x="{name_w}" y="{y}" width="{w}" height="{bar_h}" rx="3" class="bar b{i % 6}"/>'
                   f'<text x="{name_w + w + 6}" y="{y + 18}" class="value">{count:,}{share}</text>')
    if note:
        out.append(f'<text x="0" y="{height - 8}" class="note">{escape(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def timeline(points: Sequence[tuple[str, int, int, int]], *, label: str, width: int = 640) -> str:
    """Size at each refresh (``(date, size, entered, exited)``), a line with dots and
    the size written at each, dates along the x axis and sizes up the y axis."""
    height, left, right, top, bottom = 240, 60, 45, 20, 50
    sizes = [p[1] for p in points]
    high = max(sizes) if sizes else 0
    high = max(1, _nice(high))
    n = len(points)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:  # 24 px in from each end, clear of the axis' numbers
        return left + (plot_w / 2 if n == 1 else 24 + (plot_w - 48) * i / (n - 1))

    def y(v: int) -> float:
        return top + plot_h * (1 - v / high)

    words = "; ".join(f"{d}: {s:,} (+{e:,}, −{x_:,})" for d, s, e, x_ in points)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(label)}: {escape(words)}" class="chart" {FONT}>']
    for k in range(5):  # y axis: five gridlines with their values
        v = round(high * k / 4)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">{v:,}</text>')
    out.append(f'<text x="12" y="{top + plot_h / 2:.0f}" class="axis" transform="rotate(-90 12 '
               f'{top + plot_h / 2:.0f})" text-anchor="middle">members</text>')
    out.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" class="axis" text-anchor="middle">'
               'refresh (as-of date, UTC)</text>')
    if n > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(s):.1f}" for i, s in enumerate(sizes))
        out.append(f'<path d="{path}" class="line"/>')
    step = max(1, n // 8)  # at most about eight date labels
    for i, (day, size, entered, exited) in enumerate(points):
        out.append(f'<circle cx="{x(i):.1f}" cy="{y(size):.1f}" r="4" class="dot">'
                   f'<title>{escape(day)}: {size:,} members, +{entered:,} entered, −{exited:,} exited</title></circle>'
                   f'<text x="{x(i):.1f}" y="{y(size) - 8:.1f}" text-anchor="middle" class="value">{size:,}</text>')
        if i % step == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle" class="axis">'
                       f'{escape(day)}</text>')
    out.append("</svg>")
    return "".join(out)


def _nice(v: int) -> int:
    """A round number at or above ``v`` for the top of an axis."""
    if v <= 10:
        return max(v, 1)
    magnitude = 10 ** (len(str(v)) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * magnitude:
            return int(m * magnitude)
    return v


#: Circle centres (of a 420 × 300 box) for two and three sets; radius 95.
_CENTRES = {2: [(150, 150), (270, 150)], 3: [(160, 120), (260, 120), (210, 200)]}
#: Where each region's number goes, by which sets it lies in.
_SPOTS = {
    2: {(True, False): (105, 155), (False, True): (315, 155), (True, True): (210, 155)},
    3: {
        (True, False, False): (120, 95), (False, True, False): (300, 95), (False, False, True): (210, 260),
        (True, True, False): (210, 85), (True, False, True): (160, 180), (False, True, True): (262, 180),
        (True, True, True): (210, 145),
    },
}


def venn(names: Sequence[str], sizes: Sequence[int], regions: Sequence[tuple[Sequence[bool], int]], *,
         label: str) -> str:
    """Two or three circles (not drawn to scale: every region is labelled with its
    exact size), each named with its total."""
    n = len(names)
    words = "; ".join(f"{' and '.join(nm for nm, yes in zip(names, r) if yes)} only: {c:,}" for r, c in regions)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 420 330" width="420" height="330" role="img" '
           f'aria-label="{escape(label)}: {escape(words)}" class="chart venn" {FONT}>']
    for i, ((cx, cy), name, size) in enumerate(zip(_CENTRES[n], names, sizes)):
        out.append(f'<circle cx="{cx}" cy="{cy}" r="95" class="set s{i}"/>')
        ty = cy - 105 if cy < 160 else cy + 118
        tx = cx + (-40 if i == 0 else 40 if i == 1 else 0)
        out.append(f'<text x="{tx}" y="{ty}" text-anchor="middle" class="axis">{escape(name)} ({size:,})</text>')
    for inside, count in regions:
        sx, sy = _SPOTS[n][tuple(inside)]
        out.append(f'<text x="{sx}" y="{sy}" text-anchor="middle" class="value big">{count:,}</text>')
    out.append("</svg>")
    return "".join(out)
