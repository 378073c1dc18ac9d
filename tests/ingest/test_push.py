"""Push ingest end to end: real tokens, a real store, the connector's translation and quarantine as a sync."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors.sdk import config_from_dict, run_sync
from store.engines import make_sync_engine
from tests.ingest.conftest import Api, civil_rows

PROBLEM = "application/problem+json"
RESIDENTS = "SELECT id, status, doc FROM resident"
SOURCES = "SELECT source, record_key, resident_id, content_hash FROM resident_source"
QUARANTINE = "SELECT source, record_key, reason, message, released_at FROM quarantine"


def _two(samples: Path) -> dict[str, Any]:
    """Two sample residents of one household, as T_HJ_JMXX rows."""
    rows = civil_rows(samples, "T_HJ_JMXX")
    first = rows[0]
    second = next(r for r in rows[1:] if r["SFZHM"] and r["HH"] != first["HH"])
    return {"T_HJ_JMXX": [first, second]}


@pytest.mark.backends
def test_push_creates_then_updates_residents(api: Api, samples: Path) -> None:
    """Pushed rows become residents served by GET /v1/residents; a later push of a death updates one."""
    batch = _two(samples)
    r = api.push("civil_affairs", batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["created"], body["updated"], body["quarantined"]) == (2, 2, 0, 0)
    listed = api.get("/v1/residents", limit=10)
    assert listed.status_code == 200, listed.text
    names = {p["name"] for p in listed.json()["items"]}
    assert names == {row["XM"].strip() for row in batch["T_HJ_JMXX"]}

    changed = copy.deepcopy(batch)
    changed["T_HJ_JMXX"][0].update(RYZT="2", GXSJ="2026-11-02 09:30:00")
    r = api.push("civil_affairs", changed)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 1, 1)
    statuses = {p["name"]: p["status"] for p in api.get("/v1/residents", limit=10).json()["items"]}
    assert statuses[batch["T_HJ_JMXX"][0]["XM"].strip()] == "deceased"


@pytest.mark.backends
def test_replay_changes_nothing_and_another_body_is_refused(api: Api, samples: Path) -> None:
    """The same key and body get the first answer and change nothing; the key with another body: 422."""
    batch = _two(samples)
    first = api.push("civil_affairs", batch, key="batch-0001")
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    before = (api.rows(RESIDENTS), api.rows(SOURCES), api.rows(QUARANTINE))

    # Member order and whitespace do not make another body.
    reordered = {"T_HJ_JMXX": [dict(reversed(list(row.items()))) for row in batch["T_HJ_JMXX"]]}
    again = api.push("civil_affairs", reordered, key="batch-0001")
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (api.rows(RESIDENTS), api.rows(SOURCES), api.rows(QUARANTINE)) == before

    other = copy.deepcopy(batch)
    other["T_HJ_JMXX"][0]["XM"] = "改过的名字"
    refused = api.push("civil_affairs", other, key="batch-0001")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == "/problems/idempotency-key-reused"
    assert (api.rows(RESIDENTS), api.rows(SOURCES), api.rows(QUARANTINE)) == before

    # The key belongs to its client and source: another client may use the same string.
    notice = {"items": [_notice("notice-k1")]}
    assert api.push("publicity", notice, who="cms", key="batch-0001").status_code == 200


def test_quarantine_and_translation_match_a_sync(
    sqlite_api: Api, samples: Path, tmp_path: Path, _sqlite_template: Path
) -> None:
    """Pushing the whole civil-affairs sample stores and holds back exactly what a sync of it does."""
    tables = ("T_HJ_JMXX", "T_JZ_DBXX", "T_FW_FWSX")
    batch = {t: civil_rows(samples, t) for t in tables}
    r = sqlite_api.push("civil_affairs", batch)
    assert r.status_code == 200, r.text
    body = r.json()
    total = sum(len(rows) for rows in batch.values())
    accounted = ("created", "updated", "unchanged", "superseded", "quarantined")
    assert body["received"] == total == sum(body[k] for k in accounted)

    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    held = {h["key"]: h["reason"] for h in expected["held_back"] if h["source"] == "civil_affairs"}
    quarantined = {h["key"]: h["reason"] for h in body["held_back"]}
    # missing_id is no quarantine: such a person is kept as a resident flagged needs_review.
    assert {k: v for k, v in held.items() if v != "missing_id"}.items() <= quarantined.items()
    assert sum(body["quarantined_by_reason"].values()) == body["quarantined"] == len(body["held_back"])

    synced_db = tmp_path / "synced.db"
    shutil.copyfile(_sqlite_template, synced_db)
    synced = make_sync_engine(f"sqlite:///{synced_db}")
    try:
        url = f"sqlite:///{samples / 'civil_affairs.sqlite'}"
        report = run_sync(synced, ["civil_affairs"], config=config_from_dict({"civil_affairs": {"url": url}}))
        assert report.ok
        queries = (
            "SELECT record_key, national_id, content_hash FROM resident_source",
            "SELECT record_key, reason, message FROM quarantine WHERE released_at IS NULL",
            "SELECT id, kind, status FROM enrollment",
            "SELECT id, doc FROM service",
        )
        with synced.connect() as conn:
            from_sync = [sorted(tuple(r) for r in conn.exec_driver_sql(q)) for q in queries]
        assert [sqlite_api.rows(q) for q in queries] == from_sync
    finally:
        synced.dispose()


def _notice(guid: str, **extra: Any) -> dict[str, Any]:
    return {
        "guid": guid,
        "title": "关于冬季防火的通知",
        "link": f"https://media.shifan.example/n/{guid}",
        "description": '<p>请做好冬季防火。</p><script>alert(1)</script><img src="x" onerror="alert(2)">',
        "pubDate": "Mon, 02 Nov 2026 09:00:00 +0800",
        "category": "通知公告",
        "gov:region": ["511599000000"],
        "gov:audience": ["全体村民"],
        **extra,
    }


def test_publicity_pushes_notices(api: Api) -> None:
    """A pushed notice is served by GET /v1/notices, sanitised; an edit (newer pubDate) replaces it."""
    r = api.push(
        "publicity", {"items": [_notice("notice-p1"), _notice("notice-p2", category="不存在")]}, who="cms"
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["quarantined"]) == (1, 1)
    assert body["held_back"][0]["key"] == "notice-p2"
    assert body["held_back"][0]["reason"] == "invalid_code"  # as a sync of the feed would say
    listed = api.get("/v1/notices", who="cms")
    assert listed.status_code == 200, listed.text
    (notice,) = [n for n in listed.json()["items"] if n["id"] == "notice-p1"]
    assert "script" not in notice["body_html"] and "onerror" not in notice["body_html"]

    edited = _notice(
        "notice-p1", title="关于冬季防火的通知（更新）", pubDate="Tue, 03 Nov 2026 09:00:00 +0800"
    )
    r = api.push("publicity", {"items": [edited]}, who="cms")
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
    titles = {n["id"]: n["title"] for n in api.get("/v1/notices", who="cms").json()["items"]}
    assert titles["notice-p1"] == "关于冬季防火的通知（更新）"


def test_an_enrolment_pushed_before_its_resident_waits_in_quarantine(sqlite_api: Api, samples: Path) -> None:
    """As in a sync: held back as unknown_resident, released by the push that brings the resident."""
    api = sqlite_api
    enrolment = civil_rows(samples, "T_JZ_DBXX")[0]
    resident = next(r for r in civil_rows(samples, "T_HJ_JMXX") if r["JMID"] == enrolment["JMID"])
    r = api.push("civil_affairs", {"T_JZ_DBXX": [enrolment]})
    assert r.status_code == 200, r.text
    assert [(h["key"], h["reason"]) for h in r.json()["held_back"]] == [
        (enrolment["DBID"], "unknown_resident")
    ]
    r = api.push("civil_affairs", {"T_HJ_JMXX": [resident]})
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["released"]) == (1, 0)  # the answer counts the pushed records
    assert api.rows("SELECT record_key FROM enrollment") == [(enrolment["DBID"],)]
    assert api.rows("SELECT record_key FROM quarantine WHERE released_at IS NULL") == []


def test_a_corrected_record_is_released_from_quarantine(sqlite_api: Api, samples: Path) -> None:
    """A record held back for a bad citizen ID is released when the department pushes it corrected."""
    api = sqlite_api
    row = civil_rows(samples, "T_HJ_JMXX")[0]
    wrong = {**row, "SFZHM": row["SFZHM"][:-1] + ("0" if row["SFZHM"][-1] != "0" else "1")}
    r = api.push("civil_affairs", {"T_HJ_JMXX": [wrong]})
    assert [(h["key"], h["reason"]) for h in r.json()["held_back"]] == [(row["JMID"], "invalid_id")]
    r = api.push("civil_affairs", {"T_HJ_JMXX": [row]})
    assert (r.json()["created"], r.json()["released"], r.json()["quarantined"]) == (1, 1, 0), r.text
    assert api.rows("SELECT record_key FROM quarantine WHERE released_at IS NULL") == []


def test_two_copies_of_a_record_in_one_batch_are_both_accounted_for(sqlite_api: Api, samples: Path) -> None:
    """The later copy is stored (as in a sync) and the earlier one is counted as superseded, not dropped."""
    row = civil_rows(samples, "T_HJ_JMXX")[0]
    later = {**row, "LXDH": "13900000000"}
    r = sqlite_api.push("civil_affairs", {"T_HJ_JMXX": [row, later]})
    assert r.status_code == 200, r.text
    assert (r.json()["received"], r.json()["created"], r.json()["superseded"]) == (2, 1, 1)
    [(values,)] = sqlite_api.rows('SELECT "values" FROM resident_source')
    assert json.loads(values)["phone"] == "13900000000"


def test_pushed_notices_are_safe_in_every_field(api: Api) -> None:
    """Title and guid markup, a javascript: link and entity-encoded markup never come back live."""
    items = [
        _notice("<script>alert(1)</script>"),
        _notice(
            "notice-x1",
            title="<script>alert(1)</script>防火",
            link="javascript:alert(1)//http://x",
            description="<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        ),
    ]
    r = api.push("publicity", {"items": items}, who="cms")
    assert r.status_code == 200, r.text
    assert r.json()["quarantined"] == 1  # the guid with markup is refused
    listed = api.get("/v1/notices", who="cms")
    (notice,) = [n for n in listed.json()["items"] if n["id"] == "notice-x1"]
    assert "<" not in notice["title"] and "script" not in notice["title"]
    assert notice["link"] is None
    assert "<script" not in notice["body_text"].lower()
    assert "<script" not in listed.text


def test_a_push_is_counted_by_outcome_and_by_quarantine_reason(
    sqlite_url: str, tmp_path: Path, samples: Path
) -> None:
    """The sync-record and quarantine instruments count what a push answered, outcome by outcome."""
    from fastapi.testclient import TestClient
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from gateway.app import create_app
    from tests.auth.helpers import auth_settings

    reader = InMemoryMetricReader()
    settings = auth_settings(sqlite_url, sources_config=tmp_path / "absent.yaml")
    app = create_app(settings, meter_provider=MeterProvider(metric_readers=[reader]))
    engine = make_sync_engine(sqlite_url)
    try:
        with TestClient(app, raise_server_exceptions=False) as tc:
            r = Api(tc, engine).push("civil_affairs", {"T_HJ_JMXX": civil_rows(samples, "T_HJ_JMXX")})
    finally:
        engine.dispose()
    assert r.status_code == 200, r.text
    body = r.json()
    data = reader.get_metrics_data()
    assert data is not None

    def counted(name: str, key: str) -> dict[str, int]:
        return {
            str(p.attributes[key]): p.value
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == name
            for p in m.data.data_points
            if p.attributes["source"] == "civil_affairs"
        }

    outcomes = counted("xz.sync.records", "outcome")
    assert outcomes["created"] == body["created"] > 0
    assert outcomes.get("quarantined", 0) == body["quarantined"] > 0
    assert counted("xz.quarantine.records", "reason") == body["quarantined_by_reason"]
