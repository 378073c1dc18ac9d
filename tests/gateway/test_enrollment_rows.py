"""Enrolment rows follow the enrolment grant's own regions, in SQL, as well as the residents grant's.

A client may read a whole township's residents and yet only one village's enrolments (issue 16): every
enrolment read (list, by id, a resident's, the change feed, explain, the audit record) must keep to the
enrolment grant's villages, and an enrolment of a resident the client may not read stays hidden even
where the enrolment grant reaches further (the guide: an enrolment is shown only with its resident).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from policies.loader import DEFAULT_DIR as SHIPPED
from schemas.regions import region_prefix
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.changes.support import feed, sync
from tests.support.civil import CivilDb, make_id

QINGSHAN, VILLAGE, ZHULIN, SHIMEN_VILLAGE = "511599100000", "511599100201", "511599100202", "511599200201"
PURPOSE = "social-assistance-review"
READS = ["enrollments:read", "residents:read", "changes:read"]
# (jmid, village, enrolments): two residents in 青山村, one elsewhere in 青山镇, one in another township.
PEOPLE = {
    "A": (VILLAGE, ("D1", "D2")),
    "A2": (VILLAGE, ("D3",)),
    "B": (ZHULIN, ("D4", "D5")),
    "C": (SHIMEN_VILLAGE, ("D6",)),
}
IN_VILLAGE = {"civil_affairs:D1", "civil_affairs:D2", "civil_affairs:D3"}
IN_TOWNSHIP = IN_VILLAGE | {"civil_affairs:D4", "civil_affairs:D5"}
# The records the audit log says a client's enrolment listings disclosed.
DISCLOSED = text(
    "SELECT r.record_id FROM audit_event e JOIN audit_event_record r ON r.seq = e.seq "
    "WHERE e.client_id = :client AND e.route = '/v1/enrollments'"
)


def _grants(client: str, *, residents: str, enrollments: str) -> str:
    """Return YAML grants giving `client` residents in one subtree and enrolments in another."""
    return f"""
  - id: {client}-residents
    client: {client}
    resource: residents
    fields: [name, sex, birth_date, region_code, status]
    regions: ["{residents}"]
    purposes: [{PURPOSE}]
  - id: {client}-enrollments
    client: {client}
    resource: enrollments
    fields: ["*"]
    regions: ["{enrollments}"]
    purposes: [{PURPOSE}]
    approval: 示民函〔2026〕99号
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    """The shipped policy plus two township clients whose enrolment and resident grants differ."""
    out = tmp_path / "policy"
    shutil.copytree(SHIPPED, out, ignore=shutil.ignore_patterns("tests"))
    grants = out / "grants.yaml"
    extra = _grants("township-wide", residents=QINGSHAN, enrollments=VILLAGE) + _grants(
        "village-residents", residents=VILLAGE, enrollments=QINGSHAN
    )
    grants.write_text(grants.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return out


@pytest.fixture
def tc(store_url: str, store_engine: Engine, tmp_path: Path, policy: Path) -> Iterator[TestClient]:
    """An app under that policy over a store synced from a civil-affairs source with six enrolments."""
    civil = CivilDb(tmp_path / "civil.sqlite")
    for n, (jmid, (village, benefits)) in enumerate(PEOPLE.items(), start=1):
        civil.person(jmid, make_id("19600101", n), hh=f"H{n}", village=village)
        for dbid in benefits:
            civil.benefit(dbid, jmid)
    sync(store_engine, civil)
    settings = auth_settings(store_url, policy_dir=policy)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def headers(
    tc: TestClient, engine: Engine, client_id: str, *, department: str = "township", region: str = QINGSHAN
) -> dict[str, str]:
    """Register `client_id` and return its bearer token and purpose headers."""
    cid, secret = register(
        engine, client_id=client_id, department=department, region_code=region, scopes=READS
    )
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(tc, cid, secret)}", "X-Purpose": PURPOSE}


def resident(engine: Engine, jmid: str) -> str:
    """Return the gateway id of a person of PEOPLE."""
    number = make_id("19600101", list(PEOPLE).index(jmid) + 1)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM resident WHERE national_id = :n"), {"n": number})
        return str(found.scalar_one())


def pages(tc: TestClient, h: dict[str, str], path: str, **params: str) -> list[list[dict[str, Any]]]:
    """Follow a listing one item a page; return every page's items."""
    out: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        r = tc.get(path, headers=h, params={**params, "limit": "1", **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        out.append(r.json()["items"])
        cursor = r.json()["next"]
        if cursor is None:
            return out


def ids(items: list[dict[str, Any]]) -> set[str]:
    """Return the ids of listed records."""
    return {i["id"] for i in items}


@pytest.mark.backends
def test_enrolment_grant_of_one_village_keeps_a_township_reader_to_it(
    tc: TestClient, store_engine: Engine
) -> None:
    """Residents of the township, enrolments of 青山村 only: list, pages, filters, by id, per resident."""
    control = headers(tc, store_engine, "civil-township", department="civil_affairs")
    # The data is there: the department's own township client reads every enrolment of 青山镇.
    assert ids(tc.get("/v1/enrollments", headers=control).json()["items"]) == IN_TOWNSHIP
    h = headers(tc, store_engine, "township-wide")
    listed = tc.get("/v1/enrollments", headers=h)
    assert listed.status_code == 200, listed.text
    assert ids(listed.json()["items"]) == IN_VILLAGE
    # Rows are cut in SQL: one-item pages are all full and end exactly at the last reachable enrolment.
    walked = pages(tc, h, "/v1/enrollments")
    assert [len(p) for p in walked] == [1, 1, 1] and ids([i for p in walked for i in p]) == IN_VILLAGE
    # A filter narrows and never widens: the residents grant's township, or a village outside, adds nothing.
    township = tc.get("/v1/enrollments", headers=h, params={"region": QINGSHAN})
    assert ids(township.json()["items"]) == IN_VILLAGE
    assert tc.get("/v1/enrollments", headers=h, params={"region": ZHULIN}).json()["items"] == []
    active = tc.get("/v1/enrollments", headers=h, params={"status": "active", "limit": "2"}).json()
    assert len(active["items"]) == 2 and ids(active["items"]) < IN_VILLAGE and active["next"] is not None
    # One enrolment outside the grant answers exactly like one that does not exist.
    outside = tc.get("/v1/enrollments/civil_affairs:D4", headers=h)
    missing = tc.get("/v1/enrollments/civil_affairs:D9", headers=h)
    assert outside.status_code == missing.status_code == 404
    assert outside.headers["content-type"] == missing.headers["content-type"] == "application/problem+json"
    assert outside.json()["detail"].replace("D4", "D9") == missing.json()["detail"]
    assert {k: v for k, v in outside.json().items() if k not in ("detail", "instance", "trace_id")} == {
        k: v for k, v in missing.json().items() if k not in ("detail", "instance", "trace_id")
    }
    assert tc.get("/v1/enrollments/civil_affairs:D1", headers=h).status_code == 200
    # B is a readable resident of the township, whose enrolments the grant does not reach.
    b = resident(store_engine, "B")
    assert tc.get(f"/v1/residents/{b}", headers=h).status_code == 200
    assert tc.get(f"/v1/residents/{b}/enrollments", headers=h).json()["items"] == []
    a = resident(store_engine, "A")
    assert [len(p) for p in pages(tc, h, f"/v1/residents/{a}/enrollments")] == [1, 1]


@pytest.mark.backends
def test_enrolment_grant_wider_than_residents_grant_shows_readable_residents_only(
    tc: TestClient, store_engine: Engine
) -> None:
    """Enrolments of the township, residents of 青山村: an enrolment needs its resident readable too."""
    h = headers(tc, store_engine, "village-residents")
    assert ids(tc.get("/v1/enrollments", headers=h).json()["items"]) == IN_VILLAGE
    assert [len(p) for p in pages(tc, h, "/v1/enrollments")] == [1, 1, 1]
    assert tc.get("/v1/enrollments", headers=h, params={"region": ZHULIN}).json()["items"] == []
    assert tc.get("/v1/enrollments/civil_affairs:D4", headers=h).status_code == 404
    b = resident(store_engine, "B")
    assert tc.get(f"/v1/residents/{b}/enrollments", headers=h).status_code == 404


def test_change_feed_shows_enrolment_events_of_the_enrolment_grants_rows(
    tc: TestClient, store_engine: Engine
) -> None:
    """The feed shows every township resident's creation but 青山村's enrolment starts only."""
    for client in ("township-wide", "village-residents"):
        h = headers(tc, store_engine, client)
        seen = feed(tc, h)
        enrolments = [e for e in seen if e["resource"] == "enrollment"]
        assert {e["id"] for e in enrolments} == IN_VILLAGE, client
        assert {e["event"] for e in enrolments} == {"enrollment.started"}
        residents = {e["id"] for e in seen if e["resource"] == "resident"}
        readable = ("A", "A2", "B") if client == "township-wide" else ("A", "A2")
        assert residents == {resident(store_engine, p) for p in readable}


def test_explain_and_disclosure_reports_name_the_enrolment_grants_rows(
    tc: TestClient, store_engine: Engine
) -> None:
    """Explain gives the enrolment grant's village; only 青山村 residents' reports list the enrolment read."""
    admin_id, secret = register(store_engine, department="county_it", scopes=["admin:policies"])
    assert secret is not None
    admin = {"Authorization": f"Bearer {fetch_token(tc, admin_id, secret)}"}
    h = headers(tc, store_engine, "township-wide")
    r = tc.get(
        "/v1/policy/explain",
        params={"client": "township-wide", "purpose": PURPOSE, "resource": "enrollments"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert [row["region_prefixes"] for row in r.json()["rows"]] == [[region_prefix(VILLAGE)]]
    assert tc.get("/v1/enrollments", headers=h).status_code == 200
    auditor_id, secret = register(store_engine, scopes=["disclosures:read"])
    assert secret is not None
    auditor = {"Authorization": f"Bearer {fetch_token(tc, auditor_id, secret)}"}
    for jmid, told in (("A", True), ("A2", True), ("B", False), ("C", False)):
        report = tc.get(f"/v1/residents/{resident(store_engine, jmid)}/disclosures", headers=auditor)
        assert report.status_code == 200, report.text
        assert any(e["client_id"] == "township-wide" for e in report.json()["items"]) is told, jmid
    with store_engine.connect() as conn:
        disclosed = set(conn.execute(DISCLOSED, {"client": "township-wide"}).scalars())
    assert disclosed == IN_VILLAGE | {resident(store_engine, p) for p in ("A", "A2")}
