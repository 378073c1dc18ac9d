"""Regression tests of issue 12: what the policy hides cannot be learned through a side channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from schemas.codes import Audience, NoticeCategory, Tag
from schemas.models import Notice
from store.tables.audit import AuditEventRow
from tests.policies.conftest import Headers, make_app, token_headers
from tests.support import factories

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

PROBLEM = "application/problem+json"
QS_VILLAGE, ZHULIN, SHIMEN = "511599100201", "511599100202", "511599200201"


@pytest.fixture
def world(demo_store: str, store_engine: Engine) -> Iterator[tuple[TestClient, Headers, dict[str, str]]]:
    """Return the app, the token helper and the planted residents by role."""
    add = factories.add_resident
    factories.add_household(store_engine, hid="HMIX", household_no="QS-1", region_code=QS_VILLAGE, head=None)
    people = {
        "disabled": add(
            store_engine,
            region_code=QS_VILLAGE,
            name="张残",
            tags=[Tag.DISABLED, Tag.LOW_INCOME],
            household_id="HMIX",
            birth_date=dt.date(1950, 1, 1),
        ).id,
        "plain": add(store_engine, region_code=QS_VILLAGE, name="李平", household_id="HMIX").id,
        # A member of the same household registered in another township.
        "away": add(store_engine, region_code=SHIMEN, name="王远", household_id="HMIX").id,
    }
    _village_notice(store_engine, "n-qs-elderly", Audience.ELDERLY)
    with make_app(demo_store) as tc:
        yield tc, token_headers(tc), people


def _village_notice(engine: Engine, nid: str, audience: Audience) -> None:
    """Publish an announcement to Qingshan village for one audience."""
    factories.add_notice(
        engine,
        Notice(
            id=nid,
            title="t",
            body_html="<p>t</p>",
            body_text="t",
            category=NoticeCategory.ANNOUNCEMENT,
            regions=[QS_VILLAGE],
            audiences=[audience],
            published_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        ),
    )


def _problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


def test_filter_on_a_hidden_field_is_refused(world: tuple[TestClient, Headers, dict[str, str]]) -> None:
    tc, h, _ = world
    # qingshan-township for social-assistance-review does not see tags.
    headers = h("qingshan-township", "social-assistance-review")
    for tag in Tag:
        body = _problem(
            tc.get("/v1/residents", params={"tag": tag.value}, headers=headers), 403, "filter-not-allowed"
        )
        assert body["parameter"] == "tag"
    # statistics purpose of civil affairs: no household_id, no tags.
    stats = h("civil-affairs", "statistics")
    _problem(tc.get("/v1/residents", params={"household": "HMIX"}, headers=stats), 403, "filter-not-allowed")
    _problem(tc.get("/v1/residents", params={"tag": "disabled"}, headers=stats), 403, "filter-not-allowed")


def test_filter_on_a_shown_field_is_allowed_and_audited(
    world: tuple[TestClient, Headers, dict[str, str]], store_engine: Engine
) -> None:
    tc, h, people = world
    r = tc.get(
        "/v1/residents", params={"tag": "disabled"}, headers=h("civil-affairs", "social-assistance-review")
    )
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["items"]] == [people["disabled"]]
    # The elderly-care grant requires the elderly tag and shows tags: filtering on it is fine.
    r = tc.get("/v1/residents", params={"tag": "elderly"}, headers=h("qingshan-township", "elderly-care"))
    assert r.status_code == 200, r.text
    r = tc.get(
        "/v1/residents",
        params={"household": "HMIX"},
        headers=h("qingshan-township", "social-assistance-review"),
    )
    assert r.status_code == 200, r.text
    with store_engine.connect() as conn:
        body = conn.execute(
            select(AuditEventRow.body).order_by(AuditEventRow.seq.desc()).limit(1)
        ).scalar_one()  # type: ignore[attr-defined]
    import orjson

    assert "household_id" in orjson.loads(body)["fields_disclosed"]


def test_lookup_needs_the_citizen_id_granted(world: tuple[TestClient, Headers, dict[str, str]]) -> None:
    tc, h, _ = world
    body = {"national_id": "51159919880421137X"}
    r = tc.post("/v1/residents:lookup", json=body, headers=h("civil-affairs", "statistics"))
    _problem(r, 403, "filter-not-allowed")
    r = tc.post("/v1/residents:lookup", json=body, headers=h("qingshan-township", "social-assistance-review"))
    assert r.status_code == 404, r.text  # masked but granted: an exact lookup is allowed


def test_households_list_only_members_in_the_callers_rows(
    world: tuple[TestClient, Headers, dict[str, str]],
) -> None:
    tc, h, people = world
    r = tc.get("/v1/households/HMIX", headers=h("qingshan-township", "social-assistance-review"))
    assert r.status_code == 200, r.text
    members = {m["resident_id"] for m in r.json()["members"]}
    assert members == {people["disabled"], people["plain"]}
    assert "王远" not in r.text


def test_explain_never_returns_values(world: tuple[TestClient, Headers, dict[str, str]]) -> None:
    tc, h, people = world
    r = tc.get(
        "/v1/policy/explain",
        params={
            "client": "qingshan-township",
            "purpose": "social-assistance-review",
            "id": people["disabled"],
        },
        headers=h("policy-admin"),
    )
    assert r.status_code == 200, r.text
    assert "张残" not in r.text and "HMIX" not in r.text
    record = r.json()["record"]
    assert record["visible"] is True
    outcomes = {f["field"]: f["outcome"] for f in record["fields"]}
    assert (
        outcomes["name"] == "clear" and outcomes["national_id"] == "masked" and outcomes["tags"] == "hidden"
    )


def test_not_found_outside_rows_is_audited_as_no_disclosure(
    world: tuple[TestClient, Headers, dict[str, str]], store_engine: Engine
) -> None:
    tc, h, people = world
    r = tc.get(f"/v1/residents/{people['away']}", headers=h("qingshan-township", "social-assistance-review"))
    assert r.status_code == 404
    import orjson

    with store_engine.connect() as conn:
        body = conn.execute(
            select(AuditEventRow.body).order_by(AuditEventRow.seq.desc()).limit(1)
        ).scalar_one()  # type: ignore[attr-defined]
    event = orjson.loads(body)
    assert event["decision"] == "not-found" and event["fields_disclosed"] == [] and event["record_ids"] == []
    r = tc.get("/v1/audit/summary/denials", headers=h("auditor"))
    assert r.status_code == 200, r.text
    assert sum(x["count"] for x in r.json()) >= 1


def test_duplicate_security_headers_are_refused(world: tuple[TestClient, Headers, dict[str, str]]) -> None:
    tc, h, people = world
    auth = h("qingshan-township")["Authorization"]
    for name, values in {
        "X-On-Behalf-Of": ["R1", "R2"],
        "X-Purpose": ["social-assistance-review", "emergency-response"],
        "X-End-User": ["a", "b"],
        "X-Case-Id": ["a", "b"],
        "X-Consent-Id": ["C1", "C2"],
        "Authorization": [auth, auth],
    }.items():
        headers = [("Authorization", auth), ("X-Purpose", "social-assistance-review")]
        headers = [(k, v) for k, v in headers if k != name] + [(name, v) for v in values]
        r = tc.get(f"/v1/residents/{people['plain']}", headers=headers)  # type: ignore[arg-type]
        body = _problem(r, 400, "duplicate-header")
        assert name.lower() in body["detail"].lower()


def test_rate_limited_events_keep_the_purpose(demo_store: str, store_engine: Engine, tmp_path: Any) -> None:
    import shutil
    from pathlib import Path

    import policies

    policy_dir = tmp_path / "policy"
    shutil.copytree(Path(policies.__file__).parent / "default", policy_dir)
    (policy_dir / "rate_limits.yaml").write_text(
        "default: {requests_per_minute: 1, records_per_day: 100000}\n", encoding="utf-8"
    )
    import orjson

    with make_app(demo_store, policy_dir) as tc:
        h = token_headers(tc)
        headers = h("qingshan-township", "social-assistance-review")
        statuses = [tc.get("/v1/residents", headers=headers).status_code for _ in range(3)]
        assert 429 in statuses
    with store_engine.connect() as conn:
        bodies = conn.execute(select(AuditEventRow.body)).scalars().all()  # type: ignore[attr-defined]
    limited = [orjson.loads(b) for b in bodies if orjson.loads(b)["status"] == 429]
    assert limited and all(e["purpose"] == "social-assistance-review" for e in limited)


def test_targeted_notices_are_a_read_of_the_resident(
    demo_store: str, store_engine: Engine, world: tuple[TestClient, Headers, dict[str, str]]
) -> None:
    tc, h, people = world
    # publicity holds notices:read only: it may list by region, never target a resident.
    r = tc.get("/v1/notices", params={"for_resident": people["disabled"]}, headers=h("publicity"))
    assert r.status_code == 403, r.text
    r = tc.get("/v1/notices", params={"region": QS_VILLAGE, "audience": "elderly"}, headers=h("publicity"))
    assert r.status_code == 200, r.text


def test_targeting_uses_only_fields_the_caller_is_shown(
    world: tuple[TestClient, Headers, dict[str, str]], store_engine: Engine
) -> None:
    """Without `tags`, nobody is a migrant worker to the caller: the audience would reveal the tag."""
    from gateway.auth.tokens import issue_access_token

    tc, _, _ = world
    migrant = factories.add_resident(
        store_engine, region_code=QS_VILLAGE, birth_date=dt.date(1990, 1, 1), tags=[Tag.MIGRANT_WORKER]
    ).id
    _village_notice(store_engine, "n-qs-migrants", Audience.MIGRANT_WORKERS)
    app: Any = tc.app

    def listed(client: str) -> set[str]:
        token = issue_access_token(
            app.state.runtime.auth.keyring,
            client_id=client,
            scopes=["residents:read", "notices:read"],
            settings=app.state.config.settings,
        )["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "social-assistance-review"}
        r = tc.get("/v1/notices", params={"for_resident": migrant}, headers=headers)
        assert r.status_code == 200, r.text
        return {n["id"] for n in r.json()["items"]}

    assert "n-qs-migrants" in listed("civil-affairs")  # shown tags: the audience applies
    assert "n-qs-migrants" not in listed("qingshan-township")  # tags hidden: it must not


def test_a_new_parameter_naming_no_field_is_refused(
    world: tuple[TestClient, Headers, dict[str, str]],
) -> None:
    """Fail closed: a parameter added to a policy-governed route without naming its field is refused."""
    from fastapi import Depends, Query

    from gateway.policy.deps import policy_for

    tc, h, _ = world
    app: Any = tc.app

    @app.get("/v1/residents-probe")
    async def probe(
        access: Any = Depends(policy_for("residents")),  # a default: annotations are strings here
        phone_prefix: str | None = Query(default=None),
    ) -> dict[str, int]:
        return {"n": 0}

    headers = h("civil-affairs", "social-assistance-review")
    r = tc.get("/v1/residents-probe", headers=headers)
    assert r.status_code == 200, r.text
    body = _problem(
        tc.get("/v1/residents-probe", params={"phone_prefix": "139"}, headers=headers),
        403,
        "filter-not-allowed",
    )
    assert body["parameter"] == "phone_prefix"
