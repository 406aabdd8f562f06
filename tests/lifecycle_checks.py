"""Invariants of the lifecycle's outputs, checked after crashes, kills and races: a sync
folder's files are one whole set (what its manifest says, exactly), a change feed
replays to the store's members with each change applied once, and no writer left a
temporary file behind."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from pathlib import Path

from segdsl.lifecycle.state import encode_key, members_hash

CHANNEL_FIELDS = {"email": ["key", "email"], "sms": ["key", "phone"], "push": ["key"]}
TEMP = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")

#: A contact schema with a channel per kind of consent, for the sync tests.
CONTACT_SCHEMA = """
entity = "contact"
table = "contacts"
key = "contact_id"
[fields.contact_id]
type = "int"
nullable = false
[fields.email]
type = "text"
[fields.phone]
type = "text"
[fields.email_opt_in]
type = "bool"
[fields.sms_opt_in]
type = "bool"
[fields.push_opt_in]
type = "bool"
[fields.score]
type = "int"
[channels.email]
address = "email"
consent = "email_opt_in"
[channels.sms]
address = "phone"
consent = "sms_opt_in"
[channels.push]
consent = "push_opt_in"
"""


def read_rows(path: Path) -> list[dict]:
    """JSONL or CSV rows (CSV cells as the sync writes them: NULL empty, lists `;`-joined)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(text.splitlines()))


def _key(value):
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) else value


def _channels(row: dict) -> list[str]:
    value = row["channels"]
    return value if isinstance(value, list) else [c for c in value.split(";") if c]


def sync_set(folder: Path) -> dict | None:
    """The manifest of the set published in a segment's sync ``folder``, after checking
    that the contact and channel lists on disk are exactly the set it describes (its
    size, members hash, every list derived from the same contacts, and each file's
    SHA-256 and row count); None when no set is published there yet."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        for pattern in ("contacts.*", "email.*", "sms.*", "push.*"):
            assert not [p for p in folder.glob(pattern) if p.exists()], f"files without a manifest in {folder}"
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = manifest.get("files")
    suffix = Path(next(iter(files))).suffix if files else (".csv" if (folder / "contacts.csv").exists() else ".jsonl")
    contacts = read_rows(folder / f"contacts{suffix}")
    where = f"{folder} (manifest: as_of {manifest['as_of']}, cursor {manifest['cursor']})"
    assert len(contacts) == manifest["size"], f"contacts hold {len(contacts)} rows, the manifest says {manifest['size']}: {where}"
    assert members_hash(encode_key(_key(r["key"])) for r in contacts) == manifest["members_hash"], \
        f"contacts are not the manifest's snapshot: {where}"
    for channel in manifest["channels"]:
        expected = [[str(r[f]) for f in CHANNEL_FIELDS[channel]] for r in contacts if channel in _channels(r)]
        listed = [[str(r[f]) for f in CHANNEL_FIELDS[channel]] for r in read_rows(folder / f"{channel}{suffix}")]
        assert listed == expected, f"the {channel} list is not the contacts' {channel} list: {where}"
    for name, info in (files or {}).items():
        data = (folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"], f"{name} is not the manifest's: {where}"
        assert len(read_rows(folder / name)) == info["rows"]
    return manifest


def leftovers(folder: Path) -> list[str]:
    """Temporary files and directories anywhere under ``folder``."""
    found = []
    for parent, dirs, names in os.walk(folder):
        found += [os.path.join(parent, n) for n in dirs + names if TEMP.fullmatch(n)]
    return found


class Receiver:
    """A messaging service's side: per segment, the members it believes in. With
    ``dedup`` it remembers every idempotency key it has applied."""

    def __init__(self, dedup: bool = True):
        self.dedup = dedup
        self.seen: set[str] = set()
        self.members: dict[str, set] = {}
        self.effects = 0

    def apply(self, change: dict) -> None:
        if self.dedup and change["idempotency_key"] in self.seen:
            return
        self.seen.add(change["idempotency_key"])
        self.effects += 1
        members = self.members.setdefault(change["segment"], set())
        if change["change"] == "entered":
            members.add(_key(change["key"]))
        else:
            members.discard(_key(change["key"]))

    def apply_file(self, path: Path) -> None:
        for change in read_rows(path):
            self.apply(change)
