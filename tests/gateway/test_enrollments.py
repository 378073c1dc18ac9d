"""GET /v1/enrollments, /{id} and /v1/residents/{id}/enrollments: fields by policy, rows by resident."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.settings import Settings
from policies.loader import DEFAULT_DIR as SHIPPED
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.connectors.test_reconcile import hr_item
from tests.support.civil import CivilDb, make_id, sync_civil_and_hr

NUMBER = make_id("19600101", 95)


@pytest.fixture
def app(store_url: str, store_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """An app over a store with one resident of 青山村: a 低保 enrolment (civil) and an insurance (HR)."""
    civil = CivilDb(tmp_path / "civil.sqlite")
    civil.person("A", NUMBER)
    civil.benefit("D1", "A", kind="01")
    sync_civil_and_hr(store_engine, civil=civil, hr_items=[hr_item("P1", NUMBER)])
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        yield c


READS = ["enrollments:read", "residents:read", "employment:read", "migrations:read"]


def headers(
    c: TestClient, engine: Engine, *, department: str, purpose: str, scopes: list[str] = READS, **kw: str
) -> dict[str, str]:
    """Register a client with enrolment, resident, employment and migration scopes; return its headers."""
    client_id, secret = register(engine, department=department, scopes=scopes, **kw)
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(c, client_id, secret)}", "X-Purpose": purpose}


def test_civil_affairs_reads_every_enrolment(app: TestClient, store_engine: Engine) -> None:
    """The county's civil affairs sees the 低保 amount and HR's unemployment insurance status."""
    h = headers(app, store_engine, department="civil_affairs", purpose="social-assistance-review")
    r = app.get("/v1/enrollments", headers=h)
    assert r.status_code == 200, r.text
    items = {i["id"]: i for i in r.json()["items"]}
    assert items["civil_affairs:D1"]["amount_monthly"] == "580.00"
    assert items["hr_api:P1/UNEMPLOYMENT"]["status"] == "active"
    one = app.get("/v1/enrollments/hr_api:P1/UNEMPLOYMENT", headers=h)
    assert one.status_code == 200 and one.json()["kind"] == "unemployment"
    assert app.get("/v1/enrollments", headers=h, params={"kind": "minimum_living_allowance"}).json()[
        "items"
    ] == [items["civil_affairs:D1"]]
    with store_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM resident")).scalar_one()
    mine = app.get(f"/v1/residents/{rid}/enrollments", headers=h)
    assert mine.status_code == 200 and len(mine.json()["items"]) == 2
    assert app.get("/v1/residents/RNOSUCH00000/enrollments", headers=h).status_code == 404


def test_hr_sees_status_never_the_amount(app: TestClient, store_engine: Engine) -> None:
    """HR (pension eligibility) sees whether 低保 is received, not how much; other purposes: refused."""
    h = headers(app, store_engine, department="hr", purpose="pension-eligibility")
    r = app.get("/v1/enrollments/civil_affairs:D1", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and "amount_monthly" not in r.json()
    listed = app.get("/v1/enrollments", headers=h).json()["items"]
    assert all("amount_monthly" not in i for i in listed)
    refused = app.get("/v1/enrollments", headers={**h, "X-Purpose": "employment-service"})
    assert refused.status_code == 403


@pytest.mark.backends
def test_rows_follow_the_resident(app: TestClient, store_engine: Engine) -> None:
    """A civil-affairs client of another township reads no enrolment, and a single one answers 404."""
    h = headers(
        app,
        store_engine,
        department="civil_affairs",
        purpose="social-assistance-review",
        region_code="511599200000",
    )
    assert app.get("/v1/enrollments", headers=h).json()["items"] == []
    assert app.get("/v1/enrollments/civil_affairs:D1", headers=h).status_code == 404


def test_employment_and_migrations_follow_their_own_grants(app: TestClient, store_engine: Engine) -> None:
    """HR reads its employment record; civil affairs (低保 review) its status but not the employer."""
    with store_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM resident")).scalar_one()
    hr = headers(app, store_engine, department="hr", purpose="employment-service")
    r = app.get(f"/v1/residents/{rid}/employment", headers=hr)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "migrant" and r.json()["employer"] == "某厂"
    civil = headers(app, store_engine, department="civil_affairs", purpose="social-assistance-review")
    r = app.get(f"/v1/residents/{rid}/employment", headers=civil)
    assert r.status_code == 200 and r.json()["status"] == "migrant" and "employer" not in r.json()
    assert app.get(f"/v1/residents/{rid}/migrations", headers=civil).json() == {"items": [], "next": None}
    pension = headers(app, store_engine, department="hr", purpose="pension-eligibility")
    assert app.get(f"/v1/residents/{rid}/migrations", headers=pension).status_code == 403
    other = headers(
        app,
        store_engine,
        department="hr",
        purpose="employment-service",
        region_code="511599200000",
    )
    assert app.get(f"/v1/residents/{rid}/employment", headers=other).status_code == 404


def test_reading_enrolments_lands_in_the_residents_disclosure_record(
    app: TestClient, store_engine: Engine
) -> None:
    """The audit event of an enrolment read names the resident, so their disclosure report shows it."""
    h = headers(app, store_engine, department="civil_affairs", purpose="social-assistance-review")
    assert app.get("/v1/enrollments/civil_affairs:D1", headers=h).status_code == 200
    with store_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM resident")).scalar_one()
    auditor = {
        "Authorization": "Bearer "
        + fetch_token(app, *register_pair(store_engine, scopes=["disclosures:read"])),
    }
    r = app.get(f"/v1/residents/{rid}/disclosures", headers=auditor)
    assert r.status_code == 200, r.text
    (event,) = r.json()["items"]
    assert "amount_monthly" in event["fields_disclosed"], event


def register_pair(engine: Engine, *, scopes: list[str]) -> tuple[str, str]:
    """Register a client and return its id and secret."""
    client_id, secret = register(engine, department="civil_affairs", scopes=scopes)
    assert secret is not None
    return client_id, secret


@pytest.mark.backends
def test_region_filter_selects_the_residents_subtree(app: TestClient, store_engine: Engine) -> None:
    """`region` keeps the enrolments of residents registered in the subtree (in SQL, with the row scopes)."""
    for department, purpose in (("civil_affairs", "social-assistance-review"), ("hr", "pension-eligibility")):
        h = headers(app, store_engine, department=department, purpose=purpose)
        inside = app.get("/v1/enrollments", headers=h, params={"region": "511599100000"})
        assert inside.status_code == 200, inside.text
        assert {i["id"] for i in inside.json()["items"]} >= {"civil_affairs:D1"}
        village = app.get("/v1/enrollments", headers=h, params={"region": "511599100201"}).json()["items"]
        assert [i["id"] for i in village] == [i["id"] for i in inside.json()["items"]]
        outside = app.get("/v1/enrollments", headers=h, params={"region": "511599200000"})
        assert outside.status_code == 200 and outside.json()["items"] == []
    bad = app.get("/v1/enrollments", headers=h, params={"region": "51159910"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def with_grants(app: TestClient, tmp_path: Path, edit: Callable[[str], str]) -> Settings:
    """Return the app's settings over a copy of the shipped policy whose grants.yaml `edit` rewrote."""
    policy = tmp_path / "policy"
    shutil.copytree(SHIPPED, policy, ignore=shutil.ignore_patterns("tests"))
    grants = policy / "grants.yaml"
    grants.write_text(edit(grants.read_text(encoding="utf-8")), encoding="utf-8")
    settings: Settings = app.app.state.config.settings  # type: ignore[attr-defined]
    return settings.model_copy(update={"policy_dir": policy})


def test_region_filter_needs_the_residents_region_in_clear(
    store_engine: Engine, tmp_path: Path, app: TestClient
) -> None:
    """A client whose residents grant hides `region_code` cannot use `region` as an oracle (403)."""
    hr_residents = 'fields: ["@identity", phone, region_code, status, employment_status]'

    def hide_region(grants: str) -> str:
        assert hr_residents in grants
        return grants.replace(hr_residents, 'fields: ["@identity", phone, status]')

    settings = with_grants(app, tmp_path, hide_region)
    with TestClient(create_app(settings)) as c:
        h = headers(c, store_engine, department="hr", purpose="pension-eligibility")
        assert c.get("/v1/enrollments", headers=h).status_code == 200
        r = c.get("/v1/enrollments", headers=h, params={"region": "511599100000"})
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/filter-not-allowed") and r.json()["parameter"] == "region"


@pytest.mark.parametrize("detail", ["employment", "migrations"])
def test_employment_and_migrations_need_their_own_scope(
    app: TestClient, store_engine: Engine, detail: str
) -> None:
    """Residents and enrolments scopes are not enough: each detail has its scope (403 problem+json)."""
    with store_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM resident")).scalar_one()
    others = [s for s in READS if not s.startswith(detail)]
    h = headers(app, store_engine, department="hr", purpose="employment-service", scopes=others)
    r = app.get(f"/v1/residents/{rid}/{detail}", headers=h)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"{detail}:read" in r.json()["detail"]
    granted = headers(app, store_engine, department="hr", purpose="employment-service")
    assert app.get(f"/v1/residents/{rid}/{detail}", headers=granted).status_code == 200


def _employment_grants(client: str, *, employment: str) -> str:
    """Return YAML grants: residents of 青山镇, employment (status only) of the subtree `employment`."""
    return f"""
  - id: {client}-residents
    client: {client}
    resource: residents
    fields: [name, region_code, status]
    regions: ["511599100000"]
    purposes: [social-assistance-review]
  - id: {client}-employment
    client: {client}
    resource: employment
    fields: [resident_id, status, since, source, record_key]
    regions: ["{employment}"]
    purposes: [social-assistance-review]
    approval: 人社函〔2026〕99号
"""


@pytest.mark.backends
def test_employment_rows_follow_the_employment_grants_regions(
    store_engine: Engine, tmp_path: Path, app: TestClient
) -> None:
    """A resident of 青山村 readable through the township: their employment only where its grant reaches."""
    extra = _employment_grants("zhulin-employment", employment="511599100202") + _employment_grants(
        "qingshan-employment", employment="511599100000"
    )
    settings = with_grants(app, tmp_path, lambda grants: grants + extra)
    with store_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM resident")).scalar_one()
    with TestClient(create_app(settings)) as c:
        wanted = dict(department="township", purpose="social-assistance-review", region_code="511599100000")
        inside = headers(c, store_engine, client_id="qingshan-employment", **wanted)
        r = c.get(f"/v1/residents/{rid}/employment", headers=inside)
        assert r.status_code == 200 and r.json()["status"] == "migrant", r.text
        outside = headers(c, store_engine, client_id="zhulin-employment", **wanted)
        assert c.get(f"/v1/residents/{rid}", headers=outside).status_code == 200
        r = c.get(f"/v1/residents/{rid}/employment", headers=outside)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text
