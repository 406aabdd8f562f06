"""Copies of the example projects for tests that write or read state.

A user's own commands (`segdsl refresh`, `sync`, `plan`) leave `.segdsl/` state in
`examples/*/`; a test that copied it would read that user's history instead of its own.
:func:`copy_example` never copies it, and ``test_example_projects.py`` checks that no
test copies an example folder any other way.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What a user's commands leave in a project folder: never part of a test's copy.
STATE = (".segdsl", ".*.lock")


def copy_example(dest: Path, name: str = "hospitality", *, data: Path | None = None, root: Path = ROOT) -> Path:
    """``examples/<name>`` copied to ``dest`` without any state, its segdsl.toml pointing
    at the example's seed data (or ``data``) by absolute path, its `name` kept."""
    shutil.copytree(root / "examples" / name, dest, ignore=shutil.ignore_patterns(*STATE))
    config = (dest / "segdsl.toml").read_text(encoding="utf-8")
    folder = (data if data is not None else root / "seeds" / name).resolve().as_posix()
    lines = [f'data = "{folder}"' if line.startswith("data") else line for line in config.splitlines()]
    (dest / "segdsl.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest
