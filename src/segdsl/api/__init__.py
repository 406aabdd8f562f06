"""The library API: everything the ``segdsl`` command does, as Python calls.

Load a project, parse and check rules, compile them to SQL, evaluate members and sizes
in memory or on a database, render and explain diagnostics, format source. Every
command of the CLI is a thin shell over these functions (see ``docs/api.md``).

Problems in what a user wrote come back as :class:`~segdsl.diagnostics.Diagnostic`
values in each result's ``diagnostics``, never as exceptions; a call the API cannot
carry out as asked (an unknown segment name, dialect or form, an as-of that is no
date) raises :class:`~segdsl.project.errors.UsageError`. A database, data file or
state store that cannot be used raises ``EngineError``, ``DataError`` or ``StateError``.

Heavy modules (sqlglot, numpy, pyarrow, database drivers) are imported inside the
functions that need them, so importing this package stays cheap.
"""

from segdsl.api.results import (
    AsOf,
    CheckedRule,
    DatabaseLoad,
    Formatted,
    JourneyReport,
    LoadedSchema,
    MemberReport,
    PathLike,
    RuleLike,
    SizeReport,
)
from segdsl.api.run import (
    compile_sql,
    expression_segment,
    load_database,
    members,
    parse_as_of,
    preview_against,
    preview_refresh,
    run_journey,
    sizes,
    sql_target,
)
from segdsl.api.source import (
    FORMATS,
    check_expression,
    check_modules,
    format_expression,
    format_source,
    load_files,
    load_project,
    load_schema,
    load_workspaces,
    parse,
    parse_expression,
    render,
    summary,
    version,
)

__all__ = [
    "FORMATS", "AsOf", "CheckedRule", "DatabaseLoad", "Formatted", "JourneyReport", "LoadedSchema", "MemberReport", "PathLike",
    "RuleLike", "SizeReport", "check_expression", "check_modules", "compile_sql", "expression_segment",
    "format_expression", "format_source", "load_database", "load_files", "load_project", "load_schema",
    "load_workspaces", "members", "parse", "parse_as_of", "parse_expression", "preview_against", "preview_refresh", "run_journey",
    "render",
    "sizes", "sql_target", "summary", "version",
]
