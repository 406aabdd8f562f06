"""The synthetic CRM's raw tables: deterministic, true to schema.toml, consistent in
time and across tables, and shaped so the example segments have members."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import itertools
import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from segdsl.data import synth
from segdsl.cli.seed import seed as seed_group
from segdsl.data.tables import read_csv, write_csv
from segdsl.check.traits import schema_from_dict
from segdsl.schema.model import Kind

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
DOMAINS = ("hospitality", "golf")
COMMITTED = {"hospitality": 3000, "golf": 1500}


# ----------------------------------------------------------------- the schemas


def toml_tables(domain):
    """{table: (schema, entity key column or None)} from examples/DOMAIN/schema.toml,
    built here from the TOML so the test does not trust the generator's own layout."""
    data = tomllib.loads((ROOT / "examples" / domain / "schema.toml").read_text(encoding="utf-8"))
    out = {}
    stored = {name: spec for name, spec in data["fields"].items() if "type" in spec}
    schema, diags = schema_from_dict({"entity": data["entity"], "table": data["table"], "key": data["key"],
                                      "fields": stored})
    assert schema is not None, diags
    out[data["table"]] = (schema, None)
    for source in data["sources"].values():
        if source["table"] == "model_scores":
            continue  # written by `segdsl model score`
        fields = {name: {k: v for k, v in spec.items() if k != "doc"} for name, spec in source["columns"].items()}
        schema, diags = schema_from_dict({"entity": source["table"], "table": source["table"],
                                          "key": source["id"], "fields": fields})
        assert schema is not None, diags
        out[source["table"]] = (schema, source["entity_key"])
    return out


def columns(schema):
    return [(f.column, f.type, f.nullable) for f in schema.stored_fields()]


@pytest.mark.parametrize("domain", DOMAINS)
def test_layout_is_exactly_the_schema(domain):
    expected = toml_tables(domain)
    assert synth.tables(domain) == list(expected)
    for table, (schema, _) in expected.items():
        assert columns(synth.table_schema(domain, table)) == columns(schema), table


# ------------------------------------------------------------------ determinism


def generate(tmp_path, domain, n, seed=7, as_of=AS_OF, **kw):
    out = tmp_path / f"{domain}-{n}-{seed}-{kw.get('chunk_size', 0)}-{as_of:%H%M%S}"
    counts = synth.generate(domain, out, n=n, seed=seed, as_of=as_of, **kw)
    return out, counts


def files(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_arguments_same_bytes_whatever_the_chunking(domain, tmp_path):
    a, counts = generate(tmp_path, domain, 100, chunk_size=7)
    b, _ = generate(tmp_path, domain, 100, chunk_size=1000)
    assert files(a) == files(b)
    assert set(files(a)) == {f"{t}.csv" for t in synth.tables(domain)}
    assert counts == {t: len(files(a)[f"{t}.csv"].splitlines()) - 1 for t in synth.tables(domain)}
    other, _ = generate(tmp_path, domain, 100, seed=8)
    diff = [name for name, data in files(other).items() if data != files(a)[name]]
    assert diff == sorted(files(a))  # another seed changes every table


@pytest.mark.parametrize("domain", DOMAINS)
def test_worker_processes_write_the_same_bytes(domain, tmp_path):
    one, counts = generate(tmp_path / "one", domain, 120, chunk_size=1000)
    many, many_counts = generate(tmp_path / "many", domain, 120, chunk_size=9, jobs=3)
    assert files(many) == files(one)
    assert many_counts == counts


def test_worker_processes_report_progress_in_key_order(tmp_path):
    seen = []
    synth.generate("golf", tmp_path, n=50, seed=7, as_of=AS_OF, chunk_size=8, jobs=2, progress=seen.append)
    assert seen == [8, 8, 8, 8, 8, 8, 2]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_write_stops_the_workers_and_leaves_no_partial_files(tmp_path, monkeypatch):
    calls = []

    def failing_write(self, bodies):
        calls.append(len(bodies))
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        self.rows += len(bodies)

    monkeypatch.setattr(synth._TableWriter, "write", failing_write)
    with pytest.raises(OSError, match="No space"):
        synth.generate("hospitality", tmp_path, n=200, seed=7, as_of=AS_OF, chunk_size=10, jobs=2)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_smaller_run_is_a_prefix_of_a_larger_one(domain, tmp_path):
    small, _ = generate(tmp_path, domain, 40)
    large, _ = generate(tmp_path, domain, 90, chunk_size=13)
    for name, data in files(small).items():
        assert files(large)[name].startswith(data), name


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown domain"):
        synth.generate("casino", tmp_path, n=1, seed=7, as_of=AS_OF)
    with pytest.raises(ValueError, match="negative"):
        synth.generate("golf", tmp_path, n=-1, seed=7, as_of=AS_OF)
    with pytest.raises(ValueError, match="jobs"):
        synth.generate("golf", tmp_path, n=1, seed=7, as_of=AS_OF, jobs=0)


def test_rows_reach_the_files_chunk_by_chunk(tmp_path):
    # Bounded memory: each chunk is on disk before the next one is generated.
    sizes = []

    def progress(k):
        sizes.append((k, (tmp_path / "bookings.csv.tmp").stat().st_size))

    synth.generate("hospitality", tmp_path, n=100, seed=7, as_of=AS_OF, chunk_size=30, progress=progress)
    assert [k for k, _ in sizes] == [30, 30, 30, 10]
    assert all(a < b for (_, a), (_, b) in itertools.pairwise(sizes))
    assert not list(tmp_path.glob("*.tmp"))


# ------------------------------------------------- the files the tests work on


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """A fresh generation with the defaults, checked equal to the committed seeds."""
    root = tmp_path_factory.mktemp("fresh")
    for domain in DOMAINS:
        synth.generate(domain, root / domain, n=synth.DEFAULT_N[domain], seed=synth.DEFAULT_SEED,
                       as_of=synth.DEFAULT_AS_OF)
    return root


@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_seeds_equal_a_fresh_generation(domain, committed):
    assert synth.DEFAULT_N[domain] == COMMITTED[domain] and synth.DEFAULT_AS_OF == AS_OF
    for table in synth.tables(domain):
        name = f"seeds/{domain}/{table}.csv"
        assert (ROOT / name).is_file(), f"{name} is missing; regenerate with `segdsl seed generate`"
        assert (ROOT / name).read_bytes() == (committed / domain / f"{table}.csv").read_bytes(), (
            f"{name} differs from the generator's output; regenerate it with the command in "
            "seeds/README.md instead of editing it")


_CONVERT = {
    Kind.INT: int, Kind.DECIMAL: Decimal, Kind.BOOL: {"true": True, "false": False}.__getitem__,
    Kind.DATE: dt.date.fromisoformat, Kind.TIMESTAMP: dt.datetime.fromisoformat,  # 3.11 reads `Z`
    Kind.TEXT: str, Kind.ENUM: str, Kind.TAGS: lambda s: frozenset(json.loads(s)),
}


def load(root, domain):
    """{table: list of records (python values)}, read with the csv module: quicker than
    read_csv on the committed sizes, and read_csv itself is exercised on generated files
    below (committed seeds equal a fresh generation)."""
    out = {}
    for table, (schema, _) in toml_tables(domain).items():
        convert = {f.column: _CONVERT[f.kind] for f in schema.stored_fields()}
        with open(root / domain / f"{table}.csv", newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            assert header == list(convert)
            fns = [convert[c] for c in header]
            out[table] = [{c: (None if v == "" else fn(v)) for c, fn, v in zip(header, fns, row)} for row in reader]
    return out


@pytest.fixture(scope="module")
def hospitality(committed):
    return load(committed, "hospitality")


@pytest.fixture(scope="module")
def golf(committed):
    return load(committed, "golf")


@pytest.fixture(scope="module")
def data(hospitality, golf):
    return {"hospitality": hospitality, "golf": golf}


# ----------------------------------------------------------- schema conformance


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_streaming_writer_matches_write_csv_byte_for_byte(domain, tmp_path):
    out, _ = generate(tmp_path, domain, 200)
    for table, (schema, _) in toml_tables(domain).items():
        path = out / f"{table}.csv"
        again = tmp_path / f"{domain}-{table}-again.csv"
        write_csv(schema, read_csv(schema, path), again)
        assert again.read_bytes() == path.read_bytes(), table


@pytest.mark.parametrize("domain", DOMAINS)
def test_keys_ids_and_references(domain, data):
    tables = data[domain]
    entity_table, *sources = toml_tables(domain).items()
    name, (schema, _) = entity_table
    keys = [r[schema.key.column] for r in tables[name]]
    assert keys == list(range(1001, 1001 + COMMITTED[domain]))
    known = set(keys)
    for table, (schema, entity_key) in sources:
        rows = tables[table]
        assert rows, f"{table} is empty"
        assert [r[schema.key.column] for r in rows] == list(range(1, len(rows) + 1)), table
        assert {r[entity_key] for r in rows} <= known, table


@pytest.mark.parametrize("domain", DOMAINS)
def test_nothing_lies_at_or_after_the_as_of_instant(domain, data):
    for table, rows in data[domain].items():
        for r in rows:
            for column, v in r.items():
                if isinstance(v, dt.datetime):
                    assert v < AS_OF, (table, column, v)
                elif isinstance(v, dt.date):
                    assert v < AS_OF.date(), (table, column, v)


@pytest.mark.parametrize("domain", DOMAINS)
def test_an_as_of_within_a_day_is_respected(domain, tmp_path):
    as_of = dt.datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC)
    out, _ = generate(tmp_path, domain, 150, as_of=as_of)
    seen_last_day = False
    for table, (schema, _) in toml_tables(domain).items():
        for r in read_csv(schema, out / f"{table}.csv").records():
            for v in r.values():
                if isinstance(v, dt.datetime):
                    assert v < as_of
                    seen_last_day |= v.date() == as_of.date()
                elif isinstance(v, dt.date):
                    assert v <= as_of.date()
    assert seen_last_day  # the last 90 minutes are used, not skipped


# ------------------------------------------------------------------ consistency


def by_key(rows, key):
    out = collections.defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return out


def latest(rows, key, by, value, **where):
    """The latest ``value`` per key ordered by ``by``; ties would make engines disagree."""
    best = {}
    for r in rows:
        if all(r[k] == v for k, v in where.items()):
            k = r[key]
            assert k not in best or best[k][0] != r[by], f"two rows of {k} at {r[by]}"
            if k not in best or r[by] > best[k][0]:
                best[k] = (r[by], r[value])
    return {k: v for k, (_, v) in best.items()}


def test_hospitality_tables_agree(hospitality):
    guests = {g["guest_id"]: g for g in hospitality["guests"]}
    for b in hospitality["bookings"]:
        assert b["checked_in_at"].date() >= guests[b["guest_id"]]["signup_date"]
        assert 1 <= b["nights"] <= 14 and b["amount_inr"] >= 0
    for account in hospitality["loyalty_accounts"]:
        assert account["enrolled_on"] >= guests[account["guest_id"]]["signup_date"]
    latest(hospitality["loyalty_accounts"], "guest_id", "enrolled_on", "tier")
    for channel in ("email", "sms", "push"):
        latest(hospitality["consents"], "guest_id", "recorded_at", "granted", channel=channel)
    for guest, txns in by_key(hospitality["point_transactions"], "guest_id").items():
        balance = 0
        for t in sorted(txns, key=lambda t: (t["occurred_at"], t["txn_id"])):
            assert (t["points"] > 0) == (t["reason"] in ("stay", "bonus")), t
            balance += t["points"]
            assert balance >= 0, guest
    inactive = {k for k, g in guests.items() if g["status"] == "INACTIVE"}
    for channel in ("email", "sms", "push"):
        decided = latest(hospitality["consents"], "guest_id", "recorded_at", "granted", channel=channel)
        assert not any(decided[k] for k in inactive if k in decided)


def test_golf_tables_agree(golf):
    members = {m["member_id"]: m for m in golf["members"]}
    for m in members.values():
        prospect = m["membership_status"] == "PROSPECT"
        assert (m["membership_tier"] is None) == prospect and (m["joined_on"] is None) == prospect
    for t in golf["tee_times"]:
        assert t["booked_at"] < t["starts_at"]
        assert t["status"] != "upcoming"  # nothing lies after the as-of instant
        joined = members[t["member_id"]]["joined_on"]
        assert joined is None or t["booked_at"].date() >= joined
    for h in golf["handicaps"]:
        assert -2 <= h["handicap_index"] <= 36
    latest(golf["handicaps"], "member_id", "recorded_on", "handicap_index")
    for channel in ("email", "sms", "push"):
        latest(golf["consents"], "member_id", "recorded_at", "granted", channel=channel)
    for p in golf["dues_payments"]:
        assert members[p["member_id"]]["membership_status"] != "PROSPECT"
        assert (p["paid_on"] is None) == (p["days_late"] is None)
        if p["paid_on"] is not None:
            assert p["days_late"] == (p["paid_on"] - p["due_on"]).days >= 0
        assert p["due_on"].day == 1 and p["due_on"] > members[p["member_id"]]["joined_on"]
    for e in golf["tournament_entries"]:
        assert e["played_on"].weekday() == 6
        assert e["finish_position"] is None or e["finish_position"] >= 1


# ----------------------------------------------------------------------- shapes


def days_before(instant):
    return (AS_OF.date() - (instant.date() if isinstance(instant, dt.datetime) else instant)).days


def test_hospitality_shapes(hospitality):
    guests = hospitality["guests"]
    n = len(guests)
    bookings = hospitality["bookings"]
    assert 4 * n < len(bookings) < 6 * n  # about five per guest
    per_guest = collections.Counter(b["guest_id"] for b in bookings)
    counts = [per_guest[g["guest_id"]] for g in guests]
    assert sum(c <= 2 for c in counts) > 0.4 * n and sum(c >= 30 for c in counts) > 0.005 * n
    status = collections.Counter(b["status"] for b in bookings)
    assert 0.07 < status["cancelled"] / len(bookings) < 0.13
    assert 0.02 < status["no_show"] / len(bookings) < 0.045
    assert any(b["channel"] is None for b in bookings)
    # Seasonality: the peak months carry more stays than the monsoon months.
    months = collections.Counter(b["checked_in_at"].month for b in bookings)
    assert min(months[m] for m in (12, 1, 5, 6)) > 1.4 * max(months[m] for m in (7, 8))

    ltv, last = collections.Counter(), {}
    for b in bookings:
        if b["status"] == "completed":
            ltv[b["guest_id"]] += b["amount_inr"]
            last[b["guest_id"]] = max(last.get(b["guest_id"], b["checked_in_at"]), b["checked_in_at"])
    assert 0.05 * n < sum(v >= 150_000 for v in ltv.values()) < 0.12 * n
    high_value = [k for k, v in ltv.items() if v >= 150_000 and days_before(last[k]) <= 365]
    assert len(high_value) > 0.03 * n
    lapsed = [k for k, t in last.items() if days_before(t) >= 180]
    assert 0.4 * n < len(lapsed) < 0.75 * n
    assert 0.03 * n < sum(days_before(t) <= 30 for t in last.values()) < 0.15 * n

    tiers = latest(hospitality["loyalty_accounts"], "guest_id", "enrolled_on", "tier")
    assert 0.6 * n < len(tiers) < 0.8 * n
    tally = collections.Counter(tiers.values())
    assert tally["Blue"] > 0.6 * len(tiers) and min(tally.values()) > 0 and len(tally) == 4
    assert len(hospitality["loyalty_accounts"]) > len(tiers)  # some re-enrolments
    assert {t["reason"] for t in hospitality["point_transactions"]} == {"stay", "bonus", "redemption", "expiry"}

    for channel, low, high in (("email", 0.68, 0.8), ("sms", 0.33, 0.47), ("push", 0.22, 0.38)):
        decided = latest(hospitality["consents"], "guest_id", "recorded_at", "granted", channel=channel)
        assert low < sum(decided.values()) / len(decided) < high, channel
        assert len(decided) < 0.95 * n  # some guests were never asked: NULL consent
    decisions = collections.Counter((c["guest_id"], c["channel"]) for c in hospitality["consents"])
    assert sum(k > 1 for k in decisions.values()) > 0.1 * n

    emails = [g["email"] for g in guests if g["email"] is not None]
    assert 0.08 * n < n - len(emails) < 0.2 * n and any(g["phone"] is None for g in guests)
    assert any(e.isupper() for e in emails) and sum(e.lower().endswith("@gmail.com") for e in emails) > 0.3 * n
    assert len({e.lower() for e in emails}) == len(emails)
    assert 0.015 * n < sum(g["status"] == "INACTIVE" for g in guests) < 0.05 * n
    assert any(not g["interests"] for g in guests)
    assert set().union(*(g["interests"] for g in guests)) == set(synth.HOSPITALITY_INTERESTS)

    # Recent and loyal guests engage more.
    recent = collections.Counter(e["guest_id"] for e in hospitality["engagement_events"]
                                 if days_before(e["occurred_at"]) < 90)
    active = [k for k, t in last.items() if days_before(t) <= 60]
    assert sum(recent[k] for k in active) / len(active) > 2 * sum(recent[k] for k in lapsed) / len(lapsed)


def test_golf_shapes(golf):
    members = {m["member_id"]: m for m in golf["members"]}
    n = len(members)
    state = collections.Counter(m["membership_status"] for m in members.values())
    assert state["ACTIVE"] > 0.65 * n and min(state.values()) > 0.02 * n and len(state) == 4
    handicap = latest(golf["handicaps"], "member_id", "recorded_on", "handicap_index")
    booked_30d = collections.Counter(t["member_id"] for t in golf["tee_times"] if days_before(t["booked_at"]) < 30)
    email = latest(golf["consents"], "member_id", "recorded_at", "granted", channel="email")
    # Every condition of active_golfers_low_handicap but engagement_score (a model's).
    low_handicap = [
        k for k, m in members.items()
        if m["membership_status"] == "ACTIVE" and m["membership_tier"] in ("Gold", "Platinum")
        and k in handicap and handicap[k] < 15 and booked_30d[k] >= 2 and email.get(k) is True
    ]
    assert len(low_handicap) >= 15
    # Handicaps trend: most members with several revisions moved by at least a stroke.
    revisions = by_key(golf["handicaps"], "member_id")
    moved = [abs(rs[-1]["handicap_index"] - rs[0]["handicap_index"]) >= 1 for rs in revisions.values() if len(rs) >= 6]
    assert sum(moved) > 0.5 * len(moved)
    # Late payers and competition players exist; dues can be unpaid.
    late = collections.Counter(p["member_id"] for p in golf["dues_payments"]
                               if (p["days_late"] or 0) > 30 and days_before(p["due_on"]) <= 365)
    payers = [k for k, v in late.items() if v >= 2 and members[k]["membership_status"] in ("ACTIVE", "SUSPENDED")]
    assert len(payers) > 0.03 * n
    assert any(p["paid_on"] is None for p in golf["dues_payments"])
    entries = collections.Counter(e["member_id"] for e in golf["tournament_entries"]
                                  if days_before(e["played_on"]) <= 365)
    assert sum(v >= 3 and "competitions" in members[k]["interests"] for k, v in entries.items()) > 0.03 * n
    # Active members who stopped playing (lapsing_players) exist.
    last_round = {}
    for t in golf["tee_times"]:
        if t["status"] == "played":
            last_round[t["member_id"]] = max(last_round.get(t["member_id"], t["starts_at"]), t["starts_at"])
    lapsing = [k for k, t in last_round.items() if members[k]["membership_status"] == "ACTIVE" and days_before(t) >= 60]
    assert len(lapsing) > 0.05 * n


@pytest.mark.parametrize("domain", DOMAINS)
def test_static_segment_members_exist(domain, data):
    name = synth.tables(domain)[0]
    key = toml_tables(domain)[name][0].key.column
    assert {1001, 1002, 1003, 1004, 1005} <= {r[key] for r in data[domain][name]}


# --------------------------------------------------------------------------- CLI


def test_cli_generates_at_a_given_scale(tmp_path):
    result = CliRunner().invoke(seed_group, ["generate", "--scale", "60", "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for domain in DOMAINS:
        want, _ = generate(tmp_path / "want", domain, 60, seed=3)
        assert files(tmp_path / domain) == files(want)
    assert f"{tmp_path / 'golf' / 'members.csv'}: 60 rows" in result.output


def test_cli_worker_processes_write_what_one_process_writes(tmp_path):
    for jobs in ("1", "0", "2"):
        result = CliRunner().invoke(seed_group, ["generate", "--domain", "hospitality", "--scale", "30",
                                                 "--jobs", jobs, "--out", str(tmp_path / jobs)])
        assert result.exit_code == 0, result.output
    assert files(tmp_path / "0" / "hospitality") == files(tmp_path / "1" / "hospitality")
    assert files(tmp_path / "2" / "hospitality") == files(tmp_path / "1" / "hospitality")


def test_cli_one_domain_with_a_progress_bar(tmp_path):
    result = CliRunner().invoke(seed_group, ["generate", "--domain", "golf", "--scale", "25", "--progress",
                                             "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "golf" / "members.csv").is_file() and not (tmp_path / "hospitality").exists()


@pytest.mark.parametrize("args, message", [
    (["--as-of", "yesterday"], "is not a date or timestamp"),
    (["--as-of", "now"], "use a fixed date"),
    (["--scale", "0"], "0 is not in the range"),
    (["--jobs", "-1"], "-1 is not in the range"),
    (["--domain", "casino"], "casino"),
    (["--as-of", "1900-01-01"], "as_of must lie in the years"),
])
def test_cli_reports_bad_options_without_a_traceback(args, message, tmp_path):
    result = CliRunner().invoke(seed_group, ["generate", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not any(tmp_path.iterdir())


def test_cli_reports_an_unwritable_output(tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(seed_group, ["generate", "--scale", "2", "--out", str(tmp_path / "file" / "sub")])
    assert result.exit_code == 1 and "cannot write" in result.output and "Traceback" not in result.output
