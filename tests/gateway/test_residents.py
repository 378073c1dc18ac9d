"""Read API: residents, region subtrees, pagination consistency while rows change, problem+json."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from schemas.codes import ResidentStatus, Tag
from tests.support import factories

PROBLEM = "application/problem+json"


def _all_pages(client: TestClient, url: str, **params: object) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        q = dict(params)
        if cursor:
            q["cursor"] = cursor
        r = client.get(url, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        cursor = body["next"]
        if cursor is None:
            return items


@pytest.mark.backends
def test_get_resident_and_lookup_by_national_id(client: TestClient, store_engine: Engine) -> None:
    res = factories.add_resident(
        store_engine,
        national_id="511599880421137",
        name="徐建琳",
        region_code="511599100201",
        tags=[Tag.ELDERLY],
    )
    r = client.get(f"/v1/residents/{res.id}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json()["national_id"] == "51159919880421137X"
    assert r.json()["tags"] == ["elderly"]
    r = client.post("/v1/residents:lookup", json={"national_id": "51159919880421137x"})
    assert r.status_code == 200 and r.json()["id"] == res.id


@pytest.mark.backends
def test_region_subtree(client: TestClient, store_engine: Engine) -> None:
    a = factories.add_resident(store_engine, region_code="511599100201")
    b = factories.add_resident(store_engine, region_code="511599100202")
    c = factories.add_resident(store_engine, region_code="511599200201")
    ids = lambda region: {x["id"] for x in _all_pages(client, "/v1/residents", region=region)}  # noqa: E731
    assert ids("511599000000") == {a.id, b.id, c.id}
    assert ids("511599100000") == {a.id, b.id}
    assert ids("511599100201") == {a.id}
    assert ids("511599200000") == {c.id}
    assert ids("511500000000") == {a.id, b.id, c.id}
    assert ids("511599300000") == set()


@pytest.mark.backends
def test_filters_tag_status_household_updated_since(client: TestClient, store_engine: Engine) -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    a = factories.add_resident(
        store_engine, tags=[Tag.ELDERLY, Tag.LIVING_ALONE], household_id="H1", updated_at=old
    )
    b = factories.add_resident(store_engine, status=ResidentStatus.DECEASED, household_id="H1")
    ids = lambda **p: {x["id"] for x in _all_pages(client, "/v1/residents", **p)}  # noqa: E731
    assert ids(tag="living_alone") == {a.id}
    assert ids(status="deceased") == {b.id}
    assert ids(household="H1") == {a.id, b.id}
    assert ids(updated_since="2026-01-01T00:00:00+08:00") == {b.id}
    assert ids(updated_since="2024-12-31T23:00:00Z") == {a.id, b.id}


@pytest.mark.backends
def test_pagination_consistent_while_rows_are_inserted(client: TestClient, store_engine: Engine) -> None:
    first = {factories.add_resident(store_engine, rid=factories.resident_id(i * 10)).id for i in range(1, 26)}
    seen: list[str] = []
    cursor = None
    inserted: set[str] = set()
    page = 0
    while True:
        params: dict[str, object] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/v1/residents", params=params).json()
        seen.extend(x["id"] for x in body["items"])
        # Insert rows both before and after the cursor between pages.
        for k in (1, 5):
            rid = factories.resident_id(page * 40 + k * 7 + 3)
            if rid not in first and rid not in inserted:
                factories.add_resident(store_engine, rid=rid)
                inserted.add(rid)
        page += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row appeared twice"
    assert first <= set(seen), "a row that existed throughout was skipped"
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "url",
    [
        "/v1/residents/RNOPE",
        "/v1/households/HNOPE",
        "/v1/services/civil_affairs:NOPE",
        "/v1/regions/511599999999",
        "/v1/no-such-route",
    ],
)
def test_404_is_problem_json(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert (
        body["status"] == 404 and body["type"].startswith("/problems/") and body["title"] and body["detail"]
    )


def test_lookup_unknown_is_404(client: TestClient) -> None:
    r = client.post("/v1/residents:lookup", json={"national_id": "511599198503120415"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("get", "/v1/residents", {"params": {"limit": 0}}),
        ("get", "/v1/residents", {"params": {"limit": 501}}),
        ("get", "/v1/residents", {"params": {"region": "5115"}}),
        ("get", "/v1/residents", {"params": {"tag": "rich"}}),
        ("get", "/v1/residents", {"params": {"updated_since": "yesterday"}}),
        ("get", "/v1/residents", {"params": {"updated_since": "0.5"}}),
        ("get", "/v1/residents/bad%20id", {}),
        ("post", "/v1/residents:lookup", {"json": {"national_id": "51159919880421137Y"}}),
        ("post", "/v1/residents:lookup", {"json": {"national_id": "511599198802301370"}}),
        ("post", "/v1/residents:lookup", {"json": {}}),
        (
            "post",
            "/v1/residents:lookup",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("get", "/v1/households/bad!", {}),
        ("get", "/v1/services", {"params": {"department": "army"}}),
        ("get", "/v1/services/bad id!", {}),
        ("get", "/v1/notices", {"params": {"category": "gossip"}}),
        ("get", "/v1/regions/5115", {}),
        ("get", "/v1/regions", {"params": {"level": "planet"}}),
    ],
)
def test_422_is_problem_json(client: TestClient, method: str, url: str, kwargs: dict) -> None:
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/validation-failed"


@pytest.mark.parametrize("url", ["/v1/residents", "/v1/services", "/v1/notices", "/v1/regions"])
def test_bad_cursor_is_400(client: TestClient, url: str) -> None:
    r = client.get(url, params={"cursor": "garbage!!"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM


def test_405_is_problem_json(client: TestClient) -> None:
    r = client.delete("/v1/residents")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("/v1/residents", "GET"),
        ("/v1/admin/clients", "GET, POST"),  # two routes declared apart: both count
        ("/v1/admin/clients/civil-affairs:disable", "POST"),  # a custom method, not GET /{client_id}
        ("/v1/sharing-requests/1:approve", "POST"),
    ],
)
def test_405_allow_lists_every_method_of_the_path(client: TestClient, url: str, allow: str) -> None:
    r = client.request("OPTIONS", url)
    assert r.status_code == 405 and r.headers["allow"] == allow, r.headers


def test_every_custom_method_path_answers_405_to_other_methods(client: TestClient) -> None:
    # `/{id}:verb` must never be read as the resource `/{id}` with an odd id (gateway/routing.py).
    import re

    paths = client.get("/openapi.json").json()["paths"]
    custom = {p: item for p, item in paths.items() if re.search(r"\}:[a-z-]+$", p)}
    assert custom
    for template, item in custom.items():
        url = re.sub(r"\{[^}]+\}", "X1", template)
        r = client.request("PATCH", url)
        allow = ", ".join(sorted(m.upper() for m in item))
        assert (r.status_code, r.headers.get("allow")) == (405, allow), (template, r.status_code, r.text)
        if "get" not in item:
            assert client.get(url).status_code == 405, template


def test_unhandled_error_is_problem_json_without_trace(client: TestClient, store_engine: Engine) -> None:
    from sqlalchemy import text

    with store_engine.begin() as conn:
        conn.execute(text("DROP TABLE resident_tag"))
    r = client.get("/v1/residents", params={"tag": "elderly"})
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    assert "Traceback" not in r.text and "resident_tag" not in r.text
