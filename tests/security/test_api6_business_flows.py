"""API6:2023 Unrestricted access to sensitive business flows: consents bounded, minors guarded, no oracle,
no chaining from one resident's consent to their family."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from connectors.demo.ids import check_char
from schemas.time import today_cn
from tests.security.conftest import World
from tests.support.assisted import PAPER, PURPOSE, SCAN_SHA256, consent_body

AGENT = "qingshan-agent"
SHA = SCAN_SHA256


def _consent(w: World, resident: str | None, **changes: Any) -> httpx.Response:
    return w.tc.post("/v1/consents", json=consent_body(resident, **changes), headers=w.headers(AGENT))


def _error_types(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    return {e["type"] for e in r.json()["errors"]}


def test_consent_periods_are_bounded(world: World) -> None:
    """1900-01-01 to 9999-12-31 used to be accepted: a consent for ever, back-dated a century."""
    p, today = world.people, today_cn()
    assert "date_too_early" in _error_types(
        _consent(world, p.a, valid_from="1900-01-01", valid_until="9999-12-31")
    )
    too_long = _consent(world, p.a, valid_until=str(today + dt.timedelta(days=400)))
    assert "period_too_long" in _error_types(too_long)
    back = str(today - dt.timedelta(days=10))
    assert "date_too_early" in _error_types(_consent(world, p.a, valid_from=back))
    ok = _consent(
        world,
        p.a,
        valid_from=str(today - dt.timedelta(days=2)),
        valid_until=str(today + dt.timedelta(days=300)),
    )
    assert ok.status_code == 201, ok.text


def test_scanned_evidence_carries_its_sha256(world: World) -> None:
    """A scan reference alone can be swapped for another file later; its digest cannot."""
    r = _consent(world, world.people.a, evidence={"method": "paper_form", "scan_reference": "x.pdf"})
    assert r.status_code == 422
    r = _consent(world, world.people.a, evidence={"method": "fingerprint"})
    assert r.status_code == 422
    r = _consent(world, world.people.a, evidence={"method": "fingerprint", "scan_sha256": SHA.upper()})
    assert r.status_code == 422


def test_a_child_needs_a_guardian(world: World) -> None:
    """A consent for a 5-year-old used to be accepted with no guardian (PIPL Art. 31: under 14)."""
    p = world.people
    assert "guardian_required" in _error_types(_consent(world, p.kid))
    guardian = {"name": "王建国", "national_id": p.a_nid, "relationship": "grandparent", "evidence": PAPER}
    child_as_guardian = {**guardian, "national_id": p.kid_nid}
    assert "guardian_invalid" in _error_types(_consent(world, p.kid, guardian=child_as_guardian))
    r = _consent(world, p.kid, guardian=guardian)
    assert r.status_code == 201, r.text
    assert r.json()["guardian"]["relationship"] == "grandparent"
    assert _consent(world, p.a).status_code == 201  # an adult needs none


def test_unknown_and_out_of_village_ids_answer_the_same(world: World) -> None:
    """Consent creation must not tell the agent who lives outside its village (by id or by ID number)."""
    p = world.people
    unknown_nid = "51159919600101004" + check_char("51159919600101004")

    def answer(**named: Any) -> tuple[int, dict[str, Any]]:
        r = _consent(world, None, **named)
        return r.status_code, {k: v for k, v in r.json().items() if k not in ("instance", "trace_id")}

    outside, unknown = answer(resident_id=p.d), answer(resident_id="R99999999999")
    assert outside == unknown and outside[0] == 404
    assert (
        answer(national_id=p.d_nid, resident_id=None)
        == answer(national_id=unknown_nid, resident_id=None)
        == outside
    )


def test_a_consent_reaches_its_resident_not_the_household(world: World) -> None:
    """One consent used to reveal the household's other members, whose ids then took more consents."""
    p = world.people
    consent = _consent(world, p.b).json()["id"]
    headers = {**world.headers(AGENT, PURPOSE), "X-On-Behalf-Of": p.b, "X-Consent-Id": consent}
    r = world.tc.get("/v1/households/H1", headers=headers)
    assert r.status_code == 200, r.text
    members = r.json()["members"]
    assert len(members) == 3
    others = [m for m in members if m.get("resident_id") != p.b]
    assert len(others) == 2
    for m in others:
        assert (
            set(m) <= {"relation", "status", "resident_id", "name"}
            and not m.get("resident_id")
            and not m.get("name")
        )
    assert r.json()["head_resident_id"] is None  # the head is a, not the consenting b
    assert world.tc.get(f"/v1/residents/{p.a}", headers=headers).status_code == 404
