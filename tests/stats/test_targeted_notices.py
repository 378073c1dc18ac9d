"""GET /v1/notices?for_resident=ID: what a village agent reads out to one resident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from schemas.codes import Audience, NoticeCategory, Tag
from schemas.models import Notice
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.stats.data import COUNTY, QINGSHAN, SHIMEN, TOWN_QS, TOWN_SM, ZHULIN
from tests.support import factories
from tests.support.callers import Capture

PROBLEM = "application/problem+json"
PUBLISHED = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _notice(nid: str, regions: list[str], audiences: list[Audience], **extra: Any) -> Notice:
    return Notice(
        id=nid,
        title=nid,
        body_html=f"<p>{nid}</p>",
        body_text=nid,
        category=NoticeCategory.ANNOUNCEMENT,
        regions=regions,
        audiences=audiences,
        published_at=extra.pop("published_at", PUBLISHED),
        **extra,
    )


@pytest.fixture
def people(store_engine: Engine) -> dict[str, str]:
    """Insert the notices and residents; return resident ids by role."""
    factories.county(store_engine)
    add = factories.add_notice
    add(store_engine, _notice("n-all", [COUNTY], [Audience.EVERYONE]))
    add(store_engine, _notice("n-qs-elderly", [QINGSHAN], [Audience.ELDERLY]))
    add(store_engine, _notice("n-sm-migrants", [TOWN_SM], [Audience.MIGRANT_WORKERS]))
    add(store_engine, _notice("n-qs-parents", [TOWN_QS], [Audience.PARENTS]))
    add(store_engine, _notice("n-zl-all", [ZHULIN], [Audience.EVERYONE]))
    add(store_engine, _notice("n-sm-elderly", [TOWN_SM], [Audience.ELDERLY]))
    old = PUBLISHED - dt.timedelta(days=90)
    add(store_engine, _notice("n-expired", [COUNTY], [Audience.EVERYONE], published_at=old, expires_at=old))
    r = factories.add_resident
    factories.add_household(store_engine, hid="HP", household_no="QS-9", region_code=QINGSHAN, head=None)
    return {
        "old": r(store_engine, region_code=QINGSHAN, birth_date=dt.date(1950, 3, 1)).id,
        "tagged_elderly": r(store_engine, region_code=QINGSHAN, tags=[Tag.ELDERLY]).id,
        "migrant": r(
            store_engine, region_code=SHIMEN, birth_date=dt.date(1995, 1, 1), tags=[Tag.MIGRANT_WORKER]
        ).id,
        "parent": r(store_engine, region_code=QINGSHAN, household_id="HP", birth_date=dt.date(1988, 1, 1)).id,
        "child": r(store_engine, region_code=QINGSHAN, household_id="HP", birth_date=dt.date(2015, 6, 1)).id,
        "adult": r(store_engine, region_code=QINGSHAN, birth_date=dt.date(1990, 1, 1)).id,
        "zhulin": r(store_engine, region_code=ZHULIN, birth_date=dt.date(1990, 1, 1)).id,
    }


def _client(store_url: str, engine: Engine, region_code: str | None) -> Iterator[tuple[TestClient, Capture]]:
    client_id, secret = register(engine, region_code=region_code)
    capture = Capture(create_app(auth_settings(store_url)))
    with TestClient(capture, raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        assert secret is not None
        c.headers["Authorization"] = f"Bearer {fetch_token(c, client_id, secret)}"
        # Targeting a resident is a read of the resident: the residents grant for a purpose (issue 12).
        c.headers["X-Purpose"] = "social-assistance-review"
        yield c, capture


@pytest.fixture
def county(
    store_url: str, store_engine: Engine, people: dict[str, str]
) -> Iterator[tuple[TestClient, Capture]]:
    """A county-wide client with every read scope."""
    yield from _client(store_url, store_engine, COUNTY)


def _ids(c: TestClient, rid: str) -> set[str]:
    r = c.get("/v1/notices", params={"for_resident": rid})
    assert r.status_code == 200, r.text
    return {n["id"] for n in r.json()["items"]}


@pytest.mark.backends
def test_each_resident_hears_their_regions_and_audiences(
    county: tuple[TestClient, Capture], people: dict[str, str]
) -> None:
    c, capture = county
    assert _ids(c, people["old"]) == {"n-all", "n-qs-elderly"}  # 60+ by birth date
    assert _ids(c, people["tagged_elderly"]) == {"n-all", "n-qs-elderly"}  # tagged, no birth date
    assert _ids(c, people["migrant"]) == {"n-all", "n-sm-migrants"}
    assert _ids(c, people["parent"]) == {"n-all", "n-qs-parents"}  # household has a child under 18
    assert _ids(c, people["child"]) == {"n-all"}  # a child is not a parent of its household
    assert _ids(c, people["adult"]) == {"n-all"}
    assert _ids(c, people["zhulin"]) == {"n-all", "n-zl-all"}  # never a sibling village's notices
    assert capture.records[-1].resource == "resident"
    assert capture.records[-1].record_ids == [people["zhulin"]]
    assert capture.records[-1].purpose == "social-assistance-review"
    assert "region_code" in capture.records[-1].fields_disclosed


def test_targeting_needs_a_purpose(county: tuple[TestClient, Capture], people: dict[str, str]) -> None:
    c, _ = county
    del c.headers["X-Purpose"]
    r = c.get("/v1/notices", params={"for_resident": people["old"]})
    assert r.status_code == 403 and r.json()["type"] == "/problems/purpose-required", r.text
    r = c.get("/v1/notices", params={"region": QINGSHAN})
    assert r.status_code == 200, r.text


def test_unknown_resident_and_conflicting_filters(
    county: tuple[TestClient, Capture], people: dict[str, str]
) -> None:
    c, _ = county
    r = c.get("/v1/notices", params={"for_resident": "R99999999999"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/not-found"
    r = c.get("/v1/notices", params={"for_resident": people["old"], "region": QINGSHAN})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = c.get("/v1/notices", params={"for_resident": "R-1"})
    assert r.status_code == 422


def test_region_listing_still_works(county: tuple[TestClient, Capture]) -> None:
    c, _ = county
    r = c.get("/v1/notices", params={"region": QINGSHAN})
    assert r.status_code == 200, r.text
    assert {n["id"] for n in r.json()["items"]} == {"n-all", "n-qs-elderly", "n-qs-parents"}


def test_a_resident_outside_the_callers_region_is_not_found(
    store_url: str, store_engine: Engine, people: dict[str, str]
) -> None:
    for c, _ in _client(store_url, store_engine, TOWN_SM):
        assert _ids(c, people["migrant"]) == {"n-all", "n-sm-migrants"}
        r = c.get("/v1/notices", params={"for_resident": people["old"]})
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
