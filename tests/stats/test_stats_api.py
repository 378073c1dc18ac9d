"""GET /v1/stats: counts aggregated in SQL on both backends, suppressed, scoped, never personal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.stats import repository
from gateway.stats.repository import Scope
from store.read import open_read_store
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.stats.data import COUNTY, QINGSHAN, SHIMEN, TODAY, TOWN_QS, TOWN_SM, ZHULIN, populate
from tests.support import factories

PROBLEM = "application/problem+json"


@pytest.mark.backends
async def test_counts_are_aggregated_in_sql(store_url: str, store_engine: Engine) -> None:
    factories.county(store_engine)
    populate(store_engine)
    db = await open_read_store(store_url, pool_size=2, tracer=trace.get_tracer("test"))
    try:
        villages = Scope(region=COUNTY, level="village")
        towns = Scope(region=COUNTY, level="township")
        assert await repository.elderly_living_alone(db, villages) == {QINGSHAN: 6, ZHULIN: 2, SHIMEN: 7}
        assert await repository.elderly_living_alone(db, towns) == {TOWN_QS: 8, TOWN_SM: 7}
        assert await repository.low_income_households(db, villages) == {QINGSHAN: 1, ZHULIN: 1}
        assert await repository.left_behind_children(db, towns) == {TOWN_SM: 3}
        assert await repository.migrant_workers(db, villages) == {
            (QINGSHAN, "广东省"): 6,
            (QINGSHAN, "浙江省"): 1,
            (QINGSHAN, ""): 1,
        }
        coverage = await repository.insurance_coverage(db, Scope(region=ZHULIN, level="village"), today=TODAY)
        # 竹林村 adults with a birth date: 2 elderly, 3 born 1980, 1 turning 18 today (not the 17-year-old).
        # Pension: one urban-rural, one employee (a stopped one does not count); medical: two active.
        assert coverage[ZHULIN] == (6, 2, 2)
        assert await repository.region_names(db, Scope(region=TOWN_QS, level="village")) == {
            QINGSHAN: "青山村",
            ZHULIN: "竹林村",
        }
    finally:
        await db.close()


def _client(store_url: str, engine: Engine, **register_kw: object) -> Iterator[TestClient]:
    factories.county(engine)
    populate(engine)
    client_id, secret = register(engine, **register_kw)  # type: ignore[arg-type]
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        assert secret is not None
        c.headers["Authorization"] = f"Bearer {fetch_token(c, client_id, secret)}"
        yield c


@pytest.fixture
def county_client(store_url: str, store_engine: Engine) -> Iterator[TestClient]:
    """A county-wide client holding statistics:read."""
    yield from _client(store_url, store_engine, scopes=["statistics:read"], region_code=COUNTY)


@pytest.mark.backends
def test_village_rows_are_suppressed_with_a_complement(county_client: TestClient) -> None:
    r = county_client.get("/v1/stats", params={"region": TOWN_QS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["region_name"] == "青山镇" and body["level"] == "village" and body["min_cell"] == 5
    table = body["elderly_living_alone"]
    assert [(x["code"], x["name"]) for x in table["rows"]] == [(QINGSHAN, "青山村"), (ZHULIN, "竹林村")]
    # 2 is below 5; alone with the total 8 it would be recoverable, so 青山村's 6 is hidden too.
    assert [x["count"] for x in table["rows"]] == ["*", "<5"]
    assert table["total"] == 8
    migrants = body["migrant_workers"]
    assert migrants["provinces"] == ["广东省", "浙江省", "未登记"]
    assert migrants["rows"][0]["counts"][0] in (6, "*")
    assert "<5" in migrants["rows"][0]["counts"]


@pytest.mark.backends
def test_township_level_and_no_personal_data(county_client: TestClient) -> None:
    r = county_client.get("/v1/stats", params={"region": COUNTY, "level": "township"})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["elderly_living_alone"]["rows"]
    assert [(x["code"], x["count"]) for x in rows] == [(TOWN_QS, 8), (TOWN_SM, 7)]
    assert body["elderly_living_alone"]["total"] == 15
    assert "独居甲" not in r.text and "R0" not in r.text and "H1" not in r.text


def test_default_region_is_the_callers_and_outside_is_forbidden(store_url: str, store_engine: Engine) -> None:
    for c in _client(store_url, store_engine, scopes=["statistics:read"], region_code=TOWN_SM):
        r = c.get("/v1/stats")
        assert r.status_code == 200, r.text
        assert r.json()["region"] == TOWN_SM
        assert [x["code"] for x in r.json()["left_behind_children"]["rows"]] == [SHIMEN]
        r = c.get("/v1/stats", params={"region": TOWN_QS})
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM


def test_errors_are_problems(county_client: TestClient) -> None:
    r = county_client.get("/v1/stats", params={"region": QINGSHAN, "level": "township"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = county_client.get("/v1/stats", params={"region": "511599900000"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = county_client.get("/v1/stats", params={"region": "51"})
    assert r.status_code == 422
    anonymous = county_client.get("/v1/stats", params={"region": COUNTY}, headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_statistics_scope_is_required(store_url: str, store_engine: Engine) -> None:
    for c in _client(store_url, store_engine, scopes=["residents:read"], region_code=COUNTY):
        r = c.get("/v1/stats", params={"region": COUNTY})
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM


@pytest.mark.backends
def test_views_cannot_be_subtracted(county_client: TestClient) -> None:
    """The issue-12 attack: a township by village, minus one village asked alone, must not recover a
    suppressed village; every view is cut from one release, so a cell hidden once is hidden always."""
    township = county_client.get("/v1/stats", params={"region": TOWN_QS}).json()["elderly_living_alone"]
    village = county_client.get("/v1/stats", params={"region": QINGSHAN}).json()["elderly_living_alone"]
    county = county_client.get("/v1/stats", params={"region": COUNTY, "level": "township"}).json()
    assert [x["count"] for x in township["rows"]][1] == "<5"  # 竹林村's 2
    # 青山村 alone is hidden as in the township's view: total - 青山村 no longer gives 竹林村.
    assert village["rows"][0]["count"] == village["total"] == township["rows"][0]["count"] == "*"
    shown = {x["code"]: x["count"] for x in county["elderly_living_alone"]["rows"]}
    assert shown[TOWN_QS] == township["total"]  # the same cell, the same value, in every view
