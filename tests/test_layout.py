"""The layout's rules, read from the imports of every module under ``src/segdsl``.

Every ``import`` counts, wherever it is: at the top of a module, inside a function (a
deferred import runs too, only later) or under ``if TYPE_CHECKING:``. The one exception:
an import cycle needs imports that run, so the cycle rule leaves ``TYPE_CHECKING``
imports out (they never execute and cannot make one).

The rules: only ``segdsl.syntax`` imports lark; only ``segdsl.backends.sql`` imports
sqlglot; nothing in the library imports the two shells, ``segdsl.cli`` and
``segdsl.lsp``; no import cycle among modules; no ``_private`` name imported from
another module; reading a schema does not reach the checker or the parser.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import attrs

SRC = Path(__file__).resolve().parents[1] / "src"

#: The shells over the library (the command line, the language server, the web page);
#: ``python -m segdsl`` is the CLI's too.
SHELLS = ("segdsl.cli", "segdsl.lsp", "segdsl.serve", "segdsl.__main__")


@attrs.frozen
class Import:
    importer: str  # the module holding the statement
    line: int
    module: str  # the module imported from, absolute
    name: str | None  # ``from module import name``; None for ``import module``
    type_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        what = f"from {self.module} import {self.name}" if self.name else f"import {self.module}"
        return f"{self.importer} (line {self.line}): {what}"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "segdsl").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(name: str) -> list[Import]:
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[Import] = []
    # Walk every statement, function bodies included, remembering TYPE_CHECKING blocks.
    stack: list[tuple[ast.AST, bool]] = [(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)]
    while stack:
        node, type_only = stack.pop()
        if isinstance(node, ast.Import):
            out += [Import(name, node.lineno, a.name, None, type_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            out += [Import(name, node.lineno, module, a.name, type_only) for a in node.names]
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack += [(child, True) for child in node.body]
            stack += [(child, type_only) for child in node.orelse]
        else:
            stack += [(child, type_only) for child in ast.iter_child_nodes(node)]
    return sorted(out, key=lambda i: i.line)


IMPORTS = {name: _imports_of(name) for name in MODULES}
ALL = [i for found in IMPORTS.values() for i in found]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _targets(i: Import) -> list[str]:
    """The segdsl modules an import runs: ``from pkg import sub`` runs ``pkg.sub`` when it
    is a module, ``pkg`` (its ``__init__``) otherwise."""
    if not _within(i.module, "segdsl"):
        return []
    if i.name is not None and f"{i.module}.{i.name}" in MODULES:
        return [f"{i.module}.{i.name}"]
    module = i.module
    while module not in MODULES:  # `import segdsl.a.b` of a name that is not a module
        module = module.rpartition(".")[0]
    return [module]


def _report(offenders: list[Import]) -> str:
    return "\n".join(str(i) for i in offenders)


def _only(package: str, library: str) -> list[Import]:
    return [i for i in ALL if _within(i.module, library) and not _within(i.importer, package)]


def test_the_walk_sees_deferred_and_type_only_imports():
    # A rule is only as good as the walk: it must find imports inside functions, and
    # those under TYPE_CHECKING, or every rule below could pass by looking away.
    parser = IMPORTS["segdsl.syntax.parser"]
    assert any(i.module == "lark" for i in parser), "the parser imports lark inside functions"
    assert any(i.type_only for i in ALL), "some module imports under TYPE_CHECKING"
    assert len(MODULES) > 50


def test_only_syntax_imports_lark():
    offenders = _only("segdsl.syntax", "lark")
    assert not offenders, "only segdsl.syntax may import lark:\n" + _report(offenders)


def test_only_the_sql_backend_imports_sqlglot():
    offenders = _only("segdsl.backends.sql", "sqlglot")
    assert not offenders, (
        "only segdsl.backends.sql may import sqlglot (get SQL from it, or from its Target record):\n"
        + _report(offenders)
    )


def test_the_library_imports_no_shell():
    offenders = [
        i
        for i in ALL
        if any(_within(i.module, s) for s in SHELLS[:3]) and not any(_within(i.importer, s) for s in SHELLS)
    ]
    assert not offenders, "the library must not import segdsl.cli, segdsl.lsp or segdsl.serve (they import it):\n" + _report(
        offenders
    )


def test_only_the_shells_and_the_package_import_the_api():
    """``segdsl.api`` is the top layer: the CLI, the language server and ``segdsl``'s
    own lazy names use it; the stages below it never do."""
    above = (*SHELLS, "segdsl.api")
    offenders = [
        i
        for i in ALL
        if _within(i.module, "segdsl.api") and i.importer != "segdsl" and not any(_within(i.importer, s) for s in above)
    ]
    assert not offenders, "only the CLI, the language server and segdsl/__init__ may import segdsl.api:\n" + _report(
        offenders
    )


def test_no_private_name_is_imported_from_another_module():
    offenders = [
        i
        for i in ALL
        if _within(i.module, "segdsl")
        and any(part.startswith("_") and not part.startswith("__") for part in [*i.module.split("."), i.name or ""])
    ]
    assert not offenders, (
        "a `_name` is private to its module; make what is shared public under a good name, "
        "or move it where it belongs:\n" + _report(offenders)
    )


def _graph() -> dict[str, set[str]]:
    return {
        name: {t for i in found if not i.type_only for t in _targets(i) if t != name}
        for name, found in IMPORTS.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _describe_cycle(component: list[str]) -> str:
    """The cycle's modules, then each import between two of them (importer, line, imported)."""
    members = set(component)
    edges = sorted(
        {
            (name, i.line, target)
            for name in component
            for i in IMPORTS[name]
            if not i.type_only
            for target in members.intersection(_targets(i)) - {name}
        }
    )
    return " <-> ".join(component) + "".join(f"\n    {a} (line {n}) -> {b}" for a, n, b in edges)


def test_no_import_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (deferred imports included):\n" + "\n".join(map(_describe_cycle, cycles))


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]


def test_reading_a_schema_reaches_neither_checker_nor_parser():
    # Traits are typed in the check stage (segdsl.check.traits), not by reading a schema.
    graph = _graph()
    seen, todo = set(), [m for m in MODULES if _within(m, "segdsl.schema")]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    reached = sorted(m for m in seen if _within(m, "segdsl.check") or m == "segdsl.syntax.parser")
    assert not reached, f"segdsl.schema reaches the check stage or the parser: {reached}"


def test_reading_a_schema_with_traits_runs_no_checker():
    # The same, at run time: read the golf schema (traits, a channel whose consent is a
    # trait) and look at what got imported.
    probe = (
        "import sys; from segdsl.schema.model import read_schema; "
        "s, d = read_schema(sys.argv[1]); assert s is not None, d; "
        "t = s.fields['sms_consent']; assert t.derive_text and t.derive is None; "
        "print(sorted(m for m in sys.modules if m.startswith(('segdsl.check', 'segdsl.syntax.parser', 'lark'))))"
    )
    schema = SRC.parent / "examples" / "golf" / "schema.toml"
    out = subprocess.run([sys.executable, "-c", probe, str(schema)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
