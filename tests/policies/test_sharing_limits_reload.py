"""Conditional sharing lifecycle, rate limits across two app instances, reload of a broken policy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from policies.loader import DEFAULT_DIR
from schemas.codes import EmploymentStatus
from tests.policies.conftest import Headers, make_app, token_headers
from tests.support import factories

PURPOSE = "social-assistance-review"


def _apply(tc: TestClient, h: Headers, **period: str) -> int:
    body = {
        "resource": "residents",
        "fields": ["employment_status"],
        "purpose": PURPOSE,
        "legal_basis": "《社会救助暂行办法》第十一条",
        **period,
    }
    r = tc.post("/v1/sharing-requests", json=body, headers=h("civil-affairs"))
    assert r.status_code == 201, r.text
    assert r.json()["owner_department"] == "hr" and r.json()["status"] == "pending"
    return int(r.json()["id"])


def test_conditional_field_before_after_approval_expiry_refusal(
    api: tuple[TestClient, Headers], store_engine: Engine
) -> None:
    tc, h = api
    rid = factories.add_resident(
        store_engine, region_code="511599100201", employment_status=EmploymentStatus.MIGRANT
    ).id
    see = lambda: tc.get(f"/v1/residents/{rid}", headers=h("civil-affairs", PURPOSE)).json()  # noqa: E731
    assert "employment_status" not in see()
    refused = _apply(tc, h, valid_until="2099-12-31")
    assert (
        tc.post(
            f"/v1/sharing-requests/{refused}:approve", json={"reason": "ok"}, headers=h("civil-affairs")
        ).status_code
        == 403
    )  # not the owner
    r = tc.post(
        f"/v1/sharing-requests/{refused}:refuse", json={"reason": "not necessary"}, headers=h("hr-approver")
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"
    assert "employment_status" not in see()
    expired = _apply(tc, h, valid_from="2020-01-01", valid_until="2020-12-31")
    assert (
        tc.post(
            f"/v1/sharing-requests/{expired}:approve", json={"reason": "ok"}, headers=h("hr-approver")
        ).status_code
        == 200
    )
    assert "employment_status" not in see()
    owner_view = tc.get("/v1/sharing-requests", params={"role": "owner"}, headers=h("hr-approver")).json()
    assert {x["id"] for x in owner_view} == {refused, expired}
    good = _apply(tc, h, valid_until="2099-12-31")
    r = tc.post(
        f"/v1/sharing-requests/{good}:approve", json={"reason": "依申请共享"}, headers=h("hr-approver")
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert see()["employment_status"] == "migrant"
    assert (
        tc.post(
            f"/v1/sharing-requests/{good}:approve", json={"reason": "again"}, headers=h("hr-approver")
        ).status_code
        == 409
    )


@pytest.mark.backends
def test_sharing_dates_are_iso_strings_and_answers_are_not_ids(api: tuple[TestClient, Headers]) -> None:
    tc, h = api
    body = {"resource": "residents", "fields": ["employment_status"], "purpose": PURPOSE}
    body |= {"legal_basis": "《社会救助暂行办法》第十一条", "valid_until": "2099-12-31", "valid_from": 0}
    r = tc.post("/v1/sharing-requests", json=body, headers=h("civil-affairs"))
    assert r.status_code == 422 and "ISO 8601 date" in r.text  # not read as 1970-01-01 (schemathesis)
    for url in ("/v1/sharing-requests/1:approve", "/v1/admin/clients/civil-affairs:disable"):
        r = tc.get(url, headers=h("civil-affairs"))
        assert r.status_code == 405 and r.headers["allow"] == "POST", (url, r.text)


def _policy_copy(tmp_path: Path) -> Path:
    d = tmp_path / "policy"
    shutil.copytree(DEFAULT_DIR, d)
    return d


@pytest.mark.backends
def test_rate_limit_across_two_app_instances(demo_store: str, tmp_path: Path) -> None:
    d = _policy_copy(tmp_path)
    (d / "rate_limits.yaml").write_text(
        "default: {requests_per_minute: 600, records_per_day: 50000}\n"
        "limits:\n  - {client: qingshan-township, requests_per_minute: 5, records_per_day: 1000}\n"
    )
    with make_app(demo_store, d) as one, make_app(demo_store, d) as two:
        h1, h2 = token_headers(one), token_headers(two)
        codes = []
        for i in range(8):
            tc, h = (one, h1) if i % 2 == 0 else (two, h2)
            r = tc.get("/v1/residents", headers=h("qingshan-township", PURPOSE))
            codes.append(r.status_code)
        assert codes.count(200) == 5 and codes[5:] == [429, 429, 429]
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["Retry-After"]) >= 1 and r.headers["RateLimit-Limit"] == "5"
        assert r.headers["RateLimit-Remaining"] == "0"
        # another client is not affected
        assert one.get("/v1/residents", headers=h1("civil-affairs", PURPOSE)).status_code == 200


def test_reload_of_a_broken_policy_keeps_the_old_one(demo_store: str, tmp_path: Path) -> None:
    d = _policy_copy(tmp_path)
    with make_app(demo_store, d) as tc:
        h = token_headers(tc)
        before = tc.get("/v1/catalog", headers=h("policy-admin")).json()["policy_version"]
        grants = (d / "grants.yaml").read_text()
        (d / "grants.yaml").write_text(
            grants.replace(
                "fields: [sex, birth_date, region_code, status]",
                "fields: [sex, birth_date, region_code, status, shoe_size]",
            )
        )
        r = tc.post("/v1/policy:reload", headers=h("policy-admin"))
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert any(e.startswith("grants.yaml:") and "shoe_size" in e for e in errors)
        line = int(errors[0].split(":")[1])
        assert "shoe_size" in (d / "grants.yaml").read_text().splitlines()[line - 1]
        assert tc.get("/v1/catalog", headers=h("policy-admin")).json()["policy_version"] == before
        assert tc.get("/v1/residents", headers=h("civil-affairs", PURPOSE)).status_code == 200
        assert tc.post("/v1/policy:reload", headers=h("civil-affairs")).status_code == 403
        (d / "grants.yaml").write_text(
            grants.replace("purposes: [statistics]", "purposes: [statistics, emergency-response]", 1)
        )
        r = tc.post("/v1/policy:reload", headers=h("policy-admin"))
        assert r.status_code == 200 and r.json()["policy_version"] != before
