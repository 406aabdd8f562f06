"""segdsl: customer segments as code.

The library API, everything the ``segdsl`` command does (see ``docs/api.md``)::

    import segdsl

    ws = segdsl.load_project("examples/hospitality")
    print(segdsl.compile_sql(ws, "high_value", target="duckdb").sql)
    print(segdsl.sizes(ws, as_of="2026-11-01").counts)

Names are loaded on first use, so ``import segdsl`` imports none of the parser,
sqlglot, numpy or the database drivers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module that defines it.
_EXPORTS = {
    # loading
    "load_project": "segdsl.api",
    "load_files": "segdsl.api",
    "load_workspaces": "segdsl.api",
    "load_schema": "segdsl.api",
    # parsing and checking
    "parse": "segdsl.api",
    "parse_expression": "segdsl.api",
    "check_modules": "segdsl.api",
    "check_expression": "segdsl.api",
    # SQL and evaluation
    "compile_sql": "segdsl.api",
    "sql_target": "segdsl.api",
    "sizes": "segdsl.api",
    "members": "segdsl.api",
    "load_database": "segdsl.api",
    "preview_refresh": "segdsl.api",
    "run_journey": "segdsl.api",
    "preview_against": "segdsl.api",
    "expression_segment": "segdsl.api",
    "parse_as_of": "segdsl.api",
    # who is in a segment, and why
    "show": "segdsl.api.inspect",
    "explain_member": "segdsl.api.inspect",
    "history": "segdsl.api.inspect",
    # diagnostics
    "render": "segdsl.api",
    "summary": "segdsl.api",
    "explain": "segdsl.explanations",
    "codes": "segdsl.explanations",
    # formatting and editing source
    "format_source": "segdsl.api",
    "format_expression": "segdsl.api",
    "format_file": "segdsl.project.sources",
    "edit_members": "segdsl.project.members",
    "import_json": "segdsl.interchange",
    "export_json": "segdsl.interchange",
    "version": "segdsl.api",
    # result and value types
    "Workspace": "segdsl.project.workspace",
    "Project": "segdsl.project.workspace",
    "LoadedSchema": "segdsl.api",
    "CheckedRule": "segdsl.api",
    "SizeReport": "segdsl.api",
    "MemberReport": "segdsl.api",
    "JourneyReport": "segdsl.api",
    "Formatted": "segdsl.api",
    "DatabaseLoad": "segdsl.api",
    "Explanation": "segdsl.explanations",
    "MemberEdit": "segdsl.project.members",
    "FormattedFile": "segdsl.project.sources",
    "RefreshPreview": "segdsl.lifecycle.preview",
    "SegmentChange": "segdsl.lifecycle.preview",
    "RevisionPreview": "segdsl.lifecycle.preview",
    "DefinitionChange": "segdsl.lifecycle.preview",
    "ShowResult": "segdsl.api.inspect",
    "MemberTrace": "segdsl.api.inspect",
    "TraceNode": "segdsl.backends.memory.trace",
    "HistoryEvent": "segdsl.lifecycle.inspect",
    "ParseResult": "segdsl.syntax.parser",
    "ExprResult": "segdsl.syntax.parser",
    "CheckResult": "segdsl.check.checker",
    "SqlResult": "segdsl.backends.sql.compile",
    "Target": "segdsl.backends.sql.targets",
    "Size": "segdsl.lifecycle.sizes",
    "Overlap": "segdsl.lifecycle.sizes",
    "Schema": "segdsl.schema.model",
    "Field": "segdsl.schema.model",
    "Diagnostic": "segdsl.diagnostics",
    "Severity": "segdsl.diagnostics",
    "Span": "segdsl.syntax.span",
    "SourceFile": "segdsl.syntax.span",
    # exceptions
    "UsageError": "segdsl.project.errors",
    "MemberEditError": "segdsl.project.members",
    "EngineError": "segdsl.data.engines",
    "DataError": "segdsl.data.tables",
    "StateError": "segdsl.lifecycle.state",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segdsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers and editors see
    from segdsl.api import (
        CheckedRule,
        DatabaseLoad,
        Formatted,
        LoadedSchema,
        MemberReport,
        SizeReport,
        check_expression,
        check_modules,
        compile_sql,
        expression_segment,
        format_expression,
        format_source,
        load_database,
        load_files,
        load_project,
        load_schema,
        load_workspaces,
        members,
        parse,
        parse_as_of,
        parse_expression,
        preview_against,
        preview_refresh,
        render,
        sizes,
        sql_target,
        summary,
        version,
    )
    from segdsl.api.inspect import MemberTrace, ShowResult, explain_member, history, show
    from segdsl.backends.memory.trace import TraceNode
    from segdsl.backends.sql.compile import SqlResult
    from segdsl.backends.sql.targets import Target
    from segdsl.check.checker import CheckResult
    from segdsl.data.engines import EngineError
    from segdsl.data.tables import DataError
    from segdsl.diagnostics import Diagnostic, Severity
    from segdsl.explanations import Explanation, codes, explain
    from segdsl.interchange import export_json, import_json
    from segdsl.lifecycle.inspect import HistoryEvent
    from segdsl.lifecycle.preview import DefinitionChange, RefreshPreview, RevisionPreview, SegmentChange
    from segdsl.lifecycle.sizes import Overlap, Size
    from segdsl.lifecycle.state import StateError
    from segdsl.project.errors import UsageError
    from segdsl.project.members import MemberEdit, MemberEditError, edit_members
    from segdsl.project.sources import FormattedFile, format_file
    from segdsl.project.workspace import Project, Workspace
    from segdsl.schema.model import Field, Schema
    from segdsl.syntax.parser import ExprResult, ParseResult
    from segdsl.syntax.span import SourceFile, Span
