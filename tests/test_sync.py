"""Sync to messaging: contact lists that respect consent per channel, change feeds that
are exactly the entered/exited events since the last sync, and a receiver that applies
them exactly once thanks to the idempotency keys — also after a crash between writing
the files and advancing the cursor."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import test_refresh as common
from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle_checks import CONTACT_SCHEMA as SCHEMA
from lifecycle_checks import Receiver, leftovers, sync_set
from test_refresh import ROOT, day, name_project, refresh_json, seg_files

from example_projects import copy_example
from segdsl import ir
from segdsl.data.tables import write_csv
from segdsl.backends.memory.columnar import member_keys
from segdsl.backends.memory.profile import load_profile
from segdsl.project.workspace import load_workspace
from segdsl.lifecycle.refresh import refresh
from segdsl.lifecycle.state import StateError, Store, open_postgres, open_sqlite
from segdsl.lifecycle.sync import project_channels, stamp, sync


@pytest.fixture
def segdsl(monkeypatch):
    return common.make_runner(monkeypatch)


@pytest.fixture
def hotel(tmp_path) -> Path:
    return common.make_hotel(tmp_path)


@pytest.fixture
def pg_state(pg_dsn):
    with common.fresh_pg_schema(pg_dsn) as dsn:
        yield dsn


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def change_files(folder: Path) -> list[Path]:
    return sorted((folder / "changes").glob("*.jsonl")) if (folder / "changes").exists() else []


# ------------------------------------------------------------------- consent, property



SEGMENTS = """
segment scored { refresh daily where score >= 50 }
segment everyone { refresh daily where score >= 0 or score is null }
"""

contacts = st.lists(
    st.fixed_dictionaries({
        "email": st.sampled_from([None, "", " ", "a@example.com", "B@Example.org", "x@y.z"]),
        "phone": st.sampled_from([None, "", "+911234567890", "+441234"]),
        "email_opt_in": st.sampled_from([None, True, False]),
        "sms_opt_in": st.sampled_from([None, True, False]),
        "push_opt_in": st.sampled_from([None, True, False]),
        "score": st.one_of(st.none(), st.integers(0, 100)),
    }),
    max_size=40,
)


@settings(max_examples=40)
@given(rows=contacts, rows_later=contacts, channels=st.sets(st.sampled_from(["email", "sms", "push"]), min_size=1))
def test_consent_is_enforced_on_every_list(rows, rows_later, channels):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "schema.toml").write_text(SCHEMA)
        (folder / "segdsl.toml").write_text('schema = "schema.toml"\ndata = "data"\n')
        (folder / "segments.seg").write_text(SEGMENTS)
        (folder / "data").mkdir()
        ws = load_workspace([folder / "segments.seg"])
        assert ws.ok, ws.diagnostics
        available = project_channels(ws.schema)
        assert set(available) == {"email", "sms", "push"}
        out = folder / "out"
        with open_sqlite(folder / "state.db", "p") as store:
            for n, batch in enumerate((rows, rows_later)):
                records = [{"contact_id": i + 1, **r} for i, r in enumerate(batch)]
                write_csv(ws.schema, records, folder / "data" / "contacts.csv")
                refresh(store, ws.requested_segments(), ws.schema, day(n), data_dir=folder / "data")
                before = {p for seg in ("scored", "everyone") for p in change_files(out / seg)}
                sync(store, ws.requested_segments(), ws.schema, available, selected=channels, out_dir=out,
                     data_dir=folder / "data")
                by_key = {rec["contact_id"]: rec for rec in records}
                for seg in ("scored", "everyone"):
                    members = set(store.members(seg))
                    _check_lists(out / seg, members, by_key, channels)
                    for batch in set(change_files(out / seg)) - before:  # written by this sync
                        for change in read_jsonl(batch):
                            _check_addresses(change, by_key.get(change["key"]))


def _ok(rec, channel) -> bool:
    if rec is None or rec[f"{channel}_opt_in"] is not True:
        return False
    address = {"email": rec["email"], "sms": rec["phone"], "push": "-"}[channel]
    return bool(address and address.strip())


def _check_lists(folder: Path, members: set, by_key: dict, channels: set) -> None:
    for channel in ("email", "sms", "push"):
        path = folder / f"{channel}.jsonl"
        if channel not in channels:
            assert not path.exists()
            continue
        listed = read_jsonl(path)
        assert {r["key"] for r in listed} == {k for k in members if _ok(by_key.get(k), channel)}
        for r in listed:
            if channel == "email":
                assert r["email"] == by_key[r["key"]]["email"]
            if channel == "sms":
                assert r["phone"] == by_key[r["key"]]["phone"]
    contacts_rows = read_jsonl(folder / "contacts.jsonl")
    assert {r["key"] for r in contacts_rows} == members
    for r in contacts_rows:
        _check_addresses(r, by_key.get(r["key"]))
        assert set(r["channels"]) <= channels


def _check_addresses(row: dict, rec) -> None:
    """An address leaves only with TRUE consent for its channel."""
    if row["email"] is not None:
        assert rec["email_opt_in"] is True and row["email"].strip()
    if row["phone"] is not None:
        assert rec["sms_opt_in"] is True and row["phone"].strip()
    for channel in row["channels"]:
        assert _ok(rec, channel)


def test_hospitality_email_lists_only_hold_email_subscribers(segdsl, hotel):
    """Consent here is a trait (the latest decision per channel, from `consents`)."""
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01", "--all")
    segdsl("sync", *seg_files(hotel))
    ws = load_workspace([hotel / "segments.seg"])
    subscribers = ws.segments["email_subscribers"]
    sms_rule = ir.And((ir.IsTrue(ws.schema.fields["sms_opt_in"]), ir.Not(ir.IsNull(ws.schema.fields["phone"]))))
    table = load_profile(ws.schema, ws.project.data_dir, [subscribers.rule, sms_rule], day(0))
    may_email = set(member_keys(subscribers.rule, table, day(0)))
    may_text = set(member_keys(sms_rule, table, day(0)))
    out = hotel / ".segdsl" / "sync" / "messaging"
    for name in ws.segments:
        emails = {r["key"] for r in read_jsonl(out / name / "email.jsonl")}
        texts = {r["key"] for r in read_jsonl(out / name / "sms.jsonl")}
        members = {r["key"] for r in read_jsonl(out / name / "contacts.jsonl")}
        assert emails == members & may_email
        assert texts == members & may_text
    everyone = {r["key"] for r in read_jsonl(out / "email_subscribers" / "email.jsonl")}
    assert everyone == may_email and len(everyone) > 1000


def test_a_schema_without_channels_syncs_no_addresses(segdsl, hotel):
    schema = hotel / "schema.toml"
    text = schema.read_text()
    schema.write_text(text[: text.index("[channels.email]")])
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    segdsl("sync", hotel / "segments.seg")
    out = hotel / ".segdsl" / "sync" / "messaging" / "high_value"
    rows = read_jsonl(out / "contacts.jsonl")
    assert rows and all(r["email"] is None and r["phone"] is None and r["channels"] == [] for r in rows)
    assert not (out / "email.jsonl").exists()
    assert "declares no email channel" in segdsl("sync", hotel / "segments.seg", "--channel", "email", code=2).output


def test_golf_maps_its_own_consent_fields_and_has_no_push(segdsl, tmp_path):
    folder = tmp_path / "golf"
    copy_example(folder, "golf")
    (folder / "segdsl.toml").write_text(f'schema = "schema.toml"\ndata = "{(ROOT / "seeds" / "golf").as_posix()}"\n')
    ws = load_workspace(sorted(folder.glob("*.seg")))
    channels = project_channels(ws.schema)
    assert {n: c.consent.name for n, c in channels.items()} == {"email": "email_opt_in", "sms": "sms_consent"}
    files = sorted(str(p) for p in folder.glob("*.seg"))
    segdsl("refresh", *files, "--as-of", "2026-11-01")
    out = segdsl("sync", *files, "--channel", "push", code=2).output
    assert "declares no push channel" in out and "[channels.push]" in out
    segdsl("sync", *files, "--channel", "sms", "--format", "csv")
    some = next((folder / ".segdsl" / "sync" / "messaging").iterdir())
    assert (some / "sms.csv").exists() and not (some / "email.csv").exists()
    rows = list(csv.DictReader(io.StringIO((some / "contacts.csv").read_text())))
    assert all(r["email"] == "" for r in rows)  # the email channel was not synced: no addresses
    assert any(r["email_opt_in"] == "true" for r in rows)  # its consent flag is still given
    assert all(r["phone"] == "" or r["sms_opt_in"] == "true" for r in rows)


# ------------------------------------------------------------------- the change feed


def test_changes_are_exactly_the_events_since_the_last_sync(segdsl, hotel):
    files = seg_files(hotel)
    out = hotel / ".segdsl" / "sync" / "messaging"
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    first = {r["segment"]: r for r in json.loads(segdsl("sync", *files, "--report", "json").stdout)["segments"]}
    assert first["high_value"]["entered"] == first["high_value"]["size"] and first["high_value"]["exited"] == 0
    (batch1,) = change_files(out / "high_value")
    recorded = {}
    for d in range(1, 10):
        for name, row in refresh_json(segdsl, hotel, "--as-of", day(d).date().isoformat()).items():
            recorded.setdefault(name, [0, 0])
            recorded[name][0] += row["entered"]
            recorded[name][1] += row["exited"]
    second = {r["segment"]: r for r in json.loads(segdsl("sync", *files, "--report", "json").stdout)["segments"]}
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        for name, (entered, exited) in recorded.items():
            if second[name]["status"] != "synced":
                continue
            assert (second[name]["entered"], second[name]["exited"]) == (entered, exited)
            batches = change_files(out / name)
            feed = [c for b in batches[1:] for c in read_jsonl(b)] if len(batches) > 1 else []
            if entered + exited == 0:
                assert len(batches) == 1
            events = [e for e in store.events(name) if e.as_of > day(0)]
            assert [(c["event_id"], c["key"], c["change"], c["idempotency_key"]) for c in feed] == \
                [(e.event_id, e.key, e.change, e.idempotency_key) for e in events]
    assert second["high_value"]["exited"] > 0
    # Nothing new: no new batch, nothing counted, the cursor stays.
    third = {r["segment"]: r for r in json.loads(segdsl("sync", *files, "--report", "json").stdout)["segments"]}
    assert all(r["entered"] == r["exited"] == 0 for r in third.values())
    assert all(third[n]["cursor"] == second[n]["cursor"] for n in third)
    assert len(change_files(out / "high_value")) == 2 and batch1.exists()


def test_receiver_applies_each_change_exactly_once(segdsl, hotel):
    files = seg_files(hotel)
    out = hotel / ".segdsl" / "sync" / "messaging"
    for d in (0, 3, 9, 20):
        refresh_json(segdsl, hotel, "--as-of", day(d).date().isoformat())
        segdsl("sync", *files)
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        truth = {n: set(store.members(n)) for n in ("high_value", "lapsed", "active_members")}
        n_events = {n: len(store.events(n)) for n in truth}
    for name in truth:
        batches = change_files(out / name)
        assert len(batches) >= 3
        once, twice = Receiver(), Receiver()
        for b in batches:
            once.apply_file(b)
        # At-least-once delivery: everything again, then the first batch once more, late.
        deliveries = batches + batches[::-1] + [batches[0]]
        for b in deliveries:
            twice.apply_file(b)
        assert once.members.get(name, set()) == twice.members.get(name, set()) == truth[name]
        assert once.effects == twice.effects == n_events[name]
        naive = Receiver(dedup=False)
        for b in deliveries:
            naive.apply_file(b)
        if {c["key"] for c in read_jsonl(batches[0])} - truth[name]:
            # Without the keys, the late batch brings back guests who have left.
            assert naive.members[name] != truth[name]


def test_crash_between_files_and_cursor_resends_with_the_same_keys(hotel, monkeypatch):
    ws = load_workspace(seg_files(hotel))
    hv = ws.segments["high_value"]
    channels = project_channels(ws.schema)
    out = hotel / "out"

    def run_sync(store):
        sync(store, [hv], ws.schema, channels, selected=set(channels), out_dir=out, data_dir=ws.project.data_dir)

    with open_sqlite(hotel / "state.db", "hotel") as store:
        refresh(store, [hv], ws.schema, day(0), data_dir=ws.project.data_dir)
        run_sync(store)
        (first,) = change_files(out / "high_value")
        refresh(store, [hv], ws.schema, day(30), data_dir=ws.project.data_dir)

        def crash(*args, **kwargs):
            raise StateError("simulated crash after the files were written")

        with monkeypatch.context() as m:
            m.setattr(Store, "advance_cursor", crash)
            with pytest.raises(StateError):
                run_sync(store)
        (crashed_file,) = set(change_files(out / "high_value")) - {first}
        crashed = read_jsonl(crashed_file)
        assert crashed and store.cursor("high_value", "messaging") < crashed[0]["event_id"]
        refresh(store, [hv], ws.schema, day(60), data_dir=ws.project.data_dir)
        run_sync(store)
        batches = change_files(out / "high_value")
        resent = read_jsonl(batches[-1])
        ident = [(c["idempotency_key"], c["event_id"], c["key"], c["change"]) for c in crashed]
        # Re-sent from the same cursor with the same idempotency keys (plus what is newer).
        assert [(c["idempotency_key"], c["event_id"], c["key"], c["change"]) for c in resent][: len(ident)] == ident
        assert len(resent) > len(crashed)
        receiver = Receiver()
        for b in batches:
            receiver.apply_file(b)
        assert receiver.members["high_value"] == set(store.members("high_value"))
        assert receiver.effects == len(store.events("high_value"))
        assert store.cursor("high_value", "messaging") == store.events("high_value")[-1].event_id


class Crash(BaseException):
    """A process dying at this point (not an error anything may handle)."""


def test_a_crash_at_any_write_leaves_one_whole_set(hotel, monkeypatch):
    """Killed at its k-th fsync, for every k, sync leaves the segment's files as the
    previous whole set or the new one — the manifest describes exactly the contact and
    channel lists beside it — and the next sync completes and leaves no temporary file."""
    ws = load_workspace(seg_files(hotel))
    hv = ws.segments["high_value"]
    channels = project_channels(ws.schema)
    out = hotel / "out"
    folder = out / "high_value"
    real_fsync = os.fsync

    with open_sqlite(hotel / "state.db", "hotel") as store:
        def run_sync(fmt):
            sync(store, [hv], ws.schema, channels, selected=set(channels), fmt=fmt, out_dir=out,
                 data_dir=ws.project.data_dir)

        for fmt, (old, new) in (("jsonl", (0, 30)), ("csv", (60, 90))):
            refresh(store, [hv], ws.schema, day(old), data_dir=ws.project.data_dir)
            run_sync(fmt)
            before = sync_set(folder)
            refresh(store, [hv], ws.schema, day(new), data_dir=ws.project.data_dir)
            outcomes = set()
            for k in range(1, 100):
                calls = iter(range(1, 10_000))

                def fsync(fd):
                    if next(calls) == k:
                        raise Crash(f"killed at fsync {k}")
                    real_fsync(fd)

                with monkeypatch.context() as m:
                    m.setattr(os, "fsync", fsync)
                    try:
                        run_sync(fmt)
                        done = True
                    except Crash:
                        done = False
                manifest = sync_set(folder)
                assert manifest is not None
                outcomes.add(manifest["as_of"])
                assert manifest["as_of"] in (before["as_of"], stamp(day(new)))
                if done:
                    break
            assert outcomes == {before["as_of"], stamp(day(new))} and manifest["as_of"] == stamp(day(new))
            assert not leftovers(out)
            assert len(list((folder / "snapshots").iterdir())) <= 3
    # Delivered exactly once by key, whatever was re-sent.
    receiver = Receiver()
    for batch in sorted((folder / "changes").iterdir()):
        receiver.apply_file(batch)
    with open_sqlite(hotel / "state.db", "hotel") as store:
        assert receiver.members["high_value"] == set(store.members("high_value"))
        assert receiver.effects == len(store.events("high_value"))


def test_a_folder_of_plain_files_becomes_one_set(segdsl, hotel):
    """A folder an older segdsl wrote (plain files, rewritten one by one) is converted
    on the next sync: every list is a link through `current`, nothing is left over."""
    files = seg_files(hotel)
    folder = hotel / ".segdsl" / "sync" / "messaging" / "high_value"
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    segdsl("sync", *files, "--segment", "high_value")
    for name in ("contacts.jsonl", "email.jsonl", "sms.jsonl", "push.jsonl", "manifest.json"):
        data = (folder / name).read_bytes()
        (folder / name).unlink()
        (folder / name).write_bytes(data)
    shutil.rmtree(folder / "snapshots")
    (folder / "current").unlink()
    (folder / "stale.jsonl").symlink_to("current/stale.jsonl")
    refresh_json(segdsl, hotel, "--as-of", "2026-11-09")
    segdsl("sync", *files, "--segment", "high_value")
    assert sync_set(folder)["as_of"] == "2026-11-09T00:00:00Z"
    assert sorted(p.name for p in folder.iterdir() if not p.is_symlink()) == ["changes", "snapshots"]
    assert sorted(p.name for p in folder.iterdir() if p.is_symlink()) == [
        "contacts.jsonl", "current", "email.jsonl", "manifest.json", "push.jsonl", "sms.jsonl"]


def test_outbox_tables_are_written_with_the_cursor(segdsl, hotel):
    files = seg_files(hotel)
    refresh_json(segdsl, hotel, "--as-of", "2026-11-01")
    segdsl("sync", *files, "--format", "table")
    refresh_json(segdsl, hotel, "--as-of", "2026-11-09")
    segdsl("sync", *files, "--format", "table")
    segdsl("sync", *files, "--format", "table")
    with open_sqlite(hotel / ".segdsl" / "state.db", "hotel") as store:
        changes = store._rows("SELECT segment, idempotency_key, email, change FROM segdsl_sync_changes")
        events = store._rows("SELECT segment, idempotency_key FROM segdsl_events")
        assert sorted((s, k) for s, k, _, _ in changes) == sorted(events)
        contacts = store._rows("SELECT segment, key, email, email_opt_in FROM segdsl_sync_contacts")
        assert len(contacts) == sum(len(store.members(s)) for s in {s for s, _ in events})
        assert all(opt == 1 for _, _, email, opt in contacts if email is not None)
        assert not [1 for _, _, email, change in changes if change == "exited" and email is not None]
    assert not (hotel / ".segdsl" / "sync").exists()


def test_sync_from_postgres_matches_memory(segdsl, hotel, tmp_path, pg_state):
    files = seg_files(name_project(hotel))
    segdsl("db", "load", hotel, "--dsn", pg_state)
    for as_of in ("2026-11-01", "2026-11-05"):
        refresh_json(segdsl, hotel, "--as-of", as_of, "--dsn", pg_state)
        refresh_json(segdsl, hotel, "--as-of", as_of, "--state", tmp_path / "local.db")
        segdsl("sync", *files, "--dsn", pg_state, "--out", tmp_path / "pg")
        segdsl("sync", *files, "--state", tmp_path / "local.db", "--out", tmp_path / "mem")
    segdsl("sync", *files, "--dsn", pg_state, "--format", "table", "--consumer", "outbox")
    for name in ("high_value", "win_back", "gmail_gold"):
        for f in ("contacts.jsonl", "email.jsonl", "sms.jsonl", "push.jsonl"):
            assert (tmp_path / "pg" / name / f).read_text() == (tmp_path / "mem" / name / f).read_text()
        pg_feed = [c for b in change_files(tmp_path / "pg" / name) for c in read_jsonl(b)]
        mem_feed = [c for b in change_files(tmp_path / "mem" / name) for c in read_jsonl(b)]
        strip = [({k: v for k, v in c.items() if k != "event_id"}) for c in pg_feed]
        assert strip == [({k: v for k, v in c.items() if k != "event_id"}) for c in mem_feed]
    with open_postgres(pg_state, "hotel") as store:
        (n,) = store._rows("SELECT count(*) FROM segdsl_sync_changes")[0]
        (m,) = store._rows("SELECT count(*) FROM segdsl_events")[0]
        assert n == m > 0
