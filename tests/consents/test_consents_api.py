"""POST/GET /v1/consents and :revoke with real tokens: validation as 422 problem+json, scopes, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from schemas.time import today_cn
from tests.consents.conftest import AGENT, PAPER, PURPOSE, SCAN_SHA256, World

PROBLEM = "application/problem+json"


def audit_event(engine: Engine, seq: str) -> dict[str, Any]:
    """Return the committed audit event the response's X-Audit-Seq names."""
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": int(seq)}).scalar_one()
    event: dict[str, Any] = orjson.loads(bytes(body))
    return event


def _body(world: World, **changes: object) -> dict[str, object]:
    today = today_cn()
    body: dict[str, object] = {
        "resident_id": world.people.a,
        "purpose": PURPOSE,
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=30)),
        "evidence": PAPER,
    }
    body.update(changes)
    return body


def test_bad_consent_bodies_answer_precise_422(world: World) -> None:
    tc, h = world.tc, world.headers(AGENT)
    today = today_cn()
    cases: list[tuple[dict[str, object], list[object], str]] = [
        (
            {"evidence": {"method": "paper_form"}},
            ["body", "evidence", "paper_form", "scan_reference"],
            "missing",
        ),
        (
            {"evidence": {"method": "paper_form", "scan_reference": "   "}},
            ["body", "evidence", "paper_form", "scan_reference"],
            "string_too_short",
        ),
        ({"evidence": {"method": "verbal"}}, ["body", "evidence", "verbal", "witness_name"], "missing"),
        ({"evidence": {"method": "telepathy"}}, ["body", "evidence"], "union_tag_invalid"),
        ({"purpose": "marketing"}, ["body", "purpose"], "unknown_purpose"),
        ({"national_id": world.people.a_nid}, ["body"], "value_error"),  # both ways of naming them
        ({"resident_id": None}, ["body"], "value_error"),  # neither
        (
            {"valid_from": str(today), "valid_until": str(today - dt.timedelta(days=1))},
            ["body", "valid_until"],
            "value_error",
        ),
        (
            {"valid_from": "2020-01-01", "valid_until": "2020-12-31"},
            ["body", "valid_until"],
            "date_past",
        ),
    ]
    for changes, loc, kind in cases:
        r = tc.post("/v1/consents", json=_body(world, **changes), headers=h)
        assert r.status_code == 422, (changes, r.text)
        assert r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["type"] == "/problems/validation-failed"
        assert any(e["loc"] == loc and e["type"] == kind for e in problem["errors"]), (changes, problem)
    # A witness is named and a fingerprint needs no reference (its scan's digest only): both are accepted.
    ok = [
        {"method": "verbal", "witness_name": "李村医"},
        {"method": "fingerprint", "scan_sha256": SCAN_SHA256},
    ]
    for evidence in ok:
        assert tc.post("/v1/consents", json=_body(world, evidence=evidence), headers=h).status_code == 201


@pytest.mark.backends
def test_record_read_list_and_revoke(world: World) -> None:
    tc, p = world.tc, world.people
    h = {**world.headers(AGENT), "X-End-User": "0731"}
    r = tc.post("/v1/consents", json=_body(world), headers=h)
    assert r.status_code == 201, r.text
    consent = r.json()
    assert consent["id"].startswith("C") and consent["status"] == "active"
    assert consent["agent_client_id"] == AGENT and consent["recorded_by"] == "0731"
    assert consent["evidence"] == PAPER
    event = audit_event(world.engine, r.headers["x-audit-seq"])
    assert event["kind"] == "admin" and event["consent_id"] == consent["id"]
    assert event["on_behalf_of"] == p.a and p.a in event["record_ids"]
    # A resident outside the agent's village answers like an unknown one.
    r = tc.post("/v1/consents", json=_body(world, resident_id=p.d), headers=h)
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert (
        tc.post("/v1/consents", json=_body(world, resident_id="R00000000000"), headers=h).status_code == 404
    )
    other = world.consent(p.c)
    # The agent has the resident's ID card, not the gateway id: the number names them too (in the body).
    by_card = tc.post("/v1/consents", json=_body(world, resident_id=None, national_id=p.b_nid), headers=h)
    assert by_card.status_code == 201 and by_card.json()["resident_id"] == p.b
    assert tc.get(f"/v1/consents/{consent['id']}", headers=h).json() == consent
    page = tc.get("/v1/consents", params={"limit": 1}, headers=h).json()
    rest = tc.get("/v1/consents", params={"cursor": page["next"]}, headers=h).json()
    assert {c["id"] for c in page["items"] + rest["items"]} == {
        consent["id"],
        other["id"],
        by_card.json()["id"],
    }
    mine = tc.get("/v1/consents", params={"resident": p.c}, headers=h).json()["items"]
    assert [c["id"] for c in mine] == [other["id"]]
    # Another client neither sees nor uses the agent's consents.
    ca = world.headers("civil-affairs")
    assert tc.get(f"/v1/consents/{consent['id']}", headers=ca).status_code == 404
    assert tc.get("/v1/consents", headers=ca).json()["items"] == []
    r = tc.post("/v1/consents", json=_body(world), headers=ca)
    assert r.status_code == 403 and r.json()["type"] == "/problems/insufficient-scope"
    # Revoke once (PIPL Art. 15); a second time conflicts.
    url = f"/v1/consents/{consent['id']}:revoke"
    r = tc.post(url, json={"reason": "居民本人撤回"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_by"] == "0731"
    event = audit_event(world.engine, r.headers["x-audit-seq"])
    assert event["kind"] == "admin" and event["consent_id"] == consent["id"] and event["reason"]
    assert tc.post(url, json={"reason": "again"}, headers=h).status_code == 409
    assert tc.post(url, json={}, headers=h).status_code == 422
    assert tc.post(url, json={"reason": "x y"}, headers=ca).status_code == 403
