"""Which warnings and notes a project wants to see: ``[lint]`` in ``segdsl.toml``
(``ignore`` and ``enable`` lists of codes) and ``# segdsl: ignore[W0207]`` comments in
``.seg`` files. Errors are never hidden. Codes in :data:`OPT_IN` are off unless a
project enables them.

A comment inside a declaration, or on the lines directly above it (no blank line in
between), applies to that declaration; any other comment applies to its whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from segdsl.diagnostics import Diagnostic, Severity
from segdsl.syntax import ast
from segdsl.syntax.span import SourceFile

#: Notes a project sees only when its ``[lint] enable`` names them: I0210 (a segment no
#: journey uses) says nothing wrong, and a project without journeys for its segments
#: would get one per segment.
OPT_IN = frozenset({"I0210"})

_COMMENT = re.compile(r"#\s*segdsl:\s*ignore\[([^\]]*)\]")
_CODE = re.compile(r"[WI]\d{4}")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n|\r[ \t]*\r")


@attrs.frozen
class LintConfig:
    """``[lint]`` of ``segdsl.toml``: codes to hide, and opt-in codes to show."""

    ignore: frozenset[str] = frozenset()
    enable: frozenset[str] = frozenset()


def read_lint_config(table, known: Iterable[str]) -> tuple[LintConfig, list[str]]:
    """``[lint]`` as read from TOML, and what is wrong with it (each a sentence)."""
    if table is None:
        return LintConfig(), []
    if not isinstance(table, Mapping):
        return LintConfig(), ["`lint` must be a table: `[lint]` with `ignore = [...]` and `enable = [...]`"]
    problems = [f"unknown key `{k}` in [lint]; the keys are `ignore` and `enable`" for k in table
                if k not in ("ignore", "enable")]
    known = set(known)
    lists = {}
    for key in ("ignore", "enable"):
        raw = table.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            problems.append(f"`{key}` in [lint] must be a list of codes, e.g. [\"W0207\"]")
            raw = []
        codes = {c.strip().upper() for c in raw}
        for code in sorted(codes):
            if code not in known:
                problems.append(f"`{code}` in [lint] {key} is no diagnostic code of segdsl")
            elif not _CODE.fullmatch(code):
                problems.append(f"`{code}` in [lint] {key} is an error; only warnings (W) and notes (I) can be "
                                "turned off")
        lists[key] = frozenset(codes)
    return LintConfig(lists["ignore"], lists["enable"]), problems


def comment_codes(text: str) -> frozenset[str] | None:
    """The codes a ``# segdsl: ignore[...]`` comment names, or None for another comment."""
    m = _COMMENT.search(text)
    if m is None:
        return None
    return frozenset(c.strip().upper() for c in m.group(1).split(",") if c.strip())


def apply_lint(diags: Sequence[Diagnostic], modules: Iterable[ast.Module], sources: Mapping[str, SourceFile],
               config: LintConfig = LintConfig()) -> list[Diagnostic]:
    """``diags`` without the warnings and notes the project turned off."""
    scopes: dict[str, list[tuple[int, int, frozenset[str]]]] = {}
    for module in modules:
        found = _scopes(module, sources.get(module.path))
        if found:
            scopes[module.path] = found
    out = []
    for d in diags:
        if d.severity is not Severity.ERROR:
            if d.code in config.ignore or (d.code in OPT_IN and d.code not in config.enable):
                continue
            if d.span is not None and any(a <= d.span.start <= b and d.code in codes
                                          for a, b, codes in scopes.get(d.span.path, ())):
                continue
        out.append(d)
    return out


def _scopes(module: ast.Module, src: SourceFile | None) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, codes) of each ignore comment's reach in ``module``."""
    decls = sorted([*module.segments, *module.journeys, *module.splits, *module.holdouts], key=lambda d: d.span.start)
    out = []
    for comment in module.comments:
        codes = comment_codes(comment.text)
        if not codes:
            continue
        at = comment.span.start
        inside = next((d for d in decls if d.span.start <= at < d.span.end), None)
        if inside is None:
            after = next((d for d in decls if d.span.start >= comment.span.end), None)
            text = src.text if src is not None else ""
            if after is not None and text and not _BLANK_LINE.search(text, comment.span.end, after.span.start):
                inside = after
        if inside is not None:
            out.append((inside.span.start, inside.span.end, codes))
        else:
            out.append((0, 1 << 62, codes))
    return out
