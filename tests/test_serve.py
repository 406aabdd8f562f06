"""``segdsl serve``'s JSON endpoints, through Starlette's TestClient: every endpoint
answers what the library API answers, bad input gets a 4xx with its diagnostics
(never a 500), nothing is written, and rule text reaches a database only as bound
parameters of compiled SQL. The page itself is driven in a browser by
``test_serve_browser.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import segdsl

pytest.importorskip("starlette", reason="segdsl serve needs the extra segdsl[serve] (starlette)")

from starlette.testclient import TestClient  # noqa: E402

from segdsl.cli.main import cli  # noqa: E402
from segdsl.project.workspace import display_path  # noqa: E402
from segdsl.serve.app import create_app  # noqa: E402
from segdsl.serve.site import open_site  # noqa: E402
from segdsl.serve.views import MAX_RULE_BYTES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-01"


def copy_project(folder: Path) -> Path:
    """The hospitality example in ``folder``, its data read from the repository's seeds,
    so a refresh writes its state store there and not in the repository."""
    project = folder / "hospitality"
    project.mkdir()
    for name in ("segments.seg", "system.seg", "journeys.seg", "schema.toml"):
        shutil.copy(ROOT / "examples" / "hospitality" / name, project / name)
    data = (ROOT / "seeds" / "hospitality").as_posix()
    (project / "segdsl.toml").write_text(f'name = "hospitality"\nschema = "schema.toml"\ndata = "{data}"\n')
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the example with two refreshes and one sync in its state store."""
    project = copy_project(tmp_path_factory.mktemp("serve"))
    files = [str(project / "segments.seg"), str(project / "system.seg")]
    runner = CliRunner()
    for as_of in ("2026-09-01", "2026-10-01", AS_OF):
        result = runner.invoke(cli, ["refresh", *files, "--all", "--as-of", as_of])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["sync", *files, "--out", str(project / "out"), "--consumer", "crm_mail"])
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture(scope="module")
def site(project):
    return open_site(project, as_of=AS_OF)


@pytest.fixture(scope="module")
def client(site):
    with TestClient(create_app(site)) as c:
        yield c


@pytest.fixture(scope="module")
def ws(site):
    return site.ws


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ the project


def test_project_says_the_as_of_and_the_data_source(client, project):
    data = ok(client.get("/api/project"))
    assert data["as_of"] == "2026-11-01T00:00:00Z"
    assert data["source"] == f"in memory: CSV data in {display_path(ROOT / 'seeds' / 'hospitality')}"
    assert data["project"] == "hospitality" and data["entity"] == "guest"
    assert [s["name"] for s in data["segments"]][:3] == ["high_value", "lapsed", "win_back"]
    assert {j["name"] for j in data["journeys"]} == {"win_back_offer", "spa_weekend"}
    assert data["targets"] == ["postgres", "duckdb", "sqlite", "mysql", "spark"]


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<main" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200
    # Offline: nothing on the page is loaded from another host.
    for name in ("index.html", "app.js", "style.css"):
        text = (ROOT / "src" / "segdsl" / "serve" / "static" / name).read_text()
        assert "http://" not in text and "https://" not in text, name


def test_the_diagram_is_drawn_from_the_project(client, ws):
    data = ok(client.get("/api/diagram"))
    nodes = {n["id"]: n for n in data["nodes"]}
    counts = segdsl.sizes(ws, as_of=AS_OF).counts
    segments = {n["name"]: n for n in data["nodes"] if n["column"] == "segments"}
    assert {name: n["size"] for name, n in segments.items()} == counts
    # Raw tables with their row counts (lines of the CSV files, less the header).
    for table in ("guests", "bookings", "consents"):
        lines = (ROOT / "seeds" / "hospitality" / f"{table}.csv").read_text().count("\n") - 1
        assert nodes[f"table:{table}"]["lines"] == [f"{lines:,} rows"]
    edges = {tuple(e) for e in data["edges"]}
    assert ("table:bookings", "trait:ltv") in edges and ("trait:ltv", "segment:high_value") in edges
    assert ("segment:lapsed", "segment:win_back") in edges  # `in segment lapsed`
    assert ("segment:win_back", "journey:win_back_offer") in edges
    assert ("segment:high_value", "sync:crm_mail") in edges
    # The last refresh, with who entered and exited then, from the state store.
    head = segments["lapsed"]["last_refresh"]
    assert head["as_of"] == "2026-11-01T00:00:00Z" and head["size"] == counts["lapsed"]
    assert head["entered"] + head["exited"] > 0
    assert data["svg"].startswith("<svg") and 'href="#/segment/win_back"' in data["svg"]


# ------------------------------------------------------------------ a segment


def test_a_segment_is_its_rule_size_and_last_refresh(client, ws):
    data = ok(client.get("/api/segments/win_back"))
    assert data["size"] == segdsl.sizes(ws, ["win_back"], as_of=AS_OF).counts["win_back"]
    assert data["total"] == 3000 and data["cadence"] == "daily"
    assert "".join(text for _, text in data["tokens"]) == data["text"]
    assert data["text"].startswith('segment win_back "Win back" {')
    assert ["keyword", "where"] in data["tokens"] and ["number", "50_000"] in data["tokens"]
    assert data["references"] == ["lapsed"] and "ltv" in data["fields"]
    assert data["last_refresh"]["as_of"] == "2026-11-01T00:00:00Z"


@pytest.mark.parametrize("name", ["nope", "win_bak", "x" * 300, "..x", "high_value;drop"])
def test_an_unknown_segment_is_a_404_with_a_hint(client, name):
    for path in ("", "/overlap", "/sample", "/members.csv", "/history", "/explain?key=1001"):
        response = client.get(f"/api/segments/{name}{path}")
        assert response.status_code == 404, (path, response.text)
        assert "no segment" in response.json()["error"]
    if name == "win_bak":
        assert "did you mean `win_back`?" in client.get("/api/segments/win_bak").json()["error"]


def test_history_lists_every_refresh(client, project):
    data = ok(client.get("/api/segments/lapsed/history"))
    assert [r["as_of"][:10] for r in data["runs"]] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    ws = segdsl.load_project(project)
    assert [r["size"] for r in data["runs"]] == [
        segdsl.sizes(ws, ["lapsed"], as_of=d).counts["lapsed"] for d in ("2026-09-01", "2026-10-01", AS_OF)]
    assert data["runs"][0]["entered"] == data["runs"][0]["size"] and data["runs"][0]["exited"] == 0
    events = segdsl.history(ws, segment="lapsed")
    last = events[-1].instant
    changed = data["last_changes"]
    assert changed["as_of"] == last.isoformat().replace("+00:00", "Z")
    for change in ("entered", "left"):
        keys = sorted(e.key for e in events if e.instant == last and e.change == change)
        assert changed[f"{change}_count"] == len(keys) and changed[change] == keys[:50]
    chart = data["chart"]
    assert 'role="img"' in chart and "2026-09-01" in chart and "members" in chart
    assert f">{data['runs'][-1]['size']:,}<" in chart  # the size is written at each point


def test_a_project_never_refreshed_has_no_history_and_no_store_is_made(tmp_path):
    project = copy_project(tmp_path)
    with TestClient(create_app(open_site(project, as_of=AS_OF))) as client:
        assert ok(client.get("/api/segments/lapsed/history"))["runs"] == []
        assert ok(client.get("/api/segments/lapsed"))["last_refresh"] is None
        ok(client.get("/api/diagram"))
    assert not (project / ".segdsl").exists()


def test_overlap_is_the_apis(client, ws):
    data = ok(client.get("/api/segments/win_back/overlap"))
    report = segdsl.sizes(ws, as_of=AS_OF, overlap=True)
    expected = {(o.b.name if o.a.name == "win_back" else o.a.name): o.both
                for o in report.overlaps if "win_back" in (o.a.name, o.b.name)}
    assert {r["segment"]: r["both"] for r in data["overlaps"]} == expected
    assert expected["lapsed"] == data["size"]  # every win_back guest is lapsed


def test_a_venn_of_three_counts_every_region(client, ws):
    data = ok(client.get("/api/segments/win_back/overlap?with=high_value&with=gmail_gold"))["venn"]
    found = segdsl.members(ws, ["win_back", "high_value", "gmail_gold"], as_of=AS_OF).members
    sets = [set(found[n]) for n in ("win_back", "high_value", "gmail_gold")]
    for region in data["regions"]:
        inside = [n in region["in"] for n in ("win_back", "high_value", "gmail_gold")]
        exact = set.union(*sets)
        for s, yes in zip(sets, inside):
            exact = exact & s if yes else exact - s
        assert region["size"] == len(exact), region
    assert len(data["regions"]) == 7 and 'role="img"' in data["chart"]
    assert ok(client.get("/api/segments/win_back/overlap?with=lapsed"))["venn"]["regions"][0]["size"] == len(sets[0])


@pytest.mark.parametrize("query,status", [
    ("with=a&with=b&with=c", 400), ("with=win_back", 400), ("with=nope", 404),
])
def test_a_venn_of_bad_segments_is_a_4xx(client, query, status):
    assert client.get(f"/api/segments/win_back/overlap?{query}").status_code == status


def test_the_sample_has_the_columns_the_rule_reads(client, ws):
    data = ok(client.get("/api/segments/high_value/sample?limit=5"))
    keys = segdsl.members(ws, ["high_value"], as_of=AS_OF).members["high_value"]
    assert data["columns"] == ["guest_id", "ltv", "last_booking_at"]
    assert [r[0] for r in data["rows"]] == list(keys[:5]) and data["size"] == len(keys)
    assert all(float(r[1]) >= 150_000 for r in data["rows"])
    # `days_since_booking >= 180` reads the date it counts from.
    assert ok(client.get("/api/segments/lapsed/sample?limit=2"))["columns"] == ["guest_id", "last_booking_at"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "100000", "1e3"])
def test_a_bad_sample_limit_is_a_400(client, limit):
    assert client.get(f"/api/segments/high_value/sample?limit={limit}").status_code == 400


def test_the_csv_lists_every_member(client, ws):
    response = client.get("/api/segments/lapsed/members.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="lapsed.csv"'
    lines = response.text.splitlines()
    assert lines[0] == "guest_id,last_booking_at"
    keys = segdsl.members(ws, ["lapsed"], as_of=AS_OF).members["lapsed"]
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(keys)


@pytest.mark.parametrize("name", ["spa_lovers", "email_subscribers", "gmail_gold"])
def test_the_csv_is_segdsl_shows(client, project, name):
    # Tags, booleans, NULLs and instants written as `segdsl show --format csv` writes them.
    shown = CliRunner().invoke(cli, ["show", str(project / "segments.seg"), "--segment", name, "--as-of", AS_OF,
                                     "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    assert client.get(f"/api/segments/{name}/members.csv").text == shown.output


@pytest.mark.parametrize("example", ["hospitality", "golf"])
def test_every_page_of_each_example_answers(example):
    site = open_site(ROOT / "examples" / example, as_of=AS_OF)
    with TestClient(create_app(site)) as c:
        project = ok(c.get("/api/project"))
        ok(c.get("/api/diagram"))
        for s in project["segments"]:
            name = s["name"]
            for path in ("", "/overlap", "/history"):
                ok(c.get(f"/api/segments/{name}{path}"))
            sample = ok(c.get(f"/api/segments/{name}/sample?limit=3"))
            assert sample["columns"].count(sample["columns"][0]) == 1  # the key once
            if sample["rows"]:
                assert ok(c.get(f"/api/segments/{name}/explain?key={sample['rows'][0][0]}"))["member"] is True
        for j in project["journeys"]:
            assert ok(c.get(f"/api/journeys/{j['name']}"))["simulated"] is True


# ------------------------------------------------------------------ explain


def _verdicts(node: dict) -> list[tuple[str, str]]:
    return [(node["text"], node["verdict"]), *(v for c in node["children"] for v in _verdicts(c))]


def test_explain_a_member_and_a_non_member(client, ws):
    keys = segdsl.members(ws, ["win_back"], as_of=AS_OF).members["win_back"]
    member = ok(client.get(f"/api/segments/win_back/explain?key={keys[0]}"))
    assert member["member"] is True and member["tree"]["verdict"] == "true"
    assert all(v == "true" for _, v in _verdicts(member["tree"]))
    assert set(member["values"]) == {"last_booking_at", "ltv", "email_opt_in"}
    outsider = next(k for k in range(1001, 4001) if k not in set(keys))
    other = ok(client.get(f"/api/segments/win_back/explain?key={outsider}"))
    assert other["member"] is False and other["tree"]["verdict"] in ("false", "unknown")
    ltv = other["tree"]["children"][1]
    assert ltv["text"] == "ltv >= 50_000" and ltv["details"].startswith(f"ltv = {other['values']['ltv']}; sum over bookings")
    assert ltv["details"].endswith("compared: >= 50000")
    texts = [t for t, _ in _verdicts(other["tree"])]
    assert texts[:3] == ["in segment lapsed and ltv >= 50_000 and email_opt_in", "in segment lapsed",
                         "days_since_booking >= 180"]


def test_explain_says_unknown_where_a_value_is_null(client, ws):
    # A guest never asked about email: `email_opt_in` is NULL, so unknown, and so is
    # the rule (unknown and TRUE), which makes the guest no member.
    table = segdsl.members(ws, [segdsl.check_expression("email_opt_in is null and email is not null", ws)],
                           as_of=AS_OF).members["expr"]
    data = ok(client.get(f"/api/segments/email_subscribers/explain?key={table[0]}"))
    assert data["member"] is False and data["values"]["email_opt_in"] is None
    assert _verdicts(data["tree"]) == [("email_opt_in and email is not null", "unknown"),
                                       ("email_opt_in", "unknown"), ("email is not null", "true")]


@pytest.mark.parametrize("query,status,words", [
    ("key=abc", 400, "whole number"), ("key=", 400, "key"), ("", 400, "key"), ("key=99999999", 404, "no guest"),
    ("key=1.5", 400, "whole number"), ("key=" + "9" * 300, 400, "key"),
])
def test_explain_a_bad_key_is_a_4xx(client, query, status, words):
    response = client.get(f"/api/segments/win_back/explain?{query}")
    assert response.status_code == status and words in response.json()["error"]


# ------------------------------------------------------------------ the editor


def cli_diagnostics(rule: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["check", "-e", rule, "--format", "json"])
    return json.loads(result.output)["diagnostics"]


def test_check_sizes_a_rule_exactly(client, ws):
    data = ok(client.post("/api/rule/check", json={"rule": "ltv >= 50_000 and email_opt_in"}))
    rule = segdsl.check_expression("ltv >= 50_000 and email_opt_in", ws)
    assert data["size"] == segdsl.sizes(ws, [rule], as_of=AS_OF).counts["expr"]
    assert data["total"] == 3000 and data["ok"] is True


@pytest.mark.parametrize("rule,code", [
    ("ltv >= ", "E0010"), ("days_since_bookng >= 180", "E0101"), ('loyalty_tier = "Golden"', None),
    ("in segment nope", None), ("ltv >= 5 and", "E0010"),
])
def test_a_malformed_rule_is_a_422_with_the_clis_diagnostics(client, project, rule, code, monkeypatch):
    response = client.post("/api/rule/check", json={"rule": rule})
    assert response.status_code == 422
    body = response.json()
    monkeypatch.chdir(project)
    assert body["diagnostics"] == cli_diagnostics(rule)  # same codes, spans, messages and help
    assert body["diagnostics"] and (code is None or body["diagnostics"][0]["code"] == code)
    printed = CliRunner().invoke(cli, ["check", "-e", rule]).output  # carets under the same spans
    assert body["rendered"].strip() and body["rendered"].strip() in printed


@pytest.mark.parametrize("body,status", [
    ({"rule": "x" * (MAX_RULE_BYTES + 1)}, 413), ({"rule": "é" * (MAX_RULE_BYTES // 2 + 1)}, 413),
    ({"rule": 5}, 400), ({}, 400), ([], 400), ("ltv > 5", 400),
])
def test_bad_editor_input_is_a_4xx(client, body, status):
    for path in ("/api/rule/check", "/api/rule/compile"):
        response = client.post(path, json=body)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]


def test_a_body_that_is_not_json_or_too_big_is_a_4xx(client):
    assert client.post("/api/rule/check", content=b"\xff\xfe").status_code == 400
    assert client.post("/api/rule/check", content=b"{" * 200_000).status_code == 413


def test_checking_is_fast_on_the_bundled_data(client):
    # The editor updates the size as one types: within 300 ms on the bundled data.
    client.post("/api/rule/check", json={"rule": "ltv >= 1"})
    times = []
    for n in range(5):
        start = time.perf_counter()
        ok(client.post("/api/rule/check", json={"rule": f"ltv >= {1000 * n} and bookings_365d >= 1"}))
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.3, times


@pytest.mark.parametrize("target", ["postgres", "duckdb", "sqlite", "mysql"])
def test_compile_is_the_apis_sql_with_bound_parameters(client, ws, target):
    rule = 'email ends with "@gmail.com" and ltv >= 50_000'
    data = ok(client.post("/api/rule/compile", json={"rule": rule, "target": target}))
    expected = segdsl.compile_sql(ws, segdsl.check_expression(rule, ws), target=target, as_of=AS_OF, params=True)
    assert data["sql"] == expected.sql and "@gmail.com" not in data["sql"]
    assert "@gmail.com" in data["params"].values()


def test_compile_refuses_a_bad_target_or_rule(client):
    assert client.post("/api/rule/compile", json={"rule": "ltv > 1", "target": "oracle"}).status_code == 400
    assert client.post("/api/rule/compile", json={"rule": "ltv > 1", "target": 3}).status_code == 400
    bad = client.post("/api/rule/compile", json={"rule": "ltv >", "target": "duckdb"})
    assert bad.status_code == 422 and bad.json()["diagnostics"][0]["code"] == "E0010"


# ------------------------------------------------------------------ journeys


def test_a_journey_is_the_clis_simulated_run(client, project):
    data = ok(client.get("/api/journeys/win_back_offer"))
    result = CliRunner().invoke(cli, ["journey", "run", str(project / "journeys.seg"), "-j", "win_back_offer",
                                      "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code == 0, result.output
    cli_run = json.loads(result.output)
    assert data["funnel"] == cli_run["funnel"] and data["messages"] == cli_run["messages"]
    # the holdout comparison, as `journey run` prints it (the example declares one)
    assert data["holdouts"] == cli_run["holdouts"] and data["holdouts"][0]["holdout"] == "global_control"
    assert data["simulated"] is True and data["note"].startswith("SIMULATED")
    charts = [data["charts"]["funnel"], *(s["chart"] for s in data["charts"]["steps"]),
              *(c["chart"] for c in data["charts"]["channels"])]
    assert len(charts) == 4 and all("SIMULATED" in c for c in charts)
    assert f">{data['funnel']['opened']:,} (" in data["charts"]["funnel"]  # numbers on the bars


def test_an_unknown_journey_is_a_404(client):
    response = client.get("/api/journeys/win_back_ofer")
    assert response.status_code == 404 and "did you mean `win_back_offer`?" in response.json()["error"]


# ------------------------------------------------------------------ read-only, errors


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_nothing_takes_a_write(client, method):
    for path in ("/api/project", "/api/segments/lapsed", "/api/segments/lapsed/members.csv", "/api/journeys/x"):
        response = getattr(client, method)(path)
        assert response.status_code == 405 and "read-only" in response.json()["error"]
    assert client.get("/api/rule/check").status_code == 405


def test_an_unknown_path_is_a_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json()["error"]


def _fingerprint(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def exercise(client) -> None:
    """Every endpoint once, with good and bad input."""
    for path in ("/", "/api/project", "/api/diagram", "/api/segments/win_back", "/api/segments/win_back/overlap",
                 "/api/segments/win_back/overlap?with=lapsed", "/api/segments/win_back/sample",
                 "/api/segments/win_back/members.csv", "/api/segments/win_back/explain?key=1003",
                 "/api/segments/win_back/history", "/api/journeys/spa_weekend", "/api/segments/nope"):
        assert client.get(path).status_code in (200, 404)
    for rule in ("ltv > 1", "ltv >", 'email = "x"; DROP TABLE guests; --"'):
        client.post("/api/rule/check", json={"rule": rule})
        client.post("/api/rule/compile", json={"rule": rule, "target": "sqlite"})


def test_serving_writes_nothing(client, project):
    before = _fingerprint(project, ROOT / "seeds" / "hospitality")
    exercise(client)
    assert _fingerprint(project, ROOT / "seeds" / "hospitality") == before


def test_an_internal_error_is_one_line_not_a_traceback(site, monkeypatch):
    from segdsl.serve import views

    def broken(site):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "project", broken)
    with TestClient(create_app(site), raise_server_exceptions=False) as client:
        response = client.get("/api/project")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: RuntimeError; this is a bug in segdsl", "diagnostics": []}


# ------------------------------------------------------------------ on a database


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory, ws):
    dsn = "sqlite:" + str(tmp_path_factory.mktemp("serve_db") / "crm.sqlite")
    segdsl.load_database(ws, dsn)
    return open_site(ws.project.root, as_of=AS_OF, dsn=dsn)


def test_on_a_database_the_figures_are_the_same(sqlite_site, client):
    with TestClient(create_app(sqlite_site)) as db:
        project = ok(db.get("/api/project"))
        assert project["source"].startswith("sqlite:") and project["evaluated"] == "database"
        on_db, in_memory = ok(db.get("/api/diagram")), ok(client.get("/api/diagram"))
        assert [(n["id"], n["lines"]) for n in on_db["nodes"]] == [(n["id"], n["lines"]) for n in in_memory["nodes"]]
        rule = {"rule": 'home_city = "Pune" or ltv > 100_000'}
        assert ok(db.post("/api/rule/check", json=rule))["size"] == ok(client.post("/api/rule/check", json=rule))["size"]
        for name in ("lapsed", "win_back", "gmail_gold"):
            assert db.get(f"/api/segments/{name}/members.csv").text == \
                client.get(f"/api/segments/{name}/members.csv").text
            assert ok(db.get(f"/api/segments/{name}/sample"))["rows"] == ok(client.get(f"/api/segments/{name}/sample"))["rows"]
        explained = ok(db.get("/api/segments/win_back/explain?key=1003"))
        assert explained["evaluated"] == "database"
        assert explained["tree"] == ok(client.get("/api/segments/win_back/explain?key=1003"))["tree"]


def test_rule_text_reaches_the_database_only_as_bound_parameters(sqlite_site, monkeypatch):
    from segdsl.data.engines import Engine

    seen: list[tuple[str, object]] = []
    execute = Engine.execute

    def recording(self, sql, params=None):
        seen.append((sql, params))
        return execute(self, sql, params)

    monkeypatch.setattr(Engine, "execute", recording)
    hostile = ["x'); DROP TABLE guests; --", "50%_off", '" or 1=1 --', "\\'"]
    before = _fingerprint(Path(sqlite_site.dsn.removeprefix("sqlite:")).parent)
    with TestClient(create_app(sqlite_site)) as db:
        for text in hostile:
            rule = f'first_name = "{text.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            assert ok(db.post("/api/rule/check", json={"rule": rule}))["size"] == 0
    assert seen
    for text in hostile:
        assert not any(text in sql for sql, _ in seen), text
        assert any(text in (params or {}).values() for _, params in seen if isinstance(params, dict)), text
    assert _fingerprint(Path(sqlite_site.dsn.removeprefix("sqlite:")).parent) == before


@pytest.mark.postgres
def test_on_postgres_the_figures_are_the_same(pg_dsn, ws, client):
    segdsl.load_database(ws, pg_dsn)
    with TestClient(create_app(open_site(ws.project.root, as_of=AS_OF, dsn=pg_dsn))) as db:
        assert ok(db.get("/api/project"))["evaluated"] == "database"
        on_db = {n["id"]: n["lines"] for n in ok(db.get("/api/diagram"))["nodes"]}
        in_memory = {n["id"]: n["lines"] for n in ok(client.get("/api/diagram"))["nodes"]}
        segments = [k for k in in_memory if k.startswith(("segment:", "table:"))]
        assert {k: on_db[k][0] for k in segments} == {k: in_memory[k][0] for k in segments}
        rule = {"rule": 'first_name = "x\'); DROP TABLE guests; --" or ltv > 100_000'}
        assert ok(db.post("/api/rule/check", json=rule))["size"] == ok(client.post("/api/rule/check", json=rule))["size"]
        assert ok(db.get("/api/segments/lapsed"))["size"] == in_memory_size(client, "lapsed")  # guests still there


def in_memory_size(client, name: str) -> int:
    return ok(client.get(f"/api/segments/{name}"))["size"]


# ------------------------------------------------------------------ the command


def test_segdsl_help_does_not_import_the_web_framework():
    probe = ("import sys\nfrom segdsl.cli.main import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'segdsl.serve')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "serve" in out.stdout and out.stdout.strip().splitlines()[-1] == "[]"


def test_serve_listens_on_this_machine_only_by_default():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    words = " ".join(result.output.split())
    assert result.exit_code == 0 and "[default: 127.0.0.1]" in words and "[default: 8000;" in words


def test_serve_refuses_a_project_with_errors(tmp_path):
    project = copy_project(tmp_path)
    (project / "broken.seg").write_text("segment broken {\n    where ltv >=\n}\n")
    result = CliRunner().invoke(cli, ["serve", str(project), "--port", "0"])
    assert result.exit_code == 1 and "E0010" in result.output
    result = CliRunner().invoke(cli, ["serve", str(project), "--as-of", "yesterday"])
    assert result.exit_code == 2 and "--as-of" in result.output


def test_serve_refuses_a_database_that_was_never_loaded(tmp_path):
    project = copy_project(tmp_path)
    missing = tmp_path / "nothing.sqlite"
    result = CliRunner().invoke(cli, ["serve", str(project), "--dsn", f"sqlite:{missing}", "--port", "0"])
    assert result.exit_code == 1 and "segdsl db load" in result.output and not missing.exists()


def test_the_command_serves_the_project_on_this_machine(tmp_path):
    """`segdsl serve` as the README runs it: a real process on a free port."""
    import socket
    import urllib.request

    segdsl_script = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([segdsl_script, "serve", "examples/hospitality", "--as-of", AS_OF, "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        data = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/project", timeout=5) as response:
                    data = json.loads(response.read())
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert data is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert data["as_of"] == "2026-11-01T00:00:00Z" and data["source"] == "in memory: CSV data in seeds/hospitality"
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout \
            if shutil.which("ss") else f"127.0.0.1:{port}"
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err
    assert f"open http://127.0.0.1:{port}/" in err
