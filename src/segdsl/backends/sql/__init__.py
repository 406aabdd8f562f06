"""The SQL backend: the only package that imports sqlglot."""

from segdsl.backends.sql.compile import FORMS, SqlResult, compile_rule, compile_segment, condition
from segdsl.backends.sql.targets import Target, get_target

__all__ = ["FORMS", "SqlResult", "Target", "compile_rule", "compile_segment", "condition", "get_target"]
