"""Small generated hospitality projects for the `db load` tests, and a digest of what a
database holds for one."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

from segdsl.backends.sql import storage
from segdsl.data import synth
from segdsl.data.engines import Engine
from segdsl.data.load_record import is_working_name, project_tables

ROOT = Path(__file__).resolve().parent.parent
HOTEL = ROOT / "examples" / "hospitality"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def make_project(root: Path, *, prefix: str | None = None, guests: int = 60, seeds: tuple[int, ...] = (1,)) -> Path:
    """The hospitality example's schema and segments with ``guests`` generated guests:
    its data in ``root/data`` (seed ``seeds[0]``) and each other seed's in
    ``root/data<seed>``. With ``prefix``, every table is named ``prefix.<table>``."""
    root.mkdir(parents=True, exist_ok=True)
    schema = (HOTEL / "schema.toml").read_text(encoding="utf-8")
    if prefix:
        schema = re.sub(r'^table = "(\w+)"', rf'table = "{prefix}.\1"', schema, flags=re.M)
    (root / "schema.toml").write_text(schema, encoding="utf-8")
    shutil.copy(HOTEL / "segments.seg", root / "segments.seg")
    (root / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n', encoding="utf-8")
    for i, seed in enumerate(seeds):
        folder = root / ("data" if i == 0 else f"data{seed}")
        synth.generate("hospitality", folder, n=guests, seed=seed, as_of=AS_OF)
        # The model's scores are not generated: an empty table.
        (folder / "model_scores.csv").write_text("score_id,guest_id,model,score,scored_at\n", encoding="utf-8")
        if prefix:
            for csv in folder.glob("*.csv"):
                csv.rename(csv.with_name(f"{prefix}.{csv.name}"))
    return root


def digest(engine: Engine, schema) -> str:
    """A digest of every row of every table of the project (``missing`` for a table
    that is not there), in key order: two databases holding the same load agree."""
    t = engine.target
    h = hashlib.sha256()
    for name, s in project_tables(schema):
        where, table = storage.table_path(t, name)
        sql, params = storage.list_tables(t, where)
        if table not in {r[0] for r in engine.execute(sql, params)}:
            h.update(f"{name}: missing\n".encode())
            continue
        rows = engine.execute(storage.select_columns(t, name, [f.column for f in s.stored_fields()]))
        h.update(f"{name}: {sorted(map(repr, rows))}\n".encode())
    engine.rollback()  # end the read's transaction: no snapshot or lock outlives the check
    return h.hexdigest()


def leftovers(engine: Engine, schema) -> list[str]:
    """The working tables of unfinished loads in the project's schemas."""
    t = engine.target
    found = []
    for where in {storage.table_path(t, name)[0] for name, _ in project_tables(schema)}:
        sql, params = storage.list_tables(t, where)
        found += [r[0] for r in engine.execute(sql, params) if is_working_name(r[0])]
    engine.rollback()
    return found


def run_cli(args: list[str], out_path: str) -> None:
    """Run ``segdsl ARGS`` in this (child) process, its stdout and stderr to
    ``out_path``, and exit with its exit code: the real command, without a new
    interpreter's start-up."""
    import os
    import sys

    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from segdsl.cli.main import cli

    try:
        cli.main(args=args, prog_name="segdsl")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fresh_database(request, engine: str, tmp_path: Path, prefix: str = "segdsl_load"):
    """A generator for a fixture: the DSN of an empty database on ``engine``: a file for
    DuckDB and SQLite, a new schema on the Postgres of ``pg_dsn``, a new database on
    the MariaDB of ``mysql_dsn``; dropped after."""
    import uuid

    from segdsl.data.engines import connect

    if engine in ("duckdb", "sqlite"):
        yield f"{engine}:{tmp_path / ('crm.' + engine)}"
        return
    base = request.getfixturevalue("pg_dsn" if engine == "postgres" else "mysql_dsn")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    if engine == "postgres":
        server = base.split(" options=")[0]
        with connect(server) as admin:
            admin.execute(f'CREATE SCHEMA "{name}"')
            admin.commit()
        yield f"{server} options='-c search_path={name}'"
        with connect(server) as admin:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
            admin.commit()
        return
    with connect(base) as admin:
        admin.execute(f"CREATE DATABASE `{name}`")
    yield f"{base.rsplit('/', 1)[0]}/{name}"
    with connect(base) as admin:
        admin.execute(f"DROP DATABASE `{name}`")
