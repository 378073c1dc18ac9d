"""Enforcement through the API with real tokens: regions, purposes, masks, owners, rows, pagination, 404s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from schemas.codes import EmploymentStatus, Tag
from schemas.models import FieldProvenance
from tests.policies.conftest import Headers
from tests.support import factories

PROBLEM = "application/problem+json"


def _pages(tc: TestClient, headers: dict[str, str], **params: object) -> list[dict]:
    out: list[dict] = []
    cursor = None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        r = tc.get("/v1/residents", params=q, headers=headers)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next"]
        if cursor is None:
            return out


def _people(engine: Engine) -> dict[str, str]:
    prov = FieldProvenance(source="hr_api", department="hr", record_key="RS1")  # type: ignore[arg-type]
    a = factories.add_resident(
        engine,
        region_code="511599100201",
        name="王建国",
        national_id="511599198503120415",
        phone="13800000000",
        address="四川省宜宾市示范县青山镇青山村2组30号",
        tags=[Tag.ELDERLY],
        employment_status=EmploymentStatus.MIGRANT,
        provenance={"employment_status": prov, "phone": prov},
    )
    b = factories.add_resident(engine, region_code="511599100202", name="欧阳明月", tags=[])
    c = factories.add_resident(engine, region_code="511599200201", name="李四", tags=[Tag.ELDERLY])
    return {"a": a.id, "b": b.id, "c": c.id}


@pytest.mark.backends
def test_region_subtrees_for_county_township_and_village(
    api: tuple[TestClient, Headers], store_engine: Engine
) -> None:
    tc, h = api
    ids = _people(store_engine)
    seen = lambda client: {x["id"] for x in _pages(tc, h(client, "social-assistance-review"))}  # noqa: E731
    assert seen("civil-affairs") == set(ids.values())
    assert seen("qingshan-township") == {ids["a"], ids["b"]}
    assert seen("qingshan-village") == {ids["a"]}
    # by id outside the subtree answers like a missing resident
    r = tc.get(f"/v1/residents/{ids['c']}", headers=h("qingshan-township", "social-assistance-review"))
    missing = tc.get("/v1/residents/R99999999999", headers=h("qingshan-township", "social-assistance-review"))
    assert r.status_code == missing.status_code == 404
    assert r.json()["type"] == missing.json()["type"] == "/problems/not-found"
    assert (
        tc.get(
            f"/v1/residents/{ids['a']}", headers=h("qingshan-township", "social-assistance-review")
        ).status_code
        == 200
    )


def test_purpose_missing_and_not_granted(api: tuple[TestClient, Headers], store_engine: Engine) -> None:
    tc, h = api
    ids = _people(store_engine)
    r = tc.get(f"/v1/residents/{ids['a']}", headers=h("qingshan-township"))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/purpose-required" and "name" not in r.text
    r = tc.get("/v1/residents", headers=h("qingshan-township", "statistics"))
    assert r.status_code == 403 and r.json()["type"] == "/problems/grant-missing"
    assert "statistics" in r.json()["detail"] and "items" not in r.json()
    r = tc.get("/v1/residents", headers=h("publicity", "social-assistance-review"))
    assert r.status_code == 403


def test_masks_owner_and_provenance(api: tuple[TestClient, Headers], store_engine: Engine) -> None:
    tc, h = api
    ids = _people(store_engine)
    town = tc.get(
        f"/v1/residents/{ids['a']}", headers=h("qingshan-township", "social-assistance-review")
    ).json()
    assert town["national_id"] == "511599********0415"
    assert town["name"] == "王建国" and "tags" not in town and "employment_status" not in town
    assert set(town["provenance"]) == {"phone"}  # the hidden field's provenance is hidden too
    hr = tc.get(f"/v1/residents/{ids['a']}", headers=h("hr", "employment-service")).json()
    assert hr["address"] == "青山村"  # masked to the village (gazetteer name)
    assert hr["employment_status"] == "migrant"  # HR owns it: unmasked without any approval
    assert "national_id" not in hr  # sensitive: employment-service does not allow it (PIPL Art. 28)
    ca = tc.get(f"/v1/residents/{ids['a']}", headers=h("civil-affairs", "social-assistance-review")).json()
    assert ca["national_id"] == "511599198503120415" and ca["phone"] == "13800000000"
    assert "employment_status" not in ca  # HR's conditional field, not yet approved
    assert set(ca["provenance"]) == {"phone"}


@pytest.mark.backends
def test_row_conditions_and_pagination(api: tuple[TestClient, Headers], store_engine: Engine) -> None:
    tc, h = api
    elderly = set()
    for n in range(23):
        r = factories.add_resident(
            store_engine,
            region_code="511599100201" if n % 3 else "511599200201",
            tags=[Tag.ELDERLY] if n % 2 else [],
        )
        if n % 2 and n % 3:
            elderly.add(r.id)
    got = _pages(tc, h("qingshan-township", "elderly-care"), limit=2)
    assert [x["id"] for x in got] == sorted(elderly)  # no duplicates, no gaps, nothing outside
    assert all(x["tags"] == ["elderly"] for x in got)
    all_town = _pages(tc, h("qingshan-township", "emergency-response"), limit=3)
    assert len(all_town) == len({x["id"] for x in all_town}) == sum(1 for n in range(23) if n % 3)
