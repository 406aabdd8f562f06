"""The state store's bulk commit: snapshots given as sets or numpy arrays store the same
rows; keys that COPY's text format must escape round-trip on Postgres; events, hashes
and idempotency keys are what the per-key definitions say, on SQLite and Postgres alike;
an unchanged snapshot records nothing and a changed one the exact difference."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import numpy as np
import pytest

from segdsl.lifecycle.state import Snapshot, encode_key, idempotency_key, open_postgres, open_sqlite

DAY = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
AWKWARD = ["tab\there", "new\nline", "cr\rx", "back\\slash", '"quoted"', "é\u00a0", "", "12", "\\N", "a\\tb"]


def day(n: int) -> dt.datetime:
    return DAY + dt.timedelta(days=n)


def reference_members_hash(keys) -> str:
    """The members hash as documented: SHA-256 over the sorted key texts, each + newline."""
    digest = hashlib.sha256()
    for text in sorted(encode_key(k) for k in keys):
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def replay(events) -> set:
    members: set = set()
    for e in events:
        (members.add if e.change == "entered" else members.discard)(e.key)
    return members


def _order(key):
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, tmp_path):
    """A function opening the same store (SQLite file or a fresh Postgres schema)."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        yield lambda: open_sqlite(path, "bulk")
        return
    import psycopg
    from psycopg.conninfo import make_conninfo

    dsn = request.getfixturevalue("pg_dsn")
    schema = f"segdsl_bulk_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield lambda: open_postgres(make_conninfo(dsn, options=f"-c search_path={schema}"), "bulk")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_history_of_awkward_and_integer_keys_is_exact(store_at):
    rng = np.random.default_rng(7)
    ints = rng.choice(np.arange(-5_000, 50_000), size=20_000, replace=False)
    snaps = [
        [*ints[:15_000].tolist(), *AWKWARD[:6]],
        [*ints[5_000:].tolist(), *AWKWARD[3:]],
        [*ints[5_000:].tolist(), *AWKWARD[3:]],  # unchanged: nothing recorded
        [*ints[:10].tolist(), "tab\there"],
    ]
    with store_at() as store:
        for n, keys in enumerate(snaps):
            previous = set(store.members("mixed"))
            (done,) = store.commit(day(n), [Snapshot("mixed", keys, "rule")])
            now = set(keys)
            assert (done.status, done.entered, done.exited) == ("refreshed", len(now - previous), len(previous - now))
            assert done.run.size == len(now) and done.run.members_hash == reference_members_hash(now)
            assert set(store.members("mixed")) == now
            events = [e for e in store.events("mixed") if e.as_of == day(n)]
            # Exits first, then entries, each in key order (integers by value, then text).
            assert [(e.key, e.change) for e in events] == \
                [(k, "exited") for k in sorted(previous - now, key=_order)] + \
                [(k, "entered") for k in sorted(now - previous, key=_order)]
            assert all(e.idempotency_key == idempotency_key("bulk", "mixed", encode_key(e.key), e.change,
                                                            "2026-11-%02dT00:00:00.000000Z" % (n + 1))
                       for e in events)
        assert replay(store.events("mixed")) == set(store.members("mixed"))
        assert [r.entered + r.exited for r in store.runs("mixed")][2] == 0


def test_numpy_array_and_set_snapshots_store_the_same(tmp_path):
    keys = np.array([5, 3, 3, 1_000_000, -2, 7], dtype=np.int64)
    with open_sqlite(tmp_path / "a.db", "p") as a, open_sqlite(tmp_path / "b.db", "p") as b:
        (ra,) = a.commit(DAY, [Snapshot("s", keys, "h")])
        (rb,) = b.commit(DAY, [Snapshot("s", frozenset(keys.tolist()), "h")])
        assert (ra.run.size, ra.entered, ra.run.members_hash) == (rb.run.size, rb.entered, rb.run.members_hash) == \
            (5, 5, reference_members_hash({5, 3, 1_000_000, -2, 7}))
        assert a.members("s") == b.members("s") == {5, 3, 1_000_000, -2, 7}
        assert all(type(k) is int for k in a.members("s"))
        assert [(e.key, e.idempotency_key) for e in a.events("s")] == [(e.key, e.idempotency_key)
                                                                         for e in b.events("s")]
        assert [e.key for e in a.events("s")] == [-2, 3, 5, 7, 1_000_000]
