"""GET /v1/changes: real syncs write the log; the feed resumes without gaps or duplicates and shows each
caller only what its policy lets it read, with the fields it may see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from tests.auth.helpers import auth_settings
from tests.changes.support import COUNTY, QINGSHAN, SHIMEN, api_client, civil_reader, feed, hr_reader, sync
from tests.support.civil import CivilDb, make_id

FEED_SCOPES = ["changes:read", "residents:read", "notices:read", "enrollments:read"]


@pytest.fixture
def civil(tmp_path: Path) -> CivilDb:
    """A civil-affairs source with three people of 青山村 (one on minimum living allowance)."""
    db = CivilDb(tmp_path / "civil.sqlite")
    for i, jmid in enumerate(("A", "B", "C"), start=1):
        db.person(jmid, make_id("19500101", i), hh=f"H{i}")
    db.benefit("D1", "A")
    return db


@pytest.fixture
def tc(store_url: str, store_engine: Engine) -> Iterator[TestClient]:
    """An app over a fresh store (SQLite and PostgreSQL)."""
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        yield c


def test_a_death_is_one_feed_entry_shown_as_each_reader_may_read_it(
    tc: TestClient, store_engine: Engine, civil: CivilDb
) -> None:
    """HR sees the death with the status field; another township's reader sees nothing at all."""
    sync(store_engine, civil)
    hr = hr_reader(tc, store_engine, scopes=FEED_SCOPES)
    shimen = civil_reader(tc, store_engine, region=SHIMEN, scopes=FEED_SCOPES)
    first = feed(tc, hr)
    assert {e["change"] for e in first} == {"created"} and len({e["id"] for e in first}) == 4
    # HR sees 低保 start and stop (to stop or start payments), never the amount (issue 16).
    (benefit,) = [e for e in first if e["resource"] == "enrollment"]
    assert "status" in benefit["fields"] and "amount_monthly" not in benefit["fields"]
    # HR's grant names identity, phone, region, status, employment and address (masked): never tags.
    assert all("tags" not in e["fields"] and "ethnicity" not in e["fields"] for e in first)
    since_hr = tc.get("/v1/changes", params={"limit": 500}, headers=hr).json()["next"]
    qingshan = civil_reader(tc, store_engine, region=QINGSHAN, scopes=FEED_SCOPES)
    assert len({e["id"] for e in feed(tc, qingshan) if e["resource"] == "resident"}) == 3
    since_qingshan = tc.get("/v1/changes", params={"limit": 500}, headers=qingshan).json()["next"]
    since_shimen = tc.get("/v1/changes", params={"limit": 500}, headers=shimen).json()["next"]

    civil.person("B", make_id("19500101", 2), hh="H2", status="2")  # B died
    sync(store_engine, civil)
    r = tc.get("/v1/changes", params={"since": since_hr}, headers=hr)
    assert r.status_code == 200, r.text
    deaths = [e for e in r.json()["items"] if e["event"] == "resident.deceased"]
    assert len(deaths) == 1 and r.json()["items"] == deaths
    death = deaths[0]
    assert death["status"] == "deceased" and death["fields"] == ["status"] and death["change"] == "updated"
    assert feed(tc, shimen) == []  # outside its region: not one entry, not even the creations
    later = tc.get("/v1/changes", params={"since": since_shimen}, headers=shimen).json()
    assert later["items"] == [] and later["more"] is False and later["next"] != since_shimen
    township = tc.get("/v1/changes", params={"since": since_qingshan}, headers=qingshan).json()["items"]
    assert [e["id"] for e in township if e["event"] == "resident.deceased"] == [death["id"]]
    with store_engine.connect() as conn:  # the page that disclosed the death is in the audit log
        routes = conn.execute(
            text(
                "SELECT e.route, e.purpose FROM audit_event e JOIN audit_event_record r ON r.seq = e.seq "
                "WHERE r.record_id = :rid"
            ),
            {"rid": death["id"]},
        ).all()
    assert ("/v1/changes", "pension-eligibility") in [tuple(r) for r in routes]

    civil_county = civil_reader(tc, store_engine, region=COUNTY, scopes=FEED_SCOPES)
    everything = feed(tc, civil_county)
    started = [e for e in everything if e["event"] == "enrollment.started"]
    assert len(started) == 1 and started[0]["resource"] == "enrollment"
    assert [e["id"] for e in everything if e["event"] == "resident.deceased"] == [death["id"]]
    assert "tags" in {f for e in everything for f in e["fields"]}  # civil affairs reads tags


@pytest.mark.backends
def test_feed_resumes_from_its_cursor_without_gaps_or_duplicates(
    tc: TestClient, store_engine: Engine, civil: CivilDb
) -> None:
    """Pages of one follow the log in order; changes made between pages are picked up once."""
    sync(store_engine, civil)
    hr = hr_reader(tc, store_engine, scopes=FEED_SCOPES)
    whole = feed(tc, hr)
    seqs: list[int] = []
    since = None
    for step in range(20):
        params: dict[str, object] = {"limit": 1}
        if since:
            params["since"] = since
        body = tc.get("/v1/changes", params=params, headers=hr).json()
        seqs.extend(e["seq"] for e in body["items"])
        since = body["next"]
        if step == 1:  # a change lands while the reader is half-way
            civil.person("C", make_id("19500101", 3), hh="H3", status="3")
            sync(store_engine, civil)
        if not body["more"]:
            break
    assert seqs == sorted(set(seqs))
    assert seqs[: len(whole)] == [e["seq"] for e in whole] and len(seqs) == len(whole) + 1
    last = tc.get("/v1/changes", params={"since": since}, headers=hr).json()
    assert last["items"] == [] and last["next"] == since and last["more"] is False
    moved = tc.get("/v1/changes", params={"limit": 500}, headers=hr).json()["items"][-1]
    assert moved["event"] == "resident.moved_out" and moved["seq"] == seqs[-1]


def test_refusals_are_problems(tc: TestClient, store_engine: Engine) -> None:
    """No purpose, no scope, a forged cursor: problem+json, never a silent empty feed."""
    hr = hr_reader(tc, store_engine, scopes=FEED_SCOPES)
    r = tc.get("/v1/changes", headers={"Authorization": hr["Authorization"]})
    assert r.status_code == 403 and r.json()["type"] == "/problems/purpose-required"
    r = tc.get("/v1/changes", params={"since": "not-a-cursor"}, headers=hr)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    reader = api_client(
        tc,
        store_engine,
        department="hr",
        region=COUNTY,
        purpose="pension-eligibility",
        scopes=["residents:read"],
    )
    r = tc.get("/v1/changes", headers=reader)
    assert r.status_code == 403 and r.json()["type"] == "/problems/insufficient-scope"
