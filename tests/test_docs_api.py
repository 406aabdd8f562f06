"""The Python examples of docs/api.md and README.md, run as a user would run them.

Each file's ```python blocks run in order in one namespace, from the repository's
root, against the example projects: a doc example that breaks fails the suite."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line, code) of every ```python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def run_blocks(path: Path) -> str:
    namespace: dict = {"__name__": "__docs__"}
    out = io.StringIO()
    for line, code in python_blocks(path):
        compiled = compile("\n" * (line - 1) + code, str(path.relative_to(ROOT)), "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)  # noqa: S102 - the documentation's own examples
    return out.getvalue()


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_api_doc_examples_run(at_root):
    assert len(python_blocks(ROOT / "docs" / "api.md")) >= 10
    out = run_blocks(ROOT / "docs" / "api.md")
    # A few of the outputs the page shows in its comments.
    assert "guest guests" in out
    assert "CREATE OR REPLACE VIEW \"segment_vip\" AS" in out
    assert "error[E0101]: unknown field `days_since_bookng`" in out
    assert "(1001, 1002, 1003)" in out
    assert "did you mean `high_value`?" in out and "did you mean `postgres`?" in out


def test_readme_python_example_runs(at_root):
    blocks = python_blocks(ROOT / "README.md")
    assert blocks, "README.md shows the Python API"
    out = run_blocks(ROOT / "README.md")
    assert "SELECT" in out


def test_api_doc_lists_every_public_name():
    import segdsl

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    functions = [n for n in segdsl.__all__ if n[0].islower()]
    missing = [n for n in functions if f"`{n}(" not in text]
    assert not missing, f"docs/api.md does not document {missing}"
