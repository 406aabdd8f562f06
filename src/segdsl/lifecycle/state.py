"""Membership state: refresh runs, current snapshots, change events and sync cursors.

One small interface, :class:`Store`, over the same tables in two places: a SQLite file
(the default, ``<project>/.segdsl/state.db``) and Postgres (tables named ``segdsl_*`` in
the connection's search path). Every write is one transaction — a refresh's snapshots,
events and run records together, a sync's cursor (and outbox rows) together — so a
process killed at any instant leaves the old state or the new one, never a mix
(``docs/lifecycle.md`` says how the kill test shows it). Keys are stored as JSON scalar
text (``1001``, ``"ab"``) so int and text keys round-trip without the schema. How the
two engines differ (transactions, row locks, ids, bulk inserts) is read from their
:class:`~segdsl.backends.sql.targets.Target` records.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from segdsl.backends.sql.targets import Target, family_target
from segdsl.ir.semantics import timestamp_text

SCHEMA_VERSION = "1"
CHANGES = ("entered", "exited")
#: Columns of the outbox tables ``--format table`` writes (see :mod:`segdsl.lifecycle.sync`).
CONTACT_COLUMNS = ("key", "email", "phone", "email_opt_in", "sms_opt_in", "push_opt_in", "channels")
CHANGE_COLUMNS = ("idempotency_key", "event_id", "key", "change", "as_of", "email", "phone", "channels")


class StateError(Exception):
    """The store cannot be opened, read or written; the message is for the user."""


# ------------------------------------------------------------------- values


def encode_key(key: Any) -> str:
    """``1001`` or ``"ab"``: JSON scalar text, so the key's type survives the round trip."""
    if type(key) is int:  # the common case, kept fast: a refresh encodes every member
        return str(key)
    if isinstance(key, str):
        return json.dumps(key, ensure_ascii=False)
    if isinstance(key, int) and not isinstance(key, bool):  # numpy and other int subclasses
        return str(int(key))
    raise StateError(f"member keys are integers or text, not {type(key).__name__} ({key!r})")


def decode_key(text: str) -> Any:
    return json.loads(text) if text.startswith('"') else int(text)


def as_of_text(instant: dt.datetime) -> str:
    """Fixed width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so the text order is the time order."""
    if instant.tzinfo is None:
        raise ValueError("as-of instants are timezone-aware")
    return timestamp_text(instant, "T", "Z")


@functools.lru_cache(maxsize=4096)
def parse_as_of_text(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def idempotency_key(project: str, segment: str, key_text: str, change: str, as_of: str) -> str:
    """Deterministic per (project, segment, key, change, as-of): a refresh re-run, or a
    change re-sent, carries the same key, so a receiver applies it once."""
    raw = "\x1f".join(("segdsl-change/1", project, segment, key_text, change, as_of))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def members_hash(key_texts: Iterable[str]) -> str:
    """SHA-256 of the sorted key texts, each followed by a newline."""
    texts = sorted(key_texts)  # linear when already sorted, as a refresh's are
    # One update of the whole text hashes the same bytes as one update per key, ~20× faster.
    return hashlib.sha256(("\n".join(texts) + "\n" if texts else "").encode("utf-8")).hexdigest()


def _idempotency_keys(project: str, segment: str, as_of: str, changes: Iterable[tuple[str, str]]) -> Iterator[str]:
    """:func:`idempotency_key` of each (key text, change), for one segment and as-of:
    the shared prefix is hashed once and copied."""
    prefix = hashlib.sha256("\x1f".join(("segdsl-change/1", project, segment, "")).encode("utf-8"))
    for key_text, change in changes:
        digest = prefix.copy()
        digest.update(f"{key_text}\x1f{change}\x1f{as_of}".encode("utf-8"))
        yield digest.hexdigest()[:32]


def _key_texts(keys: Collection) -> list[str]:
    """The keys' texts, each once, in text order (the members table's key order)."""
    if getattr(keys, "dtype", None) is not None and keys.dtype.kind in "iu":  # a numpy array of integers
        return sorted(set(map(str, keys.tolist())))
    return sorted(set(map(encode_key, keys)))


def _event_order(key_texts: Iterable[str]) -> list[str]:
    """Key texts in the order their events are recorded: integers by value, then text."""
    texts = list(key_texts)
    if not any(t.startswith('"') for t in texts):
        return sorted(texts, key=int)  # integer keys only: the common case, kept fast
    return sorted(texts, key=lambda t: _order(decode_key(t)))


def _now_text() -> str:
    return as_of_text(dt.datetime.now(dt.timezone.utc))


# ------------------------------------------------------------------- records


@attrs.frozen
class Run:
    """One refresh of one segment: the snapshot it stored and the changes it recorded."""

    run_id: int
    segment: str
    as_of: dt.datetime
    size: int
    entered: int
    exited: int
    members_hash: str
    definition_hash: str
    recorded_at: str


@attrs.frozen
class Event:
    event_id: int
    segment: str
    key: Any
    change: str  # "entered" | "exited"
    as_of: dt.datetime
    idempotency_key: str


@attrs.frozen
class Snapshot:
    """What a refresh wants stored for one segment: its member keys (a set, or any
    collection of integer or text keys; repeats count once) and its rule's fingerprint."""

    segment: str
    keys: Collection
    definition_hash: str


@attrs.frozen
class Committed:
    """What happened to one :class:`Snapshot`: ``refreshed`` (a new run), ``already``
    (a run at this as-of exists; nothing written) or ``behind`` (the segment was
    refreshed at a later as-of; history is not rewritten)."""

    segment: str
    status: str
    run: Run | None
    entered: int = 0
    exited: int = 0


@attrs.frozen
class SyncView:
    """A consistent read for one sync: the head run, its members, the consumer's cursor
    and the events after it."""

    head: Run | None
    members: frozenset
    cursor: int
    events: tuple[Event, ...]


# ------------------------------------------------------------------- tables

_RUN_COLUMNS = "run_id, segment, as_of, size, entered, exited, members_hash, definition_hash, recorded_at"


def _ddl(t: Target) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS segdsl_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS segdsl_runs (
            run_id {t.serial_key}, project TEXT NOT NULL, segment TEXT NOT NULL, as_of TEXT NOT NULL,
            size BIGINT NOT NULL, entered BIGINT NOT NULL, exited BIGINT NOT NULL,
            members_hash TEXT NOT NULL, definition_hash TEXT NOT NULL, recorded_at TEXT NOT NULL,
            UNIQUE (project, segment, as_of))""",
        """CREATE TABLE IF NOT EXISTS segdsl_heads (
            project TEXT NOT NULL, segment TEXT NOT NULL, run_id BIGINT, PRIMARY KEY (project, segment))""",
        f"""CREATE TABLE IF NOT EXISTS segdsl_members (
            project TEXT NOT NULL, segment TEXT NOT NULL, key TEXT NOT NULL, since TEXT NOT NULL,
            PRIMARY KEY (project, segment, key)){" WITHOUT ROWID" if t.without_rowid else ""}""",
        f"""CREATE TABLE IF NOT EXISTS segdsl_events (
            event_id {t.serial_key}, project TEXT NOT NULL, segment TEXT NOT NULL, key TEXT NOT NULL,
            change TEXT NOT NULL CHECK (change IN ('entered', 'exited')), as_of TEXT NOT NULL,
            run_id BIGINT NOT NULL, idempotency_key TEXT NOT NULL,
            UNIQUE (project, segment, as_of, key, change))""",
        "CREATE INDEX IF NOT EXISTS segdsl_events_by_segment ON segdsl_events (project, segment, event_id)",
        """CREATE TABLE IF NOT EXISTS segdsl_sync_cursors (
            project TEXT NOT NULL, segment TEXT NOT NULL, consumer TEXT NOT NULL, event_id BIGINT NOT NULL,
            synced_at TEXT NOT NULL, PRIMARY KEY (project, segment, consumer))""",
        """CREATE TABLE IF NOT EXISTS segdsl_sync_contacts (
            consumer TEXT NOT NULL, project TEXT NOT NULL, segment TEXT NOT NULL, key TEXT NOT NULL,
            email TEXT, phone TEXT, email_opt_in BOOLEAN, sms_opt_in BOOLEAN, push_opt_in BOOLEAN,
            channels TEXT NOT NULL, PRIMARY KEY (consumer, project, segment, key))""",
        """CREATE TABLE IF NOT EXISTS segdsl_sync_changes (
            consumer TEXT NOT NULL, idempotency_key TEXT NOT NULL, event_id BIGINT NOT NULL,
            project TEXT NOT NULL, segment TEXT NOT NULL, key TEXT NOT NULL, change TEXT NOT NULL,
            as_of TEXT NOT NULL, email TEXT, phone TEXT, channels TEXT NOT NULL, synced_at TEXT NOT NULL,
            PRIMARY KEY (consumer, idempotency_key))""",
    ]


# ------------------------------------------------------------------- the store


class Store:
    """The membership store of one project (``project`` keeps projects sharing one
    database apart). Use :func:`open_sqlite` / :func:`open_postgres` / :func:`open_store`."""

    def __init__(self, conn: Any, target: Target, project: str, location: str, timeout: float,
                 read_only: bool = False):
        self.conn = conn
        self.target = target
        self.project = project
        self.location = location
        self.timeout = timeout
        #: Opened by :func:`read_store`: every write is refused, here and by the session.
        self.read_only = read_only

    # -- plumbing

    def _sql(self, sql: str) -> str:
        marker = self.target.param_marker
        return sql if marker == "?" else sql.replace("?", marker)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.conn.execute(self._sql(sql), tuple(params))
        return list(cur.fetchall()) if cur.description else []

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self._sql(sql), tuple(params))

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.target.cursors:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), list(rows))
        else:
            self.conn.executemany(sql, rows)

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk insert: COPY on Postgres, executemany on SQLite."""
        if self.target.bulk_load == "copy":
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _bulk(self, table: str, lead: Mapping[str, str | int], columns: Sequence[str],
              rows: Iterable[tuple[str, ...]]) -> None:
        """Bulk insert of many rows of text values sharing the ``lead`` values: on
        Postgres COPY fed with text built a chunk at a time (about a third of the
        client time of psycopg's per-row ``write_row``), on SQLite executemany."""
        names = ", ".join((*lead, *columns))
        if self.target.bulk_load == "copy":
            prefix = "".join(_copy_text(v) + "\t" for v in lead.values())
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for chunk in _batched(rows):
                    copy.write(_copy_chunk(prefix, chunk, len(columns)))
            return
        marks = ", ".join("?" for _ in range(len(lead) + len(columns)))
        first = tuple(lead.values())
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", (first + r for r in rows))

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[None]:
        if write and self.read_only:
            raise StateError(f"the state store {self.location} was opened read-only")
        with self._errors():
            self._run(self.target.begin_write if write else self.target.begin_read)
            try:
                yield
            except BaseException:
                with contextlib.suppress(Exception):
                    self._run("ROLLBACK")
                raise
            self._run("COMMIT")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StateError:
            raise
        except Exception as exc:  # driver errors: sqlite3 / psycopg
            raise _state_error(exc, self.location, self.timeout) from exc

    def _setup(self) -> None:
        with self._transaction():
            if self.target.ddl_lock is not None:
                # CREATE TABLE IF NOT EXISTS races with itself; one creator at a time.
                self._run(self.target.ddl_lock)
            for statement in _ddl(self.target):
                self._run(statement)
            self._run("INSERT INTO segdsl_meta (name, value) VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                      (SCHEMA_VERSION,))
        self._check_version()

    def _exists(self) -> bool:
        """Whether the store's tables exist (they are created together, in one transaction)."""
        with self._errors():
            return bool(self._rows(self.target.find_table, ("segdsl_meta",)))

    def _check_version(self) -> None:
        with self._transaction(write=False):
            rows = self._rows("SELECT value FROM segdsl_meta WHERE name = 'schema_version'")
        version = rows[0][0] if rows else None
        if version != SCHEMA_VERSION:
            raise StateError(f"the state store {self.location} has format {version}; this segdsl reads "
                             f"format {SCHEMA_VERSION} (upgrade segdsl)")

    def remember(self, name: str, value: str, *, replace: bool = False) -> str:
        """The value stored under ``name`` in the store's metadata, storing ``value``
        first if there is none, or in any case with ``replace`` (used to pin a
        project's name to its own store). A read-only store stores nothing."""
        if self.read_only:
            return self.meta(name) or value
        with self._transaction():
            conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
            self._run(f"INSERT INTO segdsl_meta (name, value) VALUES (?, ?) ON CONFLICT (name) {conflict}",
                      (name, value))
            return self._rows("SELECT value FROM segdsl_meta WHERE name = ?", (name,))[0][0]

    def meta(self, name: str) -> str | None:
        """The value stored under ``name`` in the store's metadata, if any."""
        with self._transaction(write=False):
            rows = self._rows("SELECT value FROM segdsl_meta WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def projects(self) -> list[str]:
        """The projects with at least one refresh in this store, by name."""
        with self._transaction(write=False):
            return [p for (p,) in self._rows("SELECT DISTINCT project FROM segdsl_runs ORDER BY project")]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reads

    def _run_row(self, row: tuple) -> Run:
        run_id, segment, as_of, size, entered, exited, mhash, dhash, recorded = row
        return Run(int(run_id), segment, parse_as_of_text(as_of), int(size), int(entered), int(exited),
                   mhash, dhash, recorded)

    def _head(self, segment: str) -> Run | None:
        rows = self._rows(
            f"SELECT {', '.join('r.' + c.strip() for c in _RUN_COLUMNS.split(','))} FROM segdsl_heads h "
            "JOIN segdsl_runs r ON r.run_id = h.run_id WHERE h.project = ? AND h.segment = ?",
            (self.project, segment),
        )
        return self._run_row(rows[0]) if rows else None

    def head(self, segment: str) -> Run | None:
        """The latest run of ``segment``, or None if it was never refreshed."""
        with self._transaction(write=False):
            return self._head(segment)

    def heads(self) -> dict[str, Run]:
        with self._transaction(write=False):
            rows = self._rows(
                f"SELECT {', '.join('r.' + c.strip() for c in _RUN_COLUMNS.split(','))} FROM segdsl_heads h "
                "JOIN segdsl_runs r ON r.run_id = h.run_id WHERE h.project = ?",
                (self.project,),
            )
        return {run.segment: run for run in map(self._run_row, rows)}

    def _members(self, segment: str) -> frozenset:
        rows = self._rows("SELECT key FROM segdsl_members WHERE project = ? AND segment = ?", (self.project, segment))
        return frozenset(decode_key(k) for (k,) in rows)

    def members(self, segment: str) -> frozenset:
        """The keys of the current snapshot (empty if never refreshed)."""
        with self._transaction(write=False):
            return self._members(segment)

    def runs(self, segment: str) -> list[Run]:
        with self._transaction(write=False):
            rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM segdsl_runs WHERE project = ? AND segment = ? "
                              "ORDER BY as_of", (self.project, segment))
        return [self._run_row(r) for r in rows]

    def _events(self, segment: str, after: int) -> tuple[Event, ...]:
        rows = self._rows(
            "SELECT event_id, segment, key, change, as_of, idempotency_key FROM segdsl_events "
            "WHERE project = ? AND segment = ? AND event_id > ? ORDER BY event_id",
            (self.project, segment, after),
        )
        return tuple(Event(int(i), s, decode_key(k), c, parse_as_of_text(a), ik) for i, s, k, c, a, ik in rows)

    def events(self, segment: str, after: int = 0) -> tuple[Event, ...]:
        """The change events of ``segment`` with an id above ``after``, oldest first."""
        with self._transaction(write=False):
            return self._events(segment, after)

    def _cursor(self, segment: str, consumer: str) -> int:
        rows = self._rows("SELECT event_id FROM segdsl_sync_cursors WHERE project = ? AND segment = ? AND consumer = ?",
                          (self.project, segment, consumer))
        return int(rows[0][0]) if rows else 0

    def consumers(self, segment: str) -> list[str]:
        """The receivers that have synced ``segment`` at least once."""
        with self._errors():
            rows = self._rows("SELECT consumer FROM segdsl_sync_cursors WHERE project = ? AND segment = ? "
                              "ORDER BY consumer", (self.project, segment))
        return [r[0] for r in rows]

    def cursor(self, segment: str, consumer: str) -> int:
        with self._transaction(write=False):
            return self._cursor(segment, consumer)

    def sync_view(self, segment: str, consumer: str) -> SyncView:
        """Head, members, cursor and the events after it, from one read snapshot, so the
        contact list and the change feed describe the same state."""
        with self._transaction(write=False):
            cursor = self._cursor(segment, consumer)
            return SyncView(self._head(segment), self._members(segment), cursor, self._events(segment, cursor))

    # -- writes

    def commit(self, as_of: dt.datetime, snapshots: Sequence[Snapshot]) -> list[Committed]:
        """Store every snapshot taken at ``as_of`` and the entered/exited events against
        each segment's previous snapshot, in ONE transaction. A segment already
        refreshed at ``as_of`` is left alone (``already``), so a re-run records nothing
        twice; one refreshed later than ``as_of`` is left alone too (``behind``)."""
        at = as_of_text(as_of)
        recorded = _now_text()
        out: list[Committed] = []
        with self._transaction():
            # Lock the head rows in one order, so concurrent refreshes cannot deadlock.
            for snap in sorted(snapshots, key=lambda s: s.segment):
                self._run("INSERT INTO segdsl_heads (project, segment, run_id) VALUES (?, ?, NULL) "
                          "ON CONFLICT DO NOTHING", (self.project, snap.segment))
                self._rows("SELECT run_id FROM segdsl_heads WHERE project = ? AND segment = ?" + self.target.lock_rows,
                           (self.project, snap.segment))
            for snap in snapshots:
                out.append(self._commit_one(snap, at, recorded))
        return out

    def _commit_one(self, snap: Snapshot, at: str, recorded: str) -> Committed:
        existing = self._rows(f"SELECT {_RUN_COLUMNS} FROM segdsl_runs WHERE project = ? AND segment = ? AND as_of = ?",
                              (self.project, snap.segment, at))
        if existing:
            return Committed(snap.segment, "already", self._run_row(existing[0]))
        head = self._head(snap.segment)
        if head is not None and as_of_text(head.as_of) > at:
            return Committed(snap.segment, "behind", head)
        # The diff runs on key texts: the new snapshot's, sorted (the members table's key
        # order), against the stored one's. An unchanged snapshot (same members hash as
        # the head's) is not read back at all.
        new = _key_texts(snap.keys)
        new_hash = members_hash(new)
        if head is None or head.members_hash == new_hash:
            old: set[str] = set()
            entered = new if head is None else []
        else:
            old = {k for (k,) in self._rows("SELECT key FROM segdsl_members WHERE project = ? AND segment = ?",
                                            (self.project, snap.segment))}
            entered = [k for k in new if k not in old]  # still sorted
        exited = _event_order(old.difference(new))
        del old
        params = (self.project, snap.segment, at, len(new), len(entered), len(exited), new_hash,
                  snap.definition_hash, recorded)
        size = len(new)
        del new
        insert_run = ("INSERT INTO segdsl_runs (project, segment, as_of, size, entered, exited, members_hash, "
                      "definition_hash, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        if self.target.returning:
            run_id = int(self._rows(insert_run + " RETURNING run_id", params)[0][0])
        else:
            run_id = int(self.conn.execute(insert_run, params).lastrowid)
        if exited:
            if self.target.array_params:
                self._run("DELETE FROM segdsl_members WHERE project = ? AND segment = ? AND key = ANY(?)",
                          (self.project, snap.segment, exited))
            else:
                self._many("DELETE FROM segdsl_members WHERE project = ? AND segment = ? AND key = ?",
                           ((self.project, snap.segment, k) for k in exited))
        # Members go in in key order (the primary key's), events in event order.
        self._bulk("segdsl_members", {"project": self.project, "segment": snap.segment, "since": at}, ("key",),
                   ((k,) for k in entered))
        n_entered, n_exited = len(entered), len(exited)
        changes = [(k, "exited") for k in exited]
        del exited
        changes += [(k, "entered") for k in _event_order(entered)]
        del entered
        self._bulk(
            "segdsl_events", {"project": self.project, "segment": snap.segment, "as_of": at, "run_id": run_id},
            ("key", "change", "idempotency_key"),
            ((k, c, ik) for (k, c), ik in zip(changes, _idempotency_keys(self.project, snap.segment, at, changes))),
        )
        del changes
        self._run("UPDATE segdsl_heads SET run_id = ? WHERE project = ? AND segment = ?",
                  (run_id, self.project, snap.segment))
        run = Run(run_id, snap.segment, parse_as_of_text(at), size, n_entered, n_exited,
                  params[6], snap.definition_hash, recorded)
        return Committed(snap.segment, "refreshed", run, n_entered, n_exited)

    def advance_cursor(
        self, segment: str, consumer: str, expected: int, to: int, *,
        contacts: Sequence[Mapping[str, Any]] | None = None, changes: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Move ``consumer``'s cursor for ``segment`` from ``expected`` to ``to`` and,
        for ``--format table``, write the outbox rows in the same transaction: the
        contact list replaces the previous one, changes are added once per idempotency key."""
        synced = _now_text()
        with self._transaction():
            current = self._cursor(segment, consumer)
            if current != expected:
                raise StateError(f"another sync for consumer `{consumer}` moved the cursor of `{segment}` "
                                 f"({expected} → {current}) while this one ran; run sync again")
            if contacts is not None:
                self._run("DELETE FROM segdsl_sync_contacts WHERE consumer = ? AND project = ? AND segment = ?",
                          (consumer, self.project, segment))
                self._copy("segdsl_sync_contacts", ("consumer", "project", "segment", *CONTACT_COLUMNS),
                           ((consumer, self.project, segment, str(c["key"]),
                             *(_cell(c[n]) for n in CONTACT_COLUMNS[1:])) for c in contacts))
            if changes:
                self._many(
                    "INSERT INTO segdsl_sync_changes (consumer, project, segment, "
                    + ", ".join(CHANGE_COLUMNS) + ", synced_at) VALUES (?, ?, ?, "
                    + ", ".join("?" for _ in CHANGE_COLUMNS) + ", ?) ON CONFLICT DO NOTHING",
                    [(consumer, self.project, segment,
                      *(str(c[n]) if n == "key" else _cell(c[n]) for n in CHANGE_COLUMNS), synced)
                     for c in changes],
                )
            self._run("INSERT INTO segdsl_sync_cursors (project, segment, consumer, event_id, synced_at) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, segment, consumer) "
                      "DO UPDATE SET event_id = excluded.event_id, synced_at = excluded.synced_at",
                      (self.project, segment, consumer, to, synced))


def _order(key: Any) -> tuple:
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


def _copy_text(value: str | int) -> str:
    """A value in COPY's text format: backslash, tab, newline and CR escaped."""
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_chunk(prefix: str, rows: Sequence[tuple[str, ...]], width: int) -> str:
    """Rows of ``width`` text values as COPY text lines, each after ``prefix``. Joined
    whole, then checked: only a chunk holding a backslash, CR, or a tab or newline
    inside a value is escaped value by value."""
    body = ("\n" + prefix).join(map("\t".join, rows))
    tabs = len(rows) * (width - 1) + (len(rows) - 1) * prefix.count("\t")
    if "\\" in body or "\r" in body or body.count("\t") != tabs or body.count("\n") != len(rows) - 1:
        body = ("\n" + prefix).join("\t".join(map(_copy_text, row)) for row in rows)
    return prefix + body + "\n" if rows else ""


def _batched(rows: Iterable, size: int = 20_000) -> Iterator[tuple]:
    """Tuples of up to ``size`` rows (``itertools.batched`` from Python 3.12)."""
    it = iter(rows)
    while chunk := tuple(itertools.islice(it, size)):
        yield chunk


def _cell(value: Any) -> Any:
    """An outbox value as stored: lists (channels) as JSON text, the rest as they are."""
    return json.dumps(list(value)) if isinstance(value, (list, tuple)) else value


# ------------------------------------------------------------------- opening


_PG_KEYWORDS = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|service|options|sslmode)\s*=")


def is_postgres_dsn(text: str) -> bool:
    """A Postgres URL (``postgresql://``, ``postgres://``) or keyword string (``host=...``)."""
    return text.startswith(("postgresql://", "postgres://")) or bool(_PG_KEYWORDS.match(text))


def default_timeout() -> float:
    """Seconds to wait for a store another process is writing: the one setting every
    segdsl lock waits by (``SEGDSL_LOCK_TIMEOUT``, :func:`segdsl.data.files.lock_timeout`)."""
    from segdsl.data.files import lock_timeout

    return lock_timeout()


def prepare_state_dir(folder: Path) -> None:
    """Create the project's ``.segdsl/`` with a ``.gitignore`` of ``*``, so the state is
    never committed by accident."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# segdsl state: local to this checkout, never committed\n*\n", encoding="utf-8")
    except OSError as exc:
        raise StateError(f"cannot create the state directory {folder}: {exc.strerror or exc}") from None


def _no_store(location: Any) -> StateError:
    return StateError(f"no state store at {location}; run `segdsl refresh` first")


def _connect_sqlite(path: Path, timeout: float, read_only: bool) -> Any:
    import sqlite3
    import urllib.parse

    # mode=rw opens an existing file and never creates one; isolation_level=None: the
    # transactions are the explicit BEGIN ... COMMIT of Store._transaction.
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode={'rw' if read_only else 'rwc'}"
    try:
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        if read_only and path.exists():  # a file this user may read but not write
            try:
                return sqlite3.connect(uri.replace("mode=rw", "mode=ro"), uri=True, timeout=timeout,
                                       isolation_level=None)
            except sqlite3.Error:
                pass
        raise _state_error(exc, str(path), timeout) from None


def open_sqlite(path: str | Path, project: str, *, create: bool = True, timeout: float | None = None) -> Store:
    path = Path(path)
    timeout = default_timeout() if timeout is None else timeout
    if not create and not path.exists():
        raise _no_store(path)
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state store at {path}: {exc.strerror or exc}") from None
    conn = _connect_sqlite(path, timeout, read_only=False)
    store = Store(conn, family_target("sqlite"), project, str(path), timeout)
    with store._errors():
        # WAL: readers (a sync) never block the writer; FULL: a committed refresh
        # survives power loss too, not only a killed process.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    try:
        store._setup()
    except BaseException:
        store.close()
        raise
    return store


def _connect_postgres(dsn: str, project: str, timeout: float, read_only: bool) -> Store:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - optional dependency
        raise StateError("a Postgres state store needs psycopg: pip install 'segdsl[postgres]'") from None
    try:
        conn = psycopg.connect(dsn, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise StateError(f"cannot connect to Postgres for the state store: {str(exc).strip()}") from None
    store = Store(conn, family_target("postgres"), project, _safe_dsn(dsn), timeout, read_only)
    try:
        with store._errors():
            conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
    except BaseException:
        store.close()
        raise
    return store


def open_postgres(dsn: str, project: str, *, create: bool = True, timeout: float | None = None) -> Store:
    """The store in the first schema of the connection's search path; its tables are
    created unless ``create`` is false (then a missing store is an error)."""
    timeout = default_timeout() if timeout is None else timeout
    store = _connect_postgres(dsn, project, timeout, read_only=False)
    try:
        if not create and not store._exists():
            raise _no_store(store.location)
        store._setup()
    except BaseException:
        store.close()
        raise
    return store


def open_store(location: str | Path, project: str, *, create: bool = True, timeout: float | None = None) -> Store:
    """A Postgres DSN opens the Postgres store; anything else is a SQLite file path."""
    if isinstance(location, str) and is_postgres_dsn(location):
        return open_postgres(location, project, create=create, timeout=timeout)
    return open_sqlite(location, project, create=create, timeout=timeout)


def read_store(location: str | Path, project: str, *, timeout: float | None = None) -> Store | None:
    """The store at ``location`` opened for reading only, or None when there is none
    yet: nothing is created (no file, no table) and the session refuses writes."""
    timeout = default_timeout() if timeout is None else timeout
    if isinstance(location, str) and is_postgres_dsn(location):
        store = _connect_postgres(location, project, timeout, read_only=True)
    else:
        path = Path(location)
        if not path.is_file():
            return None
        store = Store(_connect_sqlite(path, timeout, read_only=True), family_target("sqlite"), project,
                      str(path), timeout, read_only=True)
    try:
        with store._errors():
            store.conn.execute(store.target.read_only_session)
        if not store._exists():
            store.close()
            return None
        store._check_version()
    except BaseException:
        store.close()
        raise
    return store


def shown_location(location: str | Path) -> str:
    """A store's location for messages: a path as it is, a DSN without its password."""
    return _safe_dsn(location) if isinstance(location, str) and is_postgres_dsn(location) else str(location)


def _safe_dsn(dsn: str) -> str:
    """The DSN without a password, for messages."""
    dsn = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", dsn)


def _state_error(exc: Exception, location: str, timeout: float) -> StateError:
    text = str(exc).strip()
    lowered = text.lower()
    if "locked" in lowered or "lock timeout" in lowered or "busy" in lowered:
        return StateError(f"the state store {location} is locked by another segdsl process "
                          f"(waited {timeout:g} s); try again when it has finished")
    if "not a database" in lowered or "malformed" in lowered:
        return StateError(f"{location} is not a usable segdsl state store ({text}); move it aside to start afresh")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered or "disk i/o" in lowered:
        return StateError(f"cannot write the state store at {location}: {text}")
    return StateError(f"state store {location}: {text}")
