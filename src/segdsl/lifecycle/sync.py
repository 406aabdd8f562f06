"""Sync to messaging: per segment, the contact list a messaging service delivers to and
the entered/exited changes since the consumer's last sync, each change with an
idempotency key so a receiver applies it exactly once.

Consent is enforced here, once: a contact is on a channel's list — and its address for
that channel is handed over at all — only when its consent for the channel is TRUE
(never NULL) and, for email and SMS, it has an address. Outputs are JSONL or CSV files
(a segment's lists and manifest published as one set, then the cursor advances) or
rows in the state store's outbox tables (written in the same transaction as the cursor).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from segdsl import ir
from segdsl.data.files import (
    LockTimeout,
    exclusive_lock,
    remove_directory,
    remove_leftovers,
    replace_symlink,
    write_atomic,
    write_directory_atomic,
)
from segdsl.schema.model import Field, Schema
from segdsl.lifecycle.state import Event, StateError, Store

#: The channels a messaging service delivers on, in output order; the schema declares
#: which of them a project has (``[channels.NAME]``: consent and address fields).
CHANNELS = ("email", "sms", "push")
FORMATS = ("jsonl", "csv", "table")
#: The output column holding each channel's address.
_ADDRESS_COLUMN = {"email": "email", "sms": "phone"}


class SyncError(Exception):
    """A problem with the channels or the contact data; the message is for the user."""


# ------------------------------------------------------------------- channels


@attrs.frozen
class Channel:
    name: str
    consent: Field
    address: Field | None


def project_channels(schema: Schema) -> dict[str, Channel]:
    """The channels this project can sync: those of email, SMS and push its schema
    declares (``[channels.NAME]`` in schema.toml, the declarations journeys use too)."""
    out = {}
    for name in CHANNELS:
        declared = schema.channels.get(name)
        if declared is None:
            continue
        address = schema.fields[declared.address] if declared.address else None
        out[name] = Channel(name, schema.fields[declared.consent], address)
    return out


# ------------------------------------------------------------------- contacts


@attrs.frozen
class Contact:
    """One entity's channel data: addresses, consent per channel (True/False/None) and
    the channels it may be messaged on."""

    key: Any
    email: str | None
    phone: str | None
    consent: Mapping[str, bool | None]
    channels: tuple[str, ...]


def _eligible(channel: Channel, consent: bool | None, address: str | None) -> bool:
    """TRUE consent (never NULL) and, where the channel has an address field, an address."""
    if consent is not True:
        return False
    return channel.address is None or bool(address and address.strip())


def load_contacts(
    schema: Schema, channels: Mapping[str, Channel], as_of: dt.datetime, *,
    data_dir: Path | None = None, dsn: str | None = None,
) -> dict[Any, Contact]:
    """Every entity's :class:`Contact` from the profile at ``as_of`` (consent fields are
    often traits, e.g. the latest consent decision per channel)."""
    if dsn is not None:
        consent, addresses = _attributes_on_database(schema, channels, as_of, dsn)
    else:
        if data_dir is None:
            raise StateError("no data to read contacts from: pass --data DIR or --dsn URL")
        consent, addresses = _attributes_in_memory(schema, channels, as_of, data_dir)
    out = {}
    for key, (email, phone) in addresses.items():
        flags = {name: consent[name].get(key) for name in channels}
        addr = {"email": email, "sms": phone, "push": None}
        eligible = tuple(n for n in CHANNELS if n in channels and _eligible(channels[n], flags[n], addr[n]))
        out[key] = Contact(key, email, phone, flags, eligible)
    return out


def _attributes_in_memory(schema, channels, as_of, data_dir):
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import load_profile

    rules = [ir.IsTrue(c.consent) for c in channels.values()]
    rules += [ir.IsNull(c.address) for c in channels.values() if c.address is not None]
    table = load_profile(schema, data_dir, rules, as_of)
    keys = table.columns[schema.key.column].values.tolist()
    consent = {}
    for name, c in channels.items():
        true = evaluate(ir.IsTrue(c.consent), table, as_of)
        false = evaluate(ir.Not(ir.IsTrue(c.consent)), table, as_of)
        consent[name] = {k: (True if t else False if f else None) for k, t, f in zip(keys, true.tolist(), false.tolist())}

    def texts(channel: str) -> list:
        c = channels.get(channel)
        if c is None or c.address is None:
            return [None] * len(keys)
        col = table.columns[c.address.column]
        return [v if ok else None for v, ok in zip(col.values.tolist(), col.valid.tolist())]

    return consent, dict(zip(keys, zip(texts("email"), texts("sms"))))


def _attributes_on_database(schema, channels, as_of, dsn):
    from segdsl.backends.sql import compile_rule
    from segdsl.backends.sql.storage import select_columns
    from segdsl.data.engines import fetch_keys
    from segdsl.data.loading import open_loaded

    with open_loaded(dsn, schema) as engine:
        def keys(rule: ir.Node) -> set:
            compiled = compile_rule(rule, schema, target=engine.dialect, form="select", as_of=as_of,
                                    params=engine.binds_named_params)
            if not compiled.ok:
                raise SyncError(compiled.diagnostics[0].message)
            return set(fetch_keys(engine, compiled.sql, compiled.params))

        consent = {}
        for name, c in channels.items():
            true, false = keys(ir.IsTrue(c.consent)), keys(ir.Not(ir.IsTrue(c.consent)))
            consent[name] = {**{k: True for k in true}, **{k: False for k in false}}
        columns = [schema.key.column]
        for name in ("email", "sms"):
            c = channels.get(name)
            address = c.address if c is not None else None
            if address is not None and not address.stored:
                raise SyncError(f"the {name} address `{address.name}` is computed; on a database it must be a "
                                f"column of `{schema.table}`")
            columns.append(address.column if address is not None else None)
        rows = engine.execute(select_columns(engine.target, schema.table, columns))
    return consent, {row[0]: (row[1], row[2]) for row in rows}


def contact_row(key: Any, contact: Contact | None, selected: Collection[str]) -> dict[str, Any]:
    """The contact as the messaging service sees it: an address only for a channel the
    contact may be messaged on (and that this sync covers), every consent flag."""
    eligible = [n for n in CHANNELS if n in selected and contact is not None and n in contact.channels]
    flags = contact.consent if contact is not None else {}
    return {
        "key": key,
        "email": contact.email if "email" in eligible else None,
        "phone": contact.phone if "sms" in eligible else None,
        "email_opt_in": flags.get("email"),
        "sms_opt_in": flags.get("sms"),
        "push_opt_in": flags.get("push"),
        "channels": eligible,
    }


def change_row(project: str, event: Event, contact: Contact | None, selected: Collection[str]) -> dict[str, Any]:
    """One change for the receiver; an entered contact carries its consented addresses."""
    contact_part = contact_row(event.key, contact if event.change == "entered" else None, selected)
    return {
        "idempotency_key": event.idempotency_key,
        "event_id": event.event_id,
        "project": project,
        "segment": event.segment,
        "key": event.key,
        "change": event.change,
        "as_of": stamp(event.as_of),
        "email": contact_part["email"],
        "phone": contact_part["phone"],
        "channels": contact_part["channels"],
    }


# ------------------------------------------------------------------- sync


@attrs.frozen
class SyncResult:
    segment: str
    status: str  # synced | never refreshed
    as_of: dt.datetime | None = None
    size: int = 0
    entered: int = 0
    exited: int = 0
    cursor: int = 0
    lists: Mapping[str, int] = attrs.Factory(dict)
    files: tuple[str, ...] = ()


def sync(
    store: Store, segments: Sequence[ir.Segment], schema: Schema, channels: Mapping[str, Channel], *,
    selected: Collection[str], consumer: str = "messaging", fmt: str = "jsonl", out_dir: Path | None = None,
    data_dir: Path | None = None, dsn: str | None = None,
) -> list[SyncResult]:
    """Write each segment's contact list and its changes since ``consumer``'s cursor,
    then advance the cursor. A segment's files change as one set (see
    :func:`_publish`), and before the cursor moves, so a crash in between re-sends those
    changes next time, with the same idempotency keys. One sync at a time writes a
    folder: another waits for it (``SEGDSL_LOCK_TIMEOUT`` seconds), then gives up."""
    if fmt not in FORMATS:
        raise SyncError(f"unknown format `{fmt}`; use one of {', '.join(FORMATS)}")
    if fmt == "table":
        return _sync(store, segments, schema, channels, selected, consumer, fmt, None, data_dir, dsn)
    if out_dir is None:
        raise SyncError("no output directory")
    with _folder_lock(out_dir, store.timeout):
        return _sync(store, segments, schema, channels, selected, consumer, fmt, out_dir, data_dir, dsn)


@contextlib.contextmanager
def _folder_lock(out_dir: Path, timeout: float) -> Iterator[None]:
    lock = exclusive_lock(out_dir / LOCK_FILE, timeout)
    try:
        lock.__enter__()
    except LockTimeout:
        raise SyncError(f"the sync folder {out_dir} is being written by another segdsl sync (waited "
                        f"{timeout:g} s); try again when it has finished") from None
    except OSError as exc:  # the folder or its lock file cannot be made
        raise StateError(f"cannot write sync output in {out_dir}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _sync(store, segments, schema, channels, selected, consumer, fmt, out_dir, data_dir, dsn) -> list[SyncResult]:
    views = {s.name: store.sync_view(s.name, consumer) for s in segments}
    contacts_at: dict[dt.datetime, dict[Any, Contact]] = {}
    for view in views.values():
        if view.head is not None and view.head.as_of not in contacts_at:
            contacts_at[view.head.as_of] = load_contacts(schema, channels, view.head.as_of, data_dir=data_dir, dsn=dsn)
    results = []
    for seg in segments:
        view = views[seg.name]
        if view.head is None:
            results.append(SyncResult(seg.name, "never refreshed"))
            continue
        contacts = contacts_at[view.head.as_of]
        members = sorted(view.members, key=_order)
        rows = [contact_row(k, contacts.get(k), selected) for k in members]
        changes = [change_row(store.project, e, contacts.get(e.key), selected) for e in view.events]
        to = view.events[-1].event_id if view.events else view.cursor
        lists = {n: sum(1 for r in rows if n in r["channels"]) for n in CHANNELS if n in selected}
        files: list[str] = []
        if fmt == "table":
            store.advance_cursor(seg.name, consumer, view.cursor, to, contacts=rows, changes=changes)
        else:
            folder = out_dir / seg.name
            files = _publish(folder, fmt, rows, changes, selected, {
                "project": store.project, "segment": seg.name, "consumer": consumer,
                "as_of": stamp(view.head.as_of), "size": view.head.size,
                "members_hash": view.head.members_hash, "cursor": to, "channels": sorted(selected, key=CHANNELS.index),
            })
            store.advance_cursor(seg.name, consumer, view.cursor, to)
            _prune(folder)
        results.append(SyncResult(
            seg.name, "synced", view.head.as_of, view.head.size,
            sum(e.change == "entered" for e in view.events), sum(e.change == "exited" for e in view.events),
            to, lists, tuple(files),
        ))
    return results


def stamp(instant: dt.datetime) -> str:
    """An instant as ISO 8601 UTC text with a ``Z``, as the CLI prints it."""
    return instant.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _order(key: Any) -> tuple:
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


# ------------------------------------------------------------------- files


#: The lock file in a sync folder (``--out``): one sync writes the folder at a time.
LOCK_FILE = ".segdsl-sync.lock"
#: Snapshot directories a segment's folder keeps: the current one and the two before
#: it, so a reader that resolved ``current`` just before a switch can still finish.
KEEP_SNAPSHOTS = 3


def _publish(folder: Path, fmt: str, rows, changes, selected, manifest) -> list[str]:
    """Write one segment's sync output in ``folder`` (the caller holds the folder's lock):

    1. leftovers of a sync killed here before are removed (temporary files, half
       written snapshot directories);
    2. the change batch ``changes/<first>-<last>.<fmt>`` is written atomically;
    3. the contact list, the channel lists and ``manifest.json`` (naming each file with
       its SHA-256 and row count) are written as a new directory
       ``snapshots/<n>/``, whole or not at all;
    4. ``current`` is switched to it in one rename: this is the instant the new set
       appears. ``contacts.<fmt>``, ``<channel>.<fmt>`` and ``manifest.json`` in
       ``folder`` are links through ``current``, so they change together with it.

    A crash before step 4 leaves the previous set in place, whole."""
    snapshots = folder / "snapshots"
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for place in (folder, folder / "changes", snapshots):
            remove_leftovers(place)
        batch = None
        if changes:
            batch = f"changes/{changes[0]['event_id']:012d}-{changes[-1]['event_id']:012d}.{fmt}"
            written.append(write_atomic(folder / batch, _encode(fmt, changes, _CHANGE_FIELDS)))
        contents = {f"contacts.{fmt}": (_encode(fmt, rows, _CONTACT_FIELDS), len(rows))}
        for channel in CHANNELS:
            if channel not in selected:
                continue
            fields = ["key"] + ([_ADDRESS_COLUMN[channel]] if channel in _ADDRESS_COLUMN else [])
            listed = [{f: r[f] for f in fields} for r in rows if channel in r["channels"]]
            contents[f"{channel}.{fmt}"] = (_encode(fmt, listed, fields), len(listed))
        number = f"{_last_snapshot(snapshots) + 1:012d}"
        manifest = {
            **manifest, "synced_at": stamp(dt.datetime.now(dt.timezone.utc)), "snapshot": f"snapshots/{number}",
            "changes": batch,
            "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "rows": n}
                      for name, (data, n) in contents.items()},
        }
        files = {name: data for name, (data, _) in contents.items()}
        files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        write_directory_atomic(snapshots / number, files)
        legacy = folder / "manifest.json"
        if legacy.exists() and not legacy.is_symlink():
            # A folder an older segdsl wrote holds plain files: its manifest goes first,
            # so no manifest describes a mix while they become links.
            legacy.unlink()
        for name in files:
            link = folder / name
            if not (link.is_symlink() and os.readlink(link) == f"current/{name}"):
                replace_symlink(link, f"current/{name}")
        replace_symlink(folder / "current", f"snapshots/{number}")
        for entry in os.scandir(folder):
            # Links to files the new snapshot does not have (another format or channel).
            if entry.is_symlink() and entry.name not in files and os.readlink(entry.path).startswith("current/"):
                os.unlink(entry.path)
    except OSError as exc:
        raise StateError(f"cannot write sync output in {folder}: {exc.strerror or exc}") from None
    return written + [str(folder / name) for name in files]


def _last_snapshot(snapshots: Path) -> int:
    try:
        return max((int(e.name) for e in os.scandir(snapshots) if e.name.isdigit()), default=0)
    except FileNotFoundError:
        return 0


def _prune(folder: Path) -> None:
    """Keep the newest :data:`KEEP_SNAPSHOTS` snapshot directories (and always the
    current one)."""
    snapshots = folder / "snapshots"
    try:
        current = os.path.basename(os.readlink(folder / "current"))
        numbered = sorted((e.name for e in os.scandir(snapshots) if e.name.isdigit()), key=int)
        for name in numbered[:-KEEP_SNAPSHOTS]:
            if name == current:
                continue
            remove_directory(snapshots / name)
    except OSError as exc:
        raise StateError(f"cannot remove old sync snapshots in {snapshots}: {exc.strerror or exc}") from None


_CONTACT_FIELDS = ["key", "email", "phone", "email_opt_in", "sms_opt_in", "push_opt_in", "channels"]
_CHANGE_FIELDS = ["idempotency_key", "event_id", "project", "segment", "key", "change", "as_of",
                  "email", "phone", "channels"]


def _encode(fmt: str, rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps({f: r[f] for f in fields}, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for r in rows:
        writer.writerow([_csv_cell(r[f]) for f in fields])
    return buf.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    return str(value)


