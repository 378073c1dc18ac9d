"""Residents' requests (诉求) through their life cycle: recorded under consent, routed, forwarded, answered,
closed, overdue; every step recorded and audited; read back through the agent; others see nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import Engine, text, update

from gateway.policy.sharing_repository import add_working_days
from schemas.time import today_cn
from store.tables.alerts import AppealRow
from tests.support.assisted import AGENT, World


def _audit(engine: Engine, seq: str) -> dict[str, Any]:
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": int(seq)}).scalar_one()
    out: dict[str, Any] = orjson.loads(body)
    return out


def _request(world: World, **changes: Any) -> dict[str, Any]:
    body = {
        "resident_id": world.people.a,
        "category": "pension",
        "description": "今年满60岁，想了解城乡居民养老金什么时候开始领取",
        "urgency": "normal",
        "channel": "agent",
        **changes,
    }
    return body


def test_a_request_through_its_whole_life(world: World) -> None:
    tc, p = world.tc, world.people
    consent = world.consent(p.a)
    agent = {**world.headers(AGENT), "X-End-User": "0731"}
    r = tc.post("/v1/appeals", json=_request(world, consent_id=consent["id"]), headers=agent)
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert appeal["state"] == "accepted" and appeal["department"] == "hr" and appeal["recorded_by"] == "0731"
    assert appeal["due_date"] == str(add_working_days(today_cn(), 10))
    assert [s["step"] for s in appeal["steps"]] == ["accepted"]
    event = _audit(world.engine, r.headers["x-audit-seq"])
    assert event["resource"] == "appeal" and p.a in event["record_ids"] and event["on_behalf_of"] == p.a
    assert event["consent_id"] == consent["id"]
    # HR sees it on its list; civil affairs does not (not routed there), nor does another township.
    hr = {**world.headers("hr"), "X-End-User": "hr-07"}
    listed = tc.get("/v1/appeals", headers=hr).json()["items"]
    assert [a["id"] for a in listed] == [appeal["id"]]
    assert tc.get("/v1/appeals", headers=world.headers("civil-affairs")).json()["items"] == []
    assert tc.get(f"/v1/appeals/{appeal['id']}", headers=world.headers("civil-affairs")).status_code == 404
    # HR forwards it to civil affairs (it concerns an allowance): civil affairs now holds it, HR no longer.
    fwd = {"department": "civil_affairs", "note": "涉及高龄津贴，转民政"}
    r = tc.post(f"/v1/appeals/{appeal['id']}:forward", json=fwd, headers=hr)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "forwarded" and r.json()["department"] == "civil_affairs"
    assert (
        tc.post(f"/v1/appeals/{appeal['id']}:answer", json={"answer": "不归我们"}, headers=hr).status_code
        == 404
    )
    civil = {**world.headers("civil-affairs"), "X-End-User": "mz-03"}
    answer = {"answer": "满60周岁次月起发放高龄津贴，请携带身份证到村便民服务站办理"}
    r = tc.post(f"/v1/appeals/{appeal['id']}:answer", json=answer, headers=civil)
    assert r.status_code == 200 and r.json()["state"] == "answered" and r.json()["answer"] == answer["answer"]
    # Closing twice, or answering a closed one, conflicts; the agent closes once the resident has heard.
    r = tc.post(f"/v1/appeals/{appeal['id']}:close", json={"note": "已电话告知本人"}, headers=agent)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert (
        tc.post(f"/v1/appeals/{appeal['id']}:close", json={"note": "再次"}, headers=agent).status_code == 409
    )
    assert tc.post(f"/v1/appeals/{appeal['id']}:answer", json=answer, headers=civil).status_code == 409
    # The resident's requests, read back through the agent, with every step and who took it.
    r = tc.get("/v1/appeals", params={"resident": p.a}, headers=agent)
    (back,) = r.json()["items"]
    steps = [(s["step"], s["department"], s["by"]) for s in back["steps"]]
    assert steps == [
        ("accepted", "hr", "0731"),
        ("forwarded", "civil_affairs", "hr-07"),
        ("answered", "civil_affairs", "mz-03"),
        ("closed", "village_service", "0731"),
    ]
    # The resident's disclosure report lists every step taken on their behalf.
    r = tc.get(f"/v1/residents/{p.a}/disclosures", params={"limit": 100}, headers=world.headers("auditor"))
    assert r.status_code == 200, r.text
    steps_reported = [i["route"] for i in r.json()["items"] if i["resource"] == "appeal"]
    for route in ("/v1/appeals", "/v1/appeals/{appeal_id}:forward", "/v1/appeals/{appeal_id}:answer",
                  "/v1/appeals/{appeal_id}:close"):  # fmt: skip
        assert route in steps_reported, steps_reported


def test_an_agent_needs_the_residents_consent(world: World) -> None:
    tc, p = world.tc, world.people
    agent = world.headers(AGENT)
    r = tc.post("/v1/appeals", json=_request(world), headers=agent)
    assert r.status_code == 403 and r.json()["type"].endswith("consent-required")
    other = world.consent(p.c)
    r = tc.post("/v1/appeals", json=_request(world, consent_id=other["id"]), headers=agent)
    assert r.status_code == 403 and r.json()["type"].endswith("consent-invalid")
    # A resident outside the agent's village answers like an unknown one.
    r = tc.post("/v1/appeals", json=_request(world, resident_id=p.d, consent_id=other["id"]), headers=agent)
    assert r.status_code == 404
    # Department staff at the window record without a consent, by the ID card shown.
    r = tc.post("/v1/appeals", json=_request(world, resident_id=None, national_id=p.b_nid,
                                              category="social_assistance", channel="in_person"),
                headers=world.headers("civil-affairs"))  # fmt: skip
    assert (
        r.status_code == 201 and r.json()["resident_id"] == p.b and r.json()["department"] == "civil_affairs"
    )
    bad = tc.post(
        "/v1/appeals", json=_request(world, category="gossip"), headers=world.headers("civil-affairs")
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_overdue_is_recorded_once_and_the_department_region_bounds_what_it_sees(world: World) -> None:
    tc = world.tc
    civil = world.headers("civil-affairs")
    body = _request(world, category="social_assistance", channel="phone", urgency="urgent")
    appeal = tc.post("/v1/appeals", json=body, headers=civil).json()
    assert appeal["due_date"] == str(add_working_days(today_cn(), 3))
    with world.engine.begin() as conn:
        conn.execute(
            update(AppealRow.__table__)  # type: ignore[arg-type]
            .where(AppealRow.__table__.c.id == appeal["id"])  # type: ignore[attr-defined]
            .values(due_date=today_cn() - dt.timedelta(days=1))
        )
    for _ in range(2):
        got = tc.get(f"/v1/appeals/{appeal['id']}", headers=civil).json()
    assert got["overdue"] is True and [s["step"] for s in got["steps"]] == ["accepted", "overdue"]
    assert [
        a["id"] for a in tc.get("/v1/appeals", params={"overdue": "true"}, headers=civil).json()["items"]
    ] == [appeal["id"]]
    # Civil affairs of another township does not see a request about a resident of 青山村.
    assert tc.get("/v1/appeals", headers=world.headers("shimen-civil")).json()["items"] == []
