"""What differs between SQL targets, as data: one record per engine family.

Every sqlglot dialect is a valid target. The first families below are the engines
segdsl runs its cross-engine tests on (``VERIFIED``); BigQuery, Snowflake and Trino
have records of their own, written from each engine's documentation and checked by
golden files and by parsing the SQL back, not by running it. Any other dialect gets the
``generic`` family, whose SQL is standard enough for sqlglot to transpile, and which
reports the constructs it cannot express (tag lists, the database clock) as diagnostics
instead of guessing.

Code that differs per engine reads a field of :class:`Target`; ``family`` names the
record (in messages and tests) and is never branched on. Importing this module does
not import sqlglot: the engines and the state store read their records without it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import attrs

from segdsl.schema.model import Kind

#: Dialects whose output the test suite executes on a real engine. `segdsl compile`
#: for any other dialect says so in a note on stderr.
VERIFIED = ("postgres", "duckdb", "sqlite", "mysql", "spark")


@attrs.frozen
class Target:
    dialect: str
    family: str  # "postgres" | "duckdb" | "sqlite" | "mysql" | "spark" | "bigquery" | "snowflake" | "trino" | "generic"

    # -- how values are stored, and written as literals and bound parameters

    #: Tag lists: "array" (native TEXT[], tested with && and @>), "json" (a JSON array in
    #: TEXT, read with json_each), "mysql_json" (a JSON column), "unnest" (an ARRAY<STRING>
    #: read with UNNEST in a subquery), "array_functions" (an array(varchar) tested with
    #: arrays_overlap and array_except), "variant_array" (an ARRAY of strings tested with
    #: ARRAYS_OVERLAP and ARRAY_CONTAINS), "functions" (a native array tested with
    #: ARRAYS_OVERLAP and FORALL(..., ARRAY_CONTAINS(...)): Spark), None (not supported).
    tags: str | None = None
    #: Whether a tag-list column keeps NULL apart from the empty list. Where it does not
    #: (BigQuery stores a NULL array as an empty one), a nullable tag field cannot keep
    #: its NULL → unknown rule, and its predicates are refused (E0403).
    null_tags: bool = True
    #: Decimals: "native" (DECIMAL(p, s)), or "scaled": whole units of their last
    #: place in an INTEGER, so sums stay exact on an engine without exact decimals;
    #: compared through :func:`segdsl.ir.semantics.integer_comparison`.
    decimals: str = "native"
    #: Dates: "date" (a DATE; literals CAST('YYYY-MM-DD' AS DATE)) or "text" (ISO text).
    dates: str = "date"
    #: Timestamps: "timestamptz" (an instant; literals CAST('... +00:00' AS TIMESTAMPTZ)),
    #: "micros" (an instant, Spark's TIMESTAMP_LTZ: literals TIMESTAMP_MICROS(n) and UTC
    #: days from UNIX_MICROS, which mean the same whatever the session's time zone and
    #: default timestamp type; a cast of text would drop its offset under TIMESTAMP_NTZ),
    #: "utc_datetime" (a DATETIME(6) holding the UTC wall clock), or "text"
    #: (:func:`segdsl.ir.semantics.timestamp_text`, whose order is time order).
    timestamps: str = "timestamptz"
    #: How date and timestamp literals are written: "cast" (CAST('...' AS DATE) and
    #: CAST('... +00:00' AS TIMESTAMPTZ), the type as sqlglot spells it), "cast_micros"
    #: (the same, the instant cast to TIMESTAMP(6) WITH TIME ZONE: Trino's type without a
    #: precision keeps milliseconds), or "format" (TO_DATE and TO_TIMESTAMP_TZ with an
    #: explicit format: Snowflake's CAST reads text as the session's input format says).
    datetime_literals: str = "cast"
    #: Decimal literals: "plain" (150000.25, an exact number on the engine) or "cast"
    #: (CAST('150000.25' AS NUMERIC), or BIGNUMERIC past NUMERIC's 29 integer digits and
    #: 9 places: a bare 150000.25 is a FLOAT64 on BigQuery).
    decimal_literals: str = "plain"
    #: Booleans: "native", or "int" (0 and 1).
    booleans: str = "native"
    #: The column type of each kind in the tables segdsl creates and loads (decimals
    #: stored natively are DECIMAL(p, s)); None where segdsl loads no data.
    column_types: Mapping[Kind, str] | None = attrs.field(default=None, eq=False)
    #: The type of a text primary key where TEXT cannot be indexed without a length.
    key_text_type: str | None = None
    #: Collations for a text primary key under which two keys are equal only when their
    #: characters are (binary, no trailing-space padding), in order of preference: the
    #: engine takes the first its server has (MariaDB and MySQL 8 name theirs differently).
    key_collations: tuple[str, ...] = ()
    #: Whether tables are created STRICT: a value of the wrong type is an error, never
    #: silently stored as text.
    strict_tables: bool = False
    #: Whether each event source (a source with a ``time``) is loaded with an index on
    #: (entity key, time), which event sequences' lookups use. Not on DuckDB: it cannot
    #: rename a table that has an index (a load swaps tables in by renaming them), and
    #: its hash joins need none.
    event_index: bool = True
    #: Whether the engine has schemas (MySQL's databases count), so that a table named
    #: `schema_name.name` is the table `name` in the schema `schema_name`. Where it has
    #: none (SQLite, whose qualified names name attached database files), the whole
    #: dotted text names one table.
    schemas: bool = True

    # -- how rules are written

    #: How to fold ASCII letters: "translate" (TRANSLATE), "lower" (a LOWER that is
    #: ASCII-only by definition), or "replace" (26 nested REPLACE calls: any engine).
    ascii_lower: str = "replace"
    #: Whether a boolean column may stand alone as a condition.
    bare_bool: bool = False
    #: Whether `CREATE OR REPLACE VIEW` exists.
    replace_view: bool = True
    #: Deepest and/or nesting the engine's parser accepts, when it is known to be low.
    max_depth: int | None = None
    #: How a text literal holding a backslash (or, for "hex", a control character,
    #: which sqlglot writes as a backslash escape: TAB as \t) is written so that it
    #: means the same under every server setting: "escape_string" (E'...', whatever
    #: Postgres's standard_conforming_strings says), "hex" (a hex literal, whatever
    #: MySQL's NO_BACKSLASH_ESCAPES says), "hex_cast" (CAST(X'...' AS STRING) for text
    #: holding a backslash, a quote or a control character, whatever Spark's
    #: escapedStringLiterals says), or None (as it is).
    backslash_text: str | None = None
    #: Whether text comparisons must be forced to a binary collation.
    binary_text: bool = False
    #: A collation that orders text by code point where the database's default may not
    #: (a Postgres database created with an ICU or libc English locale puts 'B' after 'a').
    code_point_collation: str | None = None
    #: How the database clock's date in UTC is read: "at_time_zone"
    #: (CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE)), "utc_date" (UTC_DATE()),
    #: "date_now" (DATE('now')), "current_date_utc" (CURRENT_DATE('UTC'), DATE_ADD, a day's
    #: start TIMESTAMP(d, 'UTC'), TIMESTAMP_SUB), "convert_timezone" (CONVERT_TIMEZONE('UTC',
    #: CURRENT_TIMESTAMP()), a day's start by DATE_TRUNC, DATEADD), "with_timezone"
    #: (CURRENT_TIMESTAMP AT TIME ZONE 'UTC', date_add, a day's start
    #: with_timezone(CAST(d AS TIMESTAMP), 'UTC')), "unix_micros" (the instant
    #: UNIX_MICROS(CURRENT_TIMESTAMP()), its UTC day by integer division), or None:
    #: relative time needs a pinned as-of. Each reads the instant, never the session's zone.
    clock: str | None = None
    #: How seconds are added to a stored instant (event sequences' windows): "interval"
    #: (``t + INTERVAL 'n' SECOND``, exact on instants whatever the session's zone),
    #: "text_datetime" (fixed-width text: ``datetime()`` moves its whole seconds and the
    #: fraction is kept as written), "timestamp_add" (TIMESTAMP_ADD(t, INTERVAL n SECOND))
    #: or "dateadd" (DATEADD(SECOND, n, t)).
    instant_shift: str = "interval"
    #: Whether such a sum past the year 9999 is NULL (it then reads as the last instant).
    shift_past_calendar_null: bool = False
    #: Whether such a sum may fail the query instead (BigQuery's TIMESTAMP_ADD overflows):
    #: the instant is first capped at the last instant less the window (LEAST), so the sum
    #: is at most the last instant, which every stored instant is at or before.
    shift_capped: bool = False
    #: Whether a correlated subquery may hold a correlated subquery of its own, as an
    #: event sequence's ``EXISTS`` does. Trino refuses such a query ("Given correlated
    #: subquery is not supported"), so sequences are refused there (E0404).
    nested_correlation: bool = True
    #: Most copies of segment CTEs the engine is given: SQLite and MariaDB expand each
    #: reference to a CTE into a copy (SQLite while parsing, MariaDB computing each), so
    #: a segment reached through many chains of references is copied once per chain.
    #: None: the engine computes a CTE once for all its references.
    cte_copies: int | None = None
    #: How the integer of a text's bucket hash (:func:`segdsl.ir.semantics.bucket_hash`:
    #: the first 15 hex digits of SHA-256 of its UTF-8 bytes) is computed:
    #: "sha256_bit" (sha256(convert_to(t, 'UTF8')) in hex, read through a BIT(64)),
    #: "sha256_hex" (a sha256 returning hex, read by a cast of '0x...' to BIGINT),
    #: "sha2_conv" (SHA2(t, 256), CONV to decimal text, cast to UNSIGNED: CONV's text
    #: used as a number would pass through a double and lose the low digits),
    #: "sha2_conv_signed" (the same, cast to BIGINT: 15 hex digits fit in 60 bits),
    #: "function" (the function segdsl registers on the connections it opens,
    #: :data:`segdsl.ir.semantics.BUCKET_HASH_FUNCTION`), or None: not supported.
    bucket_hash: str | None = None
    #: Whether a remainder is written MOD(a, b) rather than a % b: a driver that binds
    #: parameters with %s markers (psycopg, PyMySQL) reads a bare % as one. (SQLite's
    #: MOD, where it exists at all, returns a float.)
    mod_function: bool = False

    #: Whether values may be compiled as bound parameters (``--params``): the marker
    #: sqlglot writes for the dialect is one the engine's clients bind by name (BigQuery's
    #: @p1). Snowflake's and Trino's clients bind positional markers instead, which the
    #: parameters' names do not order, so values stay literals there.
    named_markers: bool = True

    # -- how the Python driver runs statements

    #: Whether instants and dates are bound as numbers (microseconds and days after the
    #: epoch) that the SQL turns back with TIMESTAMP_MICROS and DATE_FROM_UNIX_DATE:
    #: pyspark writes a bound datetime in the session's zone, and a date through text
    #: that has no year below 1000.
    epoch_params: bool = False
    #: Whether the driver binds the named parameters sqlglot writes for this dialect.
    #: PyMySQL expects pyformat markers that sqlglot does not emit for MySQL, so MySQL
    #: gets literals, which are quoted safely whatever the server's SQL mode.
    named_params: bool = True
    #: The positional parameter marker the driver reads, in statements segdsl writes.
    param_marker: str = "?"
    #: Whether statements run in a cursor, and a failed statement leaves a transaction
    #: that must be rolled back (psycopg, PyMySQL).
    cursors: bool = False
    #: How a large result is read a batch at a time: "fetchmany" (the driver's cursor
    #: already streams), "named" (a server-side cursor, psycopg) or "unbuffered" (an
    #: unbuffered cursor, PyMySQL): the client never holds the whole result.
    stream_cursor: str = "fetchmany"
    #: How many rows are loaded at once: "copy" (COPY ... FROM STDIN), "arrow" (one
    #: Arrow table, inserted with INSERT ... SELECT), "executemany", or "parquet" (each
    #: table written as Parquet files and swapped in by a load record file: see
    #: :mod:`segdsl.data.spark`).
    bulk_load: str = "executemany"

    # -- how `segdsl db load` replaces a project's tables as one unit

    #: Whether CREATE, DROP and ALTER TABLE take part in transactions. Then a load fills
    #: new tables and swaps them in (DROP, ALTER TABLE ... RENAME) in one transaction;
    #: otherwise (MySQL, where DDL commits at once) the swap is one RENAME TABLE of every
    #: table, which the server makes atomic, and the old tables are dropped after it.
    transactional_ddl: bool = True
    #: A statement that makes concurrent loads into one database wait for each other
    #: (held to the end of the load's transaction, or of its session), or None where the
    #: load's write transaction already excludes other writers. A result of 0 means the
    #: lock was not granted in time.
    load_lock: str | None = None
    #: The statement releasing ``load_lock`` where it lasts as long as the session.
    load_unlock: str | None = None
    #: How loaded tables are analyzed, so the planner knows their sizes at once (before
    #: Postgres's autoanalyze): "list" (one ANALYZE of every table), "list_table" (one
    #: ANALYZE TABLE of every table), "each" (one ANALYZE per table) or None.
    analyze: str | None = None
    #: Where the names of a schema's tables are listed: "information_schema" (its
    #: TABLES view), "sqlite_master", or "spark" (the session's catalog, SHOW TABLES).
    table_catalog: str = "information_schema"

    # -- the membership state store (SQLite and Postgres only)

    #: The column definition of an auto-numbered primary key.
    serial_key: str | None = None
    #: Whether a table keyed by its primary key alone is declared WITHOUT ROWID.
    without_rowid: bool = False
    #: What a SELECT appends to lock the rows it reads until the transaction ends ("" when
    #: a write transaction already holds the whole database).
    lock_rows: str = ""
    #: The statements that begin a write transaction (also a load's, where the driver
    #: does not begin one itself: see ``cursors``) and a consistent read-only one.
    begin_write: str = "BEGIN"
    begin_read: str = "BEGIN"
    #: A statement serialising concurrent CREATE TABLE IF NOT EXISTS (which races with
    #: itself on Postgres), or None.
    ddl_lock: str | None = None
    #: Whether a Python list binds as an array (``key = ANY(?)``).
    array_params: bool = False
    #: Whether INSERT ... RETURNING gives a generated id (else the cursor's lastrowid).
    returning: bool = False
    #: A query giving a row when the table named by its one parameter is visible to
    #: the store's unqualified names (so a reader can tell "no store yet" without
    #: creating one).
    find_table: str | None = None
    #: The statement that makes a session refuse every write (``segdsl plan``).
    read_only_session: str | None = None

    @property
    def verified(self) -> bool:
        """Whether the test suite runs this dialect's SQL on a real engine (``VERIFIED``)."""
        return self.dialect in VERIFIED


_POSTGRES_TYPES = {
    Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE PRECISION", Kind.TEXT: "TEXT", Kind.ENUM: "TEXT",
    Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "TIMESTAMPTZ", Kind.TAGS: "TEXT[]",
}

#: The copies of segment CTEs allowed where each reference is a copy: a chain of 250
#: layered segments, or fewer reached through several chains each.
CTE_COPIES = 250

_FAMILIES = {
    "postgres": Target(
        "postgres", "postgres", tags="array", ascii_lower="translate", bare_bool=True,
        backslash_text="escape_string", code_point_collation="C", clock="at_time_zone", bucket_hash="sha256_bit",
        mod_function=True,
        column_types=_POSTGRES_TYPES, param_marker="%s", cursors=True, stream_cursor="named", bulk_load="copy",
        serial_key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", lock_rows=" FOR UPDATE",
        begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ddl_lock="SELECT pg_advisory_xact_lock(7327301)", array_params=True, returning=True,
        find_table="SELECT 1 WHERE to_regclass(?) IS NOT NULL",
        read_only_session="SET default_transaction_read_only = on",
        load_lock="SELECT pg_advisory_xact_lock(7327302)", analyze="list",
    ),
    "duckdb": Target(
        "duckdb", "duckdb", tags="array", ascii_lower="translate", bare_bool=True, clock="at_time_zone",
        bucket_hash="sha256_hex",
        column_types={**_POSTGRES_TYPES, Kind.FLOAT: "DOUBLE"}, bulk_load="arrow", analyze="each", event_index=False,
    ),
    # SQLite's parser gives up near 31 nested (a OR (...)) groups (measured). Without
    # exact decimals or a date type, values are stored so that SQLite's integer and text
    # comparisons are exact: decimals scaled, dates and timestamps as ordered text.
    "sqlite": Target(
        "sqlite", "sqlite", tags="json", decimals="scaled", dates="text", timestamps="text", booleans="int",
        column_types={
            Kind.INT: "INTEGER", Kind.DECIMAL: "INTEGER", Kind.FLOAT: "REAL", Kind.TEXT: "TEXT",
            Kind.ENUM: "TEXT", Kind.BOOL: "INTEGER", Kind.DATE: "TEXT", Kind.TIMESTAMP: "TEXT", Kind.TAGS: "TEXT",
        },
        strict_tables=True, ascii_lower="lower", bare_bool=True, replace_view=False, max_depth=24,
        clock="date_now", instant_shift="text_datetime",
        shift_past_calendar_null=True, serial_key="INTEGER PRIMARY KEY AUTOINCREMENT", without_rowid=True,
        begin_write="BEGIN IMMEDIATE",
        find_table="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        read_only_session="PRAGMA query_only = ON", schemas=False, analyze="each", table_catalog="sqlite_master",
        cte_copies=CTE_COPIES, bucket_hash="function",
    ),
    # MySQL and MariaDB: default collations stay as the server has them, and
    # case-insensitive ones are overridden in the SQL itself; tag lists are JSON arrays.
    "mysql": Target(
        "mysql", "mysql", tags="mysql_json", timestamps="utc_datetime",
        column_types={
            Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.TEXT: "TEXT", Kind.ENUM: "VARCHAR(255)",
            Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "DATETIME(6)", Kind.TAGS: "JSON",
        },
        key_text_type="VARCHAR(255)", key_collations=("utf8mb4_nopad_bin", "utf8mb4_0900_bin"), bare_bool=True,
        backslash_text="hex", binary_text=True, clock="utc_date",
        shift_past_calendar_null=True, named_params=False, param_marker="%s", cursors=True,
        stream_cursor="unbuffered",
        # GET_LOCK is the session's until it ends, a kill -9 included; names are
        # server-wide, so the database's name is part of it.
        transactional_ddl=False, load_lock="SELECT GET_LOCK(CONCAT('segdsl db load ', DATABASE()), 3600)",
        load_unlock="SELECT RELEASE_LOCK(CONCAT('segdsl db load ', DATABASE()))",
        analyze="list_table",
        cte_copies=CTE_COPIES, bucket_hash="sha2_conv", mod_function=True,
    ),
    # The warehouses: no data is loaded into them (column_types None) and no test runs
    # their SQL; the fields follow each engine's documentation. Identifiers are quoted
    # everywhere, so Snowflake's tables and columns must have the names' exact case.
    "bigquery": Target(
        "bigquery", "bigquery", tags="unnest", null_tags=False, decimal_literals="cast", ascii_lower="translate",
        bare_bool=True, clock="current_date_utc", instant_shift="timestamp_add", shift_capped=True,
    ),
    "snowflake": Target(
        "snowflake", "snowflake", tags="variant_array", datetime_literals="format", ascii_lower="translate",
        bare_bool=True, clock="convert_timezone", instant_shift="dateadd", shift_capped=True, named_markers=False,
    ),
    "trino": Target(
        "trino", "trino", tags="array_functions", datetime_literals="cast_micros", ascii_lower="translate",
        bare_bool=True, clock="with_timezone", nested_correlation=False, named_markers=False,
    ),
    # Spark (local, a cluster, Spark Connect; Databricks is the same family). Tables are
    # Parquet; the engine pins each session's zone (UTC), timestamp type and string
    # escaping, and the SQL does not depend on them anyway: instants are written as
    # microseconds, text that a setting could read otherwise as a hex string.
    "spark": Target(
        "spark", "spark", tags="functions", timestamps="micros",
        column_types={
            Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.TEXT: "STRING", Kind.ENUM: "STRING",
            Kind.BOOL: "BOOLEAN", Kind.DATE: "DATE", Kind.TIMESTAMP: "TIMESTAMP", Kind.TAGS: "ARRAY<STRING>",
        },
        ascii_lower="translate", bare_bool=True, backslash_text="hex_cast", clock="unix_micros",
        bucket_hash="sha2_conv_signed", mod_function=True, event_index=False, epoch_params=True,
        bulk_load="parquet", transactional_ddl=False, table_catalog="spark",
    ),
}


#: Dialects of an engine of a family above (its SQL, its storage): dialect → family.
_SAME_FAMILY = {"materialize": "postgres", "risingwave": "postgres", "databricks": "spark"}


def family_target(family: str) -> Target:
    """The record of one of the engine families segdsl connects to (``VERIFIED``),
    without asking sqlglot: for the engines and the state store."""
    return _FAMILIES[family]


#: Other names people give the dialects sqlglot knows: alias → sqlglot's name. The one
#: table of them (``--target``, the API's ``target=``).
DIALECT_ALIASES = {
    "postgresql": "postgres", "pg": "postgres", "pgsql": "postgres",
    "mssql": "tsql", "sqlserver": "tsql", "sql_server": "tsql", "sql-server": "tsql", "azuresql": "tsql",
    "mariadb": "mysql",
    "bq": "bigquery", "googlesql": "bigquery",
    "sparksql": "spark", "spark-sql": "spark", "spark_sql": "spark",
    "sqlite3": "sqlite",
    "oracledb": "oracle",
}


def dialect_name(dialect: str) -> str:
    """sqlglot's name for ``dialect``: lower-cased, an alias replaced by its dialect."""
    name = dialect.lower()
    return DIALECT_ALIASES.get(name, name)


@functools.cache
def get_target(dialect: str) -> Target | None:
    """The target for a sqlglot dialect name, or None if sqlglot does not know it."""
    from sqlglot.dialects.dialect import Dialect

    name = dialect_name(dialect)
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        return None
    if name in _FAMILIES:
        return _FAMILIES[name]
    if name in _SAME_FAMILY:
        return attrs.evolve(_FAMILIES[_SAME_FAMILY[name]], dialect=name)
    return Target(name, "generic")


def dialect_names() -> list[str]:
    from sqlglot.dialects.dialect import Dialects

    return sorted(d.value for d in Dialects if d.value)
