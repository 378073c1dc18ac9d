"""Assisted access (代办) with real tokens: refused without a covering consent, else that resident only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from gateway.residents.repository import ResidentFilter, list_query
from policies.decision import RowScope
from schemas.time import today_cn
from store.tables.consent import ConsentRow
from tests.consents.conftest import AGENT, PURPOSE, World
from tests.consents.test_consents_api import audit_event

C = ConsentRow.__table__  # type: ignore[attr-defined]


def _refused(r: object, kind: str, problem: str | None = None) -> None:
    status = getattr(r, "status_code")  # noqa: B009
    body = getattr(r, "json")()  # noqa: B009
    assert status == 403, body
    assert body["type"] == f"/problems/{kind}", body
    assert "items" not in body and "name" not in body
    if problem is not None:
        assert body["problem"] == problem, body


def _set_period(world: World, consent_id: str, start: dt.date, end: dt.date) -> None:
    with world.engine.begin() as conn:
        conn.execute(update(C).where(C.c.id == consent_id).values(valid_from=start, valid_until=end))


def test_refused_without_a_covering_consent(world: World) -> None:
    tc, p = world.tc, world.people
    base = world.headers(AGENT, PURPOSE)
    # No consent at all, with or without X-On-Behalf-Of: consent-required, never data.
    _refused(tc.get(f"/v1/residents/{p.a}", headers=base), "consent-required")
    _refused(tc.get("/v1/residents", headers={**base, "X-On-Behalf-Of": p.a}), "consent-required")
    _refused(tc.get("/v1/households/H1", headers=base), "consent-required")
    consent = str(world.consent(p.a)["id"])
    # A consent for another resident, for another purpose, unknown, or without X-On-Behalf-Of.
    _refused(
        tc.get(f"/v1/residents/{p.b}", headers=world.acting(p.b, consent)),
        "consent-invalid",
        "other-resident",
    )
    r = tc.get(f"/v1/residents/{p.a}", headers=world.acting(p.a, consent, purpose="elderly-care"))
    _refused(r, "consent-invalid", "other-purpose")
    _refused(tc.get("/v1/residents", headers=world.acting(p.a, "C" + "0" * 16)), "consent-invalid", "unknown")
    r = tc.get(f"/v1/residents/{p.a}", headers={**base, "X-Consent-Id": consent})
    _refused(r, "consent-invalid", "on-behalf-of-missing")
    # Another client cannot use the agent's consent (PIPL Art. 14: given to that processor).
    ca = {**world.headers("civil-affairs", "social-assistance-review"), "X-On-Behalf-Of": p.a}
    _refused(
        tc.get(f"/v1/residents/{p.a}", headers={**ca, "X-Consent-Id": consent}), "consent-invalid", "unknown"
    )
    # ... while X-On-Behalf-Of alone keeps its old meaning for a department client.
    assert tc.get(f"/v1/residents/{p.d}", headers=ca).status_code == 200
    # Outside the period: before it starts and after it ends.
    today = today_cn()
    _set_period(world, consent, today + dt.timedelta(days=1), today + dt.timedelta(days=30))
    _refused(
        tc.get(f"/v1/residents/{p.a}", headers=world.acting(p.a, consent)), "consent-invalid", "not-yet-valid"
    )
    _set_period(world, consent, today - dt.timedelta(days=30), today - dt.timedelta(days=1))
    _refused(tc.get("/v1/residents", headers=world.acting(p.a, consent)), "consent-invalid", "expired")
    _set_period(world, consent, today, today)
    assert tc.get(f"/v1/residents/{p.a}", headers=world.acting(p.a, consent)).status_code == 200
    # After revocation.
    r = tc.post(f"/v1/consents/{consent}:revoke", json={"reason": "撤回"}, headers=world.headers(AGENT))
    assert r.status_code == 200
    _refused(tc.get(f"/v1/residents/{p.a}", headers=world.acting(p.a, consent)), "consent-invalid", "revoked")


@pytest.mark.backends
def test_a_valid_consent_reaches_that_resident_only(world: World) -> None:
    tc, p = world.tc, world.people
    consent = str(world.consent(p.a)["id"])
    h = world.acting(p.a, consent)
    r = tc.get(f"/v1/residents/{p.a}", headers=h)
    assert r.status_code == 200 and r.json()["name"] == "王建国" and "tags" not in r.json()
    for other in (p.b, p.c, p.d):  # same household, same village, elsewhere: like a missing one
        r = tc.get(f"/v1/residents/{other}", headers=h)
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    # Lists hold that one resident, whatever the filters and page size.
    for params in ({}, {"limit": 1}, {"household": "H1"}, {"region": "511599100201"}):
        page = tc.get("/v1/residents", params=params, headers=h).json()
        assert [x["id"] for x in page["items"]] == [p.a] and page["next"] is None
    assert tc.get("/v1/residents", params={"household": "H2"}, headers=h).json()["items"] == []
    look = "/v1/residents:lookup"
    assert tc.post(look, json={"national_id": p.a_nid}, headers=h).json()["id"] == p.a
    assert tc.post(look, json={"national_id": p.b_nid}, headers=h).status_code == 404
    # Their household, not another one; the other member shown by relation and status only.
    r = tc.get("/v1/households/H1", headers=h)
    assert r.status_code == 200 and [m.get("resident_id") for m in r.json()["members"]] in (
        [p.a, None],
        [None, p.a],
    )
    assert tc.get("/v1/households/H2", headers=h).status_code == 404
    # Notices to read out to them, not to another resident; without a consent, none for anyone.
    assert tc.get("/v1/notices", params={"for_resident": p.a}, headers=h).status_code == 200
    assert tc.get("/v1/notices", params={"for_resident": p.c}, headers=h).status_code == 404
    no_consent = world.headers(AGENT, PURPOSE)
    _refused(tc.get("/v1/notices", params={"for_resident": p.a}, headers=no_consent), "consent-required")


def test_audited_as_on_behalf_of_with_the_consent(world: World) -> None:
    tc, p = world.tc, world.people
    consent = str(world.consent(p.a)["id"])
    r = tc.get("/v1/residents", headers={**world.acting(p.a, consent), "X-End-User": "0731"})
    event = audit_event(world.engine, r.headers["x-audit-seq"])
    assert (event["decision"], event["on_behalf_of"], event["consent_id"]) == ("allow", p.a, consent)
    assert event["record_ids"] == [p.a] and event["purpose"] == PURPOSE and event["end_user"] == "0731"
    r = tc.get(f"/v1/residents/{p.b}", headers=world.acting(p.b, consent))
    event = audit_event(world.engine, r.headers["x-audit-seq"])
    assert (event["decision"], event["on_behalf_of"], event["consent_id"]) == ("deny", p.b, consent)
    assert event["status"] == 403 and event["record_ids"] == [] and event["fields_disclosed"] == []
    assert event["purpose"] == PURPOSE and "not for resident" in event["reason"]


def test_the_row_scope_is_in_the_sql() -> None:
    """A narrowed scope becomes a primary-key condition of the list query, not a filter after it."""
    scope = RowScope(("5115991002",), (), "R00000000001")
    sql = str(list_query(ResidentFilter(policy_scopes=(scope,)), after=None, limit=50))
    assert "resident.id = " in sql and "region_code" in sql
