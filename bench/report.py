"""What a figure returns, how it is printed, and the JSON file it is written to."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One printed line: our figure, the baseline's, their ratio, and the goal."""

    measure: str
    ours: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = "—"
    met: bool | None = None  # None: context only, no goal


@dataclass
class Goal:
    """One pass/fail check, as written to JSON."""

    name: str
    value: float
    limit: float
    unit: str
    met: bool
    detail: str = ""


@dataclass
class Figure:
    name: str
    title: str
    baseline: str  # what the baseline is, in one line
    rows: list[Row] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw numbers for JSON

    @property
    def met(self) -> bool:
        return all(g.met for g in self.goals)


def _mark(met: bool | None) -> str:
    return "" if met is None else ("ok" if met else "MISSED")


def print_figure(fig: Figure, out=sys.stdout) -> None:
    print(f"\n{fig.name} — {fig.title}", file=out)
    header = ("measure", "ours", "baseline", "ratio", "goal", "result")
    rows = [(r.measure, r.ours, r.baseline, r.ratio, r.goal, _mark(r.met)) for r in fig.rows]
    widths = [max(len(str(x[i])) for x in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        print("  " + "  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip(), file=out)
    print(f"  baseline: {fig.baseline}", file=out)
    for note in fig.notes:
        print(f"  {note}", file=out)
    out.flush()  # keep the table ahead of the next figure's progress lines on stderr


def environment() -> dict[str, Any]:
    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "executable": sys.executable,
        "versions": {p: version(p) for p in ("segdsl", "sqlglot", "lark", "click", "attrs")},
    }


def environment_line(env: dict[str, Any]) -> str:
    v = env["versions"]
    return (
        f"python {env['python']} · segdsl {v['segdsl']} · sqlglot {v['sqlglot']} · lark {v['lark']}"
        f" · {env['machine']} · {env['cpus']} CPUs"
    )


def write_json(path: Path, figures: list[Figure], mode: str, env: dict[str, Any], seconds: float) -> None:
    doc = {
        "format": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "seconds": round(seconds, 2),
        "environment": env,
        "all_goals_met": all(f.met for f in figures),
        "figures": {
            f.name: {
                "title": f.title,
                "baseline": f.baseline,
                "goals_met": f.met,
                "goals": [asdict(g) for g in f.goals],
                "rows": [asdict(r) for r in f.rows],
                "notes": f.notes,
                "data": f.data,
            }
            for f in figures
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
