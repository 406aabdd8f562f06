"""The SQL backend: the only package that imports sqlglot.

The names below are loaded on first use, so reading a :class:`Target` record
(:mod:`segdsl.backends.sql.targets`) does not import sqlglot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segdsl.backends.sql.compile import FORMS, SqlResult, compile_ranked, compile_rule, compile_segment, condition
    from segdsl.backends.sql.targets import Target, get_target

_WHERE = {
    "FORMS": "compile", "SqlResult": "compile", "compile_rule": "compile", "compile_segment": "compile",
    "condition": "compile", "compile_ranked": "compile", "Target": "targets", "get_target": "targets",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = ["FORMS", "SqlResult", "Target", "compile_ranked", "compile_rule", "compile_segment", "condition", "get_target"]
