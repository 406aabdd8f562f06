"""What differs between SQL targets, as data: one small record per engine family.

Every sqlglot dialect is a valid target. The families below are the engines segdsl
runs its cross-engine tests on; any other dialect gets the ``generic`` family, whose
SQL is standard enough for sqlglot to transpile, and which reports the constructs it
cannot express (tag lists, the database clock) as diagnostics instead of guessing.
"""

from __future__ import annotations

import functools

import attrs

#: Dialects whose output the test suite executes on a real engine.
VERIFIED = ("postgres", "duckdb", "sqlite", "mysql")


@attrs.frozen
class Target:
    dialect: str
    family: str  # "postgres" | "duckdb" | "sqlite" | "mysql" | "generic"
    #: How tag lists are stored: "array" (native), "json" (a JSON array in text, read
    #: with json_each), "mysql_json" (a JSON column), None.
    tags: str | None
    #: How to fold ASCII letters: "translate" (TRANSLATE), "lower" (a LOWER that is
    #: ASCII-only by definition), or "replace" (26 nested REPLACE calls: any engine).
    ascii_lower: str
    #: Whether a boolean column may stand alone as a condition.
    bare_bool: bool
    #: Whether `CREATE OR REPLACE VIEW` exists.
    replace_view: bool
    #: Deepest and/or nesting the engine's parser accepts, when it is known to be low.
    max_depth: int | None = None
    #: Whether text literals containing a backslash must be written as E'...' strings,
    #: which mean the same whatever `standard_conforming_strings` says.
    escape_strings: bool = False
    #: Whether text comparisons must be forced to a binary collation.
    binary_text: bool = False


_FAMILIES = {
    "postgres": Target("postgres", "postgres", "array", "translate", True, True, escape_strings=True),
    "duckdb": Target("duckdb", "duckdb", "array", "translate", True, True),
    # SQLite's parser gives up near 31 nested (a OR (...)) groups (measured).
    "sqlite": Target("sqlite", "sqlite", "json", "lower", True, False, max_depth=24),
    # MySQL and MariaDB: case-insensitive default collations are overridden in the SQL
    # itself; tag lists are JSON arrays.
    "mysql": Target("mysql", "mysql", "mysql_json", "replace", True, True, binary_text=True),
}


@functools.cache
def get_target(dialect: str) -> Target | None:
    """The target for a sqlglot dialect name, or None if sqlglot does not know it."""
    from sqlglot.dialects.dialect import Dialect

    name = dialect.lower()
    if name == "postgresql":
        name = "postgres"
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        return None
    if name in _FAMILIES:
        return _FAMILIES[name]
    if name in ("materialize", "risingwave"):
        return attrs.evolve(_FAMILIES["postgres"], dialect=name)
    return Target(name, "generic", None, "replace", False, True)


def dialect_names() -> list[str]:
    from sqlglot.dialects.dialect import Dialects

    return sorted(d.value for d in Dialects if d.value)
