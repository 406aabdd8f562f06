"""Tests never read state a user's commands left in `examples/`."""

from __future__ import annotations

import ast
from pathlib import Path

from example_projects import copy_example

TESTS = Path(__file__).resolve().parent


def test_a_copy_of_an_example_leaves_its_state_behind(tmp_path):
    root = tmp_path / "repo"
    example = root / "examples" / "hotel"
    (example / ".segdsl" / "sync").mkdir(parents=True)
    (example / ".segdsl" / "state.db").write_bytes(b"a user's history")
    (example / ".segments.seg.lock").write_text("")
    (example / "segments.seg").write_text("segment a { where x }\n")
    (example / "segdsl.toml").write_text('name = "hotel"\nschema = "schema.toml"\ndata = "../../seeds/hotel"\n')
    copy = copy_example(tmp_path / "copy", "hotel", root=root)
    assert sorted(p.name for p in copy.iterdir()) == ["segdsl.toml", "segments.seg"]
    config = (copy / "segdsl.toml").read_text()
    assert 'name = "hotel"' in config and f'data = "{(root / "seeds" / "hotel").as_posix()}"' in config


def test_no_test_copies_an_example_folder_another_way():
    """Every `copytree` of an example project goes through copy_example."""
    offenders = []
    for path in sorted(TESTS.glob("*.py")):
        if path.name == "example_projects.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "copytree":
                source = ast.unparse(node.args[0]) if node.args else ""
                if "example" in source.lower() or "HOTEL" in source or "GOLF" in source:
                    offenders.append(f"{path.name}:{node.lineno}: copytree({source}, ...)")
    assert not offenders, "copy example projects with example_projects.copy_example:\n" + "\n".join(offenders)
