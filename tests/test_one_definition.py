"""Each semantic rule is defined once, in ``segdsl.ir.semantics``, and each dialect
difference is a field of the ``Target`` record: these tests read the source and fail
when a second copy of a rule, a branch on an engine's name, or a sqlglot import outside
the SQL backend appears."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from segdsl.ir import semantics

SRC = Path(__file__).resolve().parent.parent / "src" / "segdsl"
SEMANTICS = SRC / "ir" / "semantics.py"
TARGETS = SRC / "backends" / "sql" / "targets.py"
SQL_BACKEND = SRC / "backends" / "sql"
OPERATORS = set(semantics.COMPARE)


def _modules():
    return sorted(SRC.rglob("*.py"))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(SRC.parent)}:{node.lineno}"


def _is_pow(node: ast.AST, base: int, exp: int) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
            and isinstance(node.left, ast.Constant) and node.left.value == base
            and isinstance(node.right, ast.Constant) and node.right.value == exp)


#: The stages that give a rule its meaning. The others spell operators (the parser, the
#: interchange formats' operator words) but never evaluate one.
MEANING = ("backends", "data", "ir", "lifecycle", "models")


def _copies(path: Path, tree: ast.AST) -> list[str]:
    """Spots in one module that restate a rule ``ir/semantics.py`` defines."""
    meaning = path.relative_to(SRC).parts[0] in MEANING
    found = []
    for node in ast.walk(tree):
        match node:
            case ast.Constant(value=str(text)) if "ABCDEFGHIJKLMNOPQRSTUVWXYZ" in text or "abcdefghijklmnopqrstuvwxyz" in text:
                found.append(f"{_where(path, node)}: the ASCII alphabet (fold with semantics.ASCII_FOLD / fold_ascii)")
            case ast.Call(func=ast.Name(id="range"), args=[ast.Call(func=ast.Name(id="ord")), *_]):
                found.append(f"{_where(path, node)}: a range of characters (use semantics.ASCII_FOLD)")
            case ast.Call(func=ast.Attribute(attr="maketrans")):
                found.append(f"{_where(path, node)}: a translate table (use semantics.ASCII_FOLD)")
            case ast.Dict(keys=keys) if meaning and {k.value for k in keys if isinstance(k, ast.Constant)} >= OPERATORS:
                found.append(f"{_where(path, node)}: a table keyed by the comparison operators "
                             "(key a backend's table by semantics.COMPARE)")
            case ast.BinOp() if _is_pow(node, 2, 63):
                found.append(f"{_where(path, node)}: a 64-bit bound (use semantics.INT64_MIN / INT64_MAX)")
            case ast.Attribute(value=ast.Attribute(attr="date"), attr="max" | "min"):
                found.append(f"{_where(path, node)}: the calendar's edge (use semantics.MIN_ORDINAL / MAX_ORDINAL)")
            case ast.Call(func=ast.Attribute(attr="scaleb")):
                found.append(f"{_where(path, node)}: decimal scaling (use semantics.scale_decimal)")
    return found


def test_no_module_restates_a_semantic_rule():
    found = []
    for path in _modules():
        if path != SEMANTICS:
            found += _copies(path, ast.parse(path.read_text(encoding="utf-8")))
    assert not found, "second definitions of rules ir/semantics.py holds:\n" + "\n".join(found)


def test_the_check_finds_a_second_copy():
    # The checker above must not be blind: each kind of copy it looks for is found.
    sample = (
        'F = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")\n'
        'G = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}\n'
        'OPS = {"=": 1, "!=": 2, "<": 3, "<=": 4, ">": 5, ">=": 6}\n'
        "LO = -(2**63)\n"
        "END = dt.date.max.toordinal()\n"
        "n = int(v.scaleb(2))\n"
    )
    assert len(_copies(SRC / "backends" / "sample.py", ast.parse(sample))) == 8


def _engine_branches(path: Path, tree: ast.AST) -> list[str]:
    """Comparisons of an engine's name (``t.family == "sqlite"``, ``family in (...)``,
    ``engine.dialect != "mysql"``)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for side in (node.left, *node.comparators):
            name = side.attr if isinstance(side, ast.Attribute) else side.id if isinstance(side, ast.Name) else None
            if name in ("family", "dialect"):
                found.append(f"{_where(path, node)}: {ast.unparse(node)}")
    return found


def test_dialect_differences_are_fields_of_the_target_record():
    found = []
    for path in _modules():
        if path != TARGETS:
            found += _engine_branches(path, ast.parse(path.read_text(encoding="utf-8")))
    assert not found, "branches on an engine's name (make the difference a Target field):\n" + "\n".join(found)
    assert _engine_branches(SRC / "sample.py", ast.parse('if t.family == "sqlite" or family in ("a",): pass'))


def test_only_the_sql_backend_imports_sqlglot():
    found = []
    for path in _modules():
        if SQL_BACKEND in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{_where(path, node)}: {n}" for n in names if n.split(".")[0] == "sqlglot"]
    assert not found, "sqlglot imported outside backends/sql:\n" + "\n".join(found)


@pytest.mark.parametrize("module, names", [
    ("segdsl.backends.memory.row", ["ASCII_FOLD", "COMPARE", "NEGATE", "day_windows", "day_bound", "fold_ascii",
                                    "day_of", "hours_before", "instant_comparison"]),
    ("segdsl.backends.memory.columnar", ["COMPARE", "INT64_MIN", "INT64_MAX", "day_windows", "day_bound",
                                         "fold_ascii", "integer_comparison", "scaled", "FIXED_POINT",
                                         "fixed_point_comparison", "hours_before", "instant_comparison"]),
    ("segdsl.backends.memory.profile", ["latest_rank"]),
    ("segdsl.backends.sql.builder", ["ASCII_UPPER", "ASCII_LOWER", "COMPARE", "DAY_WINDOWS", "day_windows",
                                     "fold_ascii", "integer_comparison", "scaled", "latest_rank", "timestamp_text",
                                     "FIXED_POINT", "fixed_point_comparison", "hours_before", "instant_comparison"]),
    ("segdsl.backends.sql.storage", ["scale_decimal", "timestamp_text"]),
    ("segdsl.data.tables", ["INT64_MIN", "INT64_MAX", "MIN_ORDINAL", "MAX_ORDINAL", "scale_decimal", "unscale"]),
    ("segdsl.lifecycle.state", ["timestamp_text"]),
])
def test_backends_use_the_shared_definitions(module, names):
    import importlib

    mod = importlib.import_module(module)
    for name in names:
        assert getattr(mod, name) is getattr(semantics, name), f"{module}.{name} is not ir.semantics.{name}"


def test_every_operator_has_a_constructor_in_every_backend():
    from segdsl.backends.memory import row
    from segdsl.backends.sql import builder

    assert set(builder._OPS) == set(row._PY_OP) == set(semantics.NEGATE) == set(semantics.FLIP) == OPERATORS
    assert set(semantics.DAY_WINDOWS) == OPERATORS


def test_reading_a_target_record_does_not_import_sqlglot():
    import subprocess
    import sys

    code = ("import sys, segdsl.lifecycle.state, segdsl.backends.sql.storage, segdsl.data.engines; "
            "print('sqlglot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
