"""Quarantine operations and quality feedback over the API: reach, masking, decisions, CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.sdk.runner import run_connectors
from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.support.civil import CivilDb, make_id

GOOD = make_id("19700101", 91)
BAD = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")


@pytest.fixture
def civil(tmp_path: Path, store_engine: Engine) -> CivilDb:
    """A civil-affairs source with one good and one mistyped ID, synced into the store."""
    db = CivilDb(tmp_path / "civil.sqlite")
    db.person("A", GOOD, name="王五")
    db.person("B", BAD, name="李四", hh="H2")
    sync(store_engine, db)
    return db


def sync(engine: Engine, civil: CivilDb) -> None:
    """Sync the civil-affairs source once."""
    connector = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))
    assert run_connectors(engine, [connector], today=dt.date(2026, 11, 1)).ok


@pytest.fixture
def app(store_url: str) -> Iterator[TestClient]:
    """Return a test client of the app (no token yet)."""
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        yield c


def as_client(c: TestClient, engine: Engine, *, department: str, scopes: list[str]) -> dict[str, str]:
    """Register a client and return its Authorization header."""
    client_id, secret = register(engine, department=department, scopes=scopes)
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(c, client_id, secret)}"}


@pytest.mark.backends
def test_reach_and_masking(app: TestClient, store_engine: Engine, civil: CivilDb) -> None:
    """A reader of the department sees keys and reasons, raw masked; a steward sees raw; HR sees nothing."""
    reader = as_client(app, store_engine, department="civil_affairs", scopes=["quarantine:read"])
    r = app.get("/v1/quarantine", headers=reader, params={"source": "civil_affairs"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["record_key"] == "B" and item["reason"] == "invalid_id"
    assert item["raw"]["SFZHM"] == "***" and item["raw"]["XM"] == "***"
    steward = as_client(
        app, store_engine, department="civil_affairs", scopes=["quarantine:read", "quarantine:write"]
    )
    assert app.get(f"/v1/quarantine/{item['id']}", headers=steward).json()["raw"]["SFZHM"] == BAD
    hr = as_client(app, store_engine, department="hr", scopes=["quarantine:read", "quarantine:write"])
    assert app.get("/v1/quarantine", headers=hr).json()["items"] == []
    assert app.get(f"/v1/quarantine/{item['id']}", headers=hr).status_code == 404
    assert (
        app.post(
            f"/v1/quarantine/{item['id']}:resolve", headers=reader, json={"action": "dismiss", "reason": "x"}
        ).status_code
        == 403
    )
    assert app.get("/v1/quarantine", headers=reader, params={"min_age_days": 3650}).json()["items"] == []


def test_steward_decisions(app: TestClient, store_engine: Engine, civil: CivilDb) -> None:
    """Retry replays the record at the next sync; dismiss closes it once (a second answer is 409)."""
    steward = as_client(
        app, store_engine, department="civil_affairs", scopes=["quarantine:read", "quarantine:write"]
    )
    (item,) = app.get("/v1/quarantine", headers=steward).json()["items"]
    url = f"/v1/quarantine/{item['id']}:resolve"
    r = app.post(url, headers=steward, json={"action": "retry", "reason": "规则已更新"})
    assert r.status_code == 200 and r.json()["resolution"] == "retry"
    sync(store_engine, civil)  # still invalid: held again, the retry consumed
    with store_engine.connect() as conn:
        assert conn.execute(text("SELECT resolution FROM quarantine")).scalar_one() is None
    r = app.post(url, headers=steward, json={"action": "dismiss", "reason": "测试数据"})
    assert (
        r.status_code == 200 and r.json()["resolution"] == "dismissed" and "测试数据" in r.json()["message"]
    )
    again = app.post(url, headers=steward, json={"action": "dismiss", "reason": "again"})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    bad = app.post(url, headers=steward, json={"action": "explode", "reason": "x"})
    assert bad.status_code == 422


def test_quality_feedback_and_csv(app: TestClient, store_engine: Engine, civil: CivilDb) -> None:
    """The department sees what to correct (CSV in its own keys) and, once corrected, what was released."""
    reader = as_client(app, store_engine, department="civil_affairs", scopes=["quarantine:read"])
    report = app.get("/v1/quality/civil_affairs", headers=reader).json()
    assert report["open_by_reason"] == {"invalid_id": 1}
    assert [line["record_key"] for line in report["to_correct"]] == ["B"]
    csv = app.get("/v1/quality/civil_affairs", headers=reader, params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "\nB,invalid_id," in csv.text.replace("\r\n", "\n")
    civil.person("B", make_id("19700101", 93), name="李四", hh="H2")
    sync(store_engine, civil)
    report = app.get("/v1/quality/civil_affairs", headers=reader).json()
    assert report["open_by_reason"] == {} and report["released_total"] == 1
    assert [line["record_key"] for line in report["released"]] == ["B"]
    hr = as_client(app, store_engine, department="hr", scopes=["quarantine:read"])
    assert app.get("/v1/quality/civil_affairs", headers=hr).status_code == 404


def test_steward_links_or_splits_an_id_conflict(
    app: TestClient, store_engine: Engine, tmp_path: Path
) -> None:
    """重号: HR's steward links its record (merged at the next sync) or splits it (never reopened)."""
    from connectors.demo.fake_hr import FakeHrServer
    from connectors.demo.fake_hr_store import PersonStore
    from connectors.hr_api.connector import HrApiConnector, HrApiSettings
    from tests.connectors.test_reconcile import hr_item
    from tests.support.civil import HR_KEY

    civil = CivilDb(tmp_path / "c2.sqlite")
    civil.person("A", GOOD, name="王五", birth="19700101")
    twin = {**hr_item("P9", GOOD, name="王五一"), "birthDate": "2001-02-03"}
    with FakeHrServer(PersonStore.from_items([twin]), api_key=HR_KEY) as hr:

        def both() -> None:
            connectors = [
                CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url))),
                HrApiConnector(HrApiSettings(base_url=hr.url, api_key=SecretStr(HR_KEY), services=False)),
            ]
            assert run_connectors(store_engine, connectors, today=dt.date(2026, 11, 1)).ok

        both()
        steward = as_client(
            app, store_engine, department="hr", scopes=["quarantine:read", "quarantine:write"]
        )
        (item,) = app.get("/v1/quarantine", headers=steward, params={"reason": "id_conflict"}).json()["items"]
        url = f"/v1/quarantine/{item['id']}:resolve"
        wrong = app.post(url, headers=steward, json={"action": "retry", "reason": "x"})
        assert wrong.status_code == 422 and wrong.json()["type"] == "/problems/action-not-applicable"
        r = app.post(url, headers=steward, json={"action": "link", "reason": "核实为同一人，改名"})
        assert r.status_code == 200 and r.json()["resolution"] == "linked"
        both()
        with store_engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM employment")).all()
            review = conn.execute(text("SELECT needs_review FROM resident")).scalar_one()
        assert len(status) == 1 and not review
