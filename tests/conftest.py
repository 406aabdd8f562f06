"""Shared fixtures: real engines (Postgres, a Postgres database with a non-C collation,
MariaDB, DuckDB, SQLite) and golden files.

Postgres: ``SEGDSL_TEST_DSN`` (default: the local server as user postgres). Without a
server the Postgres tests skip with the reason; with ``SEGDSL_REQUIRE_POSTGRES=1`` (CI
sets it) a missing server fails the run instead, so CI can never pass by skipping.

Spark: one local session (``local[2]``) for the whole test session, started by segdsl
as a user's first `--dsn spark://local[2]` would start it; without pyspark or Java the
Spark tests skip with the reason, and ``SEGDSL_REQUIRE_SPARK=1`` (CI sets it) makes
that a failure.

The browser tests of ``segdsl serve`` drive the system Chromium (``SEGDSL_CHROMIUM``,
default ``/usr/bin/chromium``) with Playwright; without them they skip with the reason,
and ``SEGDSL_REQUIRE_BROWSER=1`` (CI sets it) makes that a failure too.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("SEGDSL_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("default")


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from current output")


@pytest.fixture
def golden(request):
    """Compare text with a golden file; ``--update-goldens`` rewrites it instead."""
    update = request.config.getoption("--update-goldens")

    def check(relpath: str, actual: str) -> None:
        path = GOLDEN / relpath
        if update or not path.exists():
            if not update:
                pytest.fail(f"missing golden file {path.relative_to(ROOT)}; run pytest --update-goldens and review it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path.relative_to(ROOT)} differs; if the change is intended, run --update-goldens"

    return check


def _require_postgres() -> bool:
    return os.environ.get("SEGDSL_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of the Chromium the browser tests drive; skips (or, with
    ``SEGDSL_REQUIRE_BROWSER=1``, fails) without it or without Playwright."""
    path = os.environ.get("SEGDSL_CHROMIUM", "/usr/bin/chromium")
    message = None
    try:
        import playwright.sync_api  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        message = f"the browser tests need playwright, starlette and uvicorn (pip install -e '.[test]'): {exc}"
    if message is None and not (os.path.isfile(path) and os.access(path, os.X_OK)):
        message = f"no Chromium at {path} (apt-get install chromium, or set SEGDSL_CHROMIUM)"
    if message is not None:
        if os.environ.get("SEGDSL_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"{message} (SEGDSL_REQUIRE_BROWSER is set, so this is a failure, not a skip)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def pg_dsn():
    """A DSN whose search_path is a fresh schema, dropped after the session."""
    dsn = os.environ.get("SEGDSL_TEST_DSN", DEFAULT_DSN)
    try:
        import psycopg

        conn = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        message = f"PostgreSQL is not reachable at {dsn!r}: {exc}".strip()
        if _require_postgres():
            pytest.fail(f"{message} (SEGDSL_REQUIRE_POSTGRES is set, so this is a failure, not a skip)")
        pytest.skip(f"{message}; set SEGDSL_TEST_DSN to run the Postgres tests")
    schema = f"segdsl_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{dsn} options='-c search_path={schema}'"
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


@pytest.fixture(scope="session")
def pg(pg_dsn):
    from segdsl.data.engines import connect

    engine = connect(pg_dsn)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def pg_collated_dsn(pg_dsn):
    """A DSN of a fresh Postgres DATABASE whose default collation is not C (ICU's
    English, or a libc en_US locale), dropped after the session. There `'B' > 'a'` and
    `'é' < 'f'`, unlike code point order. Skips, saying why, on a server with neither."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    base = os.environ.get("SEGDSL_TEST_DSN", DEFAULT_DSN)
    conn = psycopg.connect(base, connect_timeout=5, autocommit=True)
    version = conn.info.server_version
    icu = conn.execute("SELECT 1 FROM pg_collation WHERE collprovider = 'i' AND collname = 'en-US-x-icu'").fetchone()
    libc = conn.execute("SELECT collcollate FROM pg_collation WHERE collprovider = 'c' "
                        "AND collcollate ILIKE 'en_US.utf%8' ORDER BY collname LIMIT 1").fetchone()
    collate, ctype = conn.execute(
        "SELECT datcollate, datctype FROM pg_database WHERE datname = 'template0'").fetchone()
    name = f"segdsl_test_coll_{uuid.uuid4().hex[:10]}"
    if icu and version >= 150000:
        # The libc settings of template0 exist on the server; ICU decides the collation.
        options = f"LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LC_COLLATE '{collate}' LC_CTYPE '{ctype}'"
    elif libc:
        options = f"LC_COLLATE '{libc[0]}' LC_CTYPE '{libc[0]}'"
    else:
        conn.close()
        pytest.skip(f"the Postgres server (version {version}) has neither the ICU collation en-US-x-icu "
                    "(with Postgres 15 or later) nor a libc en_US.UTF-8 locale, so no non-C database can be created")
    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' {options}')
    try:
        check = psycopg.connect(make_conninfo(base, dbname=name), autocommit=True)
        assert check.execute("SELECT 'B' > 'a' AND 'é' < 'f'").fetchone()[0], "the database orders text by code point"
        check.close()
        yield make_conninfo(base, dbname=name)
    finally:
        conn.execute(f'DROP DATABASE "{name}"' + (" WITH (FORCE)" if version >= 130000 else ""))
        conn.close()


@pytest.fixture(scope="session")
def pg_collated(pg_collated_dsn):
    from segdsl.data.engines import connect

    engine = connect(pg_collated_dsn)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def mysql_dsn():
    """A throwaway database on a MySQL/MariaDB server, dropped after the session."""
    dsn = os.environ.get("SEGDSL_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")
    try:
        import pymysql
        from urllib.parse import urlsplit

        url = urlsplit(dsn)
        conn = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                               password=url.password or "", connect_timeout=5, autocommit=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        message = f"MySQL/MariaDB is not reachable at {dsn!r}: {exc}"
        if os.environ.get("SEGDSL_REQUIRE_MYSQL", "") not in ("", "0"):
            pytest.fail(f"{message} (SEGDSL_REQUIRE_MYSQL is set, so this is a failure, not a skip)")
        pytest.skip(f"{message}; set SEGDSL_TEST_MYSQL to run the MySQL tests")
    name = f"segdsl_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield f"{dsn.rstrip('/')}/{name}"
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    conn.close()


@pytest.fixture(scope="session")
def maria(mysql_dsn):
    from segdsl.data.engines import connect

    engine = connect(mysql_dsn)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spark_dsn(tmp_path_factory):
    """A DSN for the test session's local Spark session, with a warehouse folder of its
    own; each test that loads data passes its own ``?warehouse=`` (see ``spark_warehouse``)."""
    import shutil

    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = "pyspark is not installed (pip install 'segdsl[spark]')"
    if problem is None and shutil.which("java") is None:
        problem = "no Java on PATH (Spark needs Java 17)"
    if problem is not None:
        if os.environ.get("SEGDSL_REQUIRE_SPARK", "") not in ("", "0"):
            pytest.fail(f"{problem} (SEGDSL_REQUIRE_SPARK is set, so this is a failure, not a skip)")
        pytest.skip(problem)
    from segdsl.data.engines import connect

    dsn = f"spark://local[2]?warehouse={tmp_path_factory.mktemp('spark-warehouse')}"
    connect(dsn).close()  # starts the session, once
    return dsn


@pytest.fixture
def spark_warehouse(spark_dsn, tmp_path):
    """A DSN of the test session's Spark session with an empty warehouse of this test's."""
    return spark_dsn.partition("?")[0] + f"?warehouse={tmp_path / 'warehouse'}"


@pytest.fixture
def duck():
    from segdsl.data.engines import connect

    engine = connect("duckdb::memory:")
    yield engine
    engine.close()


@pytest.fixture
def lite():
    from segdsl.data.engines import connect

    engine = connect("sqlite::memory:")
    yield engine
    engine.close()
