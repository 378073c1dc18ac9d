"""GET /v1/alerts and :close: every shipped rule raised, routed, policy-filtered, closed and audited."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, text

from tests.alerts.conftest import World
from tests.changes.test_webhooks import run_pass
from tests.support import factories
from tests.support.alerts import add_enrollment, evaluate

# rule -> (department's client, purpose, resident key of the cast)
SHIPPED = {
    "deceased-assistance-active": ("civil-affairs", "social-assistance-review", "deceased"),
    "deceased-pension-active": ("hr", "pension-eligibility", "deceased"),
    "elderly-alone-uninsured": ("civil-affairs", "elderly-care", "alone"),
    "left-behind-no-guardian": ("civil-affairs", "child-protection", "child"),
    "disabled-not-assisted": ("civil-affairs", "social-assistance-review", "disabled"),
    "benefit-ending-30d": ("civil-affairs", "social-assistance-review", "ending"),
    "migrant-returned": ("hr", "employment-service", "returned"),
}


def _audit(engine: Engine, seq: str) -> dict[str, Any]:
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": int(seq)}).scalar_one()
    out: dict[str, Any] = orjson.loads(body)
    return out


def test_every_shipped_rule_is_tested_here(world: World) -> None:
    shipped = {r.id for r in world.tc.app.state.runtime.policy.engine.docs.alerts.rules}  # type: ignore[attr-defined]
    assert shipped == set(SHIPPED)


def test_each_rule_raises_for_its_case_and_routes_to_its_department(world: World) -> None:
    ids = world.cast.ids
    for rule, (client, purpose, who) in SHIPPED.items():
        items = [i for i in world.worklist(client, purpose) if i["rule"] == rule]
        assert [i["resident_id"] for i in items if i["resident_id"] == ids[who]], (rule, items)
        item = next(i for i in items if i["resident_id"] == ids[who])
        assert item["state"] == "open" and item["department"] == ("hr" if client == "hr" else "civil_affairs")
        assert item["basis"] and item["action"] and item["title"]
    # Near misses raise nothing: payments stopped, insured, a guardian at home, not yet due, still away.
    everything = [i for client, purpose, _ in SHIPPED.values() for i in world.worklist(client, purpose)]
    quiet = {ids[k] for k in ("deceased_stopped", "alone_insured", "child_kept", "not_ending", "away")}
    assert not [i for i in everything if i["resident_id"] in quiet]
    ending = next(i for i in everything if i["rule"] == "benefit-ending-30d")
    assert ending["detail"] == "城乡低保 2026-11-21 到期"


def test_a_department_sees_only_its_rules_under_their_purpose(world: World) -> None:
    civil = world.worklist("civil-affairs", "social-assistance-review")
    assert {i["rule"] for i in civil} == {
        "deceased-assistance-active",
        "disabled-not-assisted",
        "benefit-ending-30d",
    }
    hr = world.worklist("hr", "pension-eligibility")
    assert {i["rule"] for i in hr} == {"deceased-pension-active"}
    # Another purpose, another worklist; a purpose the department has no grant for is refused.
    assert {i["rule"] for i in world.worklist("civil-affairs", "elderly-care")} == {"elderly-alone-uninsured"}
    r = world.tc.get("/v1/alerts", headers=world.headers("hr", "child-protection"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = world.tc.get("/v1/alerts", headers=world.headers("civil-affairs"))
    assert r.status_code in (400, 403) and r.json()["type"].endswith("purpose-required")
    # And one department's item cannot be opened by the other.
    item = hr[0]
    assert (
        world.tc.get(
            f"/v1/alerts/{item['id']}", headers=world.headers("civil-affairs", "pension-eligibility")
        ).status_code
        == 403
    )
    r = world.tc.get(
        f"/v1/alerts/{item['id']}", headers=world.headers("civil-affairs", "social-assistance-review")
    )
    assert r.status_code == 404


def test_rows_are_limited_to_the_callers_region_in_sql(world: World) -> None:
    ids = world.cast.ids
    county = world.worklist("civil-affairs", "social-assistance-review", rule="deceased-assistance-active")
    assert {i["resident_id"] for i in county} == {ids["deceased"], ids["deceased_elsewhere"]}
    town = world.worklist("qingshan-civil", "social-assistance-review", rule="deceased-assistance-active")
    assert [i["resident_id"] for i in town] == [ids["deceased"]]
    elsewhere = next(i for i in county if i["resident_id"] == ids["deceased_elsewhere"])
    r = world.tc.get(
        f"/v1/alerts/{elsewhere['id']}", headers=world.headers("qingshan-civil", "social-assistance-review")
    )
    assert r.status_code == 404
    # Filtering by a region outside its own learns nothing either.
    assert world.worklist("qingshan-civil", "social-assistance-review", region="511599200201") == []


def test_the_resident_is_shown_with_the_callers_fields_only(world: World) -> None:
    item = world.worklist("hr", "employment-service")[0]
    resident = item["resident"]
    # HR's grant: identity and phone, the address masked to the village, no tags, no ethnicity.
    assert resident["name"] == "郑一" and resident["phone"] == "13800000001"
    assert "tags" not in resident and "ethnicity" not in resident
    assert resident["address"] != "青山村2组8号"
    civil = world.worklist("civil-affairs", "social-assistance-review", rule="deceased-assistance-active")
    assert any(i["resident"].get("address") == "青山村1组1号" for i in civil)


def test_close_with_an_outcome_is_audited_and_final(world: World) -> None:
    tc = world.tc
    item = world.worklist("civil-affairs", "social-assistance-review", rule="deceased-assistance-active")[0]
    h = {**world.headers("civil-affairs", "social-assistance-review"), "X-End-User": "0731"}
    body = {"outcome": "action_taken", "note": "已于11月30日停发低保金"}
    r = tc.post(f"/v1/alerts/{item['id']}:close", json=body, headers=h)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (
        closed["state"] == "closed" and closed["outcome"] == "action_taken" and closed["closed_by"] == "0731"
    )
    event = _audit(world.engine, r.headers["x-audit-seq"])
    assert event["resource"] == "alert" and item["id"] in event["record_ids"]
    assert item["resident_id"] in event["record_ids"] and event["purpose"] == "social-assistance-review"
    assert tc.post(f"/v1/alerts/{item['id']}:close", json=body, headers=h).status_code == 409
    # A reader without alerts:write cannot close; a bad outcome is a 422 problem.
    reader = world.headers("civil-reader", "social-assistance-review")
    assert tc.post(f"/v1/alerts/{item['id']}:close", json=body, headers=reader).status_code == 403
    bad = tc.post(f"/v1/alerts/{item['id']}:close", json={"outcome": "shrug", "note": "x"}, headers=h)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    # The resident's disclosure report names the reads of the worklist.
    assert [i["id"] for i in world.worklist("civil-affairs", "social-assistance-review", state="closed")] == [
        item["id"]
    ]
    # Evaluated again (the next sync): nothing is raised twice, and the closed item stays closed.
    assert evaluate(world.engine) == 0
    assert world.worklist("civil-affairs", "social-assistance-review", state="closed")[0]["state"] == "closed"


def test_listing_is_audited_with_every_resident(world: World) -> None:
    r = world.tc.get("/v1/alerts", headers=world.headers("hr", "pension-eligibility"))
    event = _audit(world.engine, r.headers["x-audit-seq"])
    assert event["decision"] == "allow" and world.cast.ids["deceased"] in event["record_ids"]


def test_alert_raised_in_the_change_feed_for_its_readers_only(world: World) -> None:
    def events(client: str, purpose: str) -> list[dict[str, Any]]:
        r = world.tc.get("/v1/changes", params={"limit": 500}, headers=world.headers(client, purpose))
        assert r.status_code == 200, r.text
        return [c for c in r.json()["items"] if c["event"] == "alert.raised"]

    civil = events("civil-affairs", "social-assistance-review")
    listed = world.worklist("civil-affairs", "social-assistance-review")
    assert {c["id"] for c in civil} == {i["id"] for i in listed}
    assert all(c["resource"] == "alert" and c["fields"] == [] for c in civil)
    hr = events("hr", "pension-eligibility")
    assert {c["id"] for c in hr} == {i["id"] for i in world.worklist("hr", "pension-eligibility")}
    town = events("qingshan-civil", "social-assistance-review")
    assert world.cast.ids["deceased_elsewhere"] not in {c["resident_id"] for c in town}
    assert len(town) == len(civil) - 1


def test_alert_raised_reaches_the_departments_webhook_signed(world: World) -> None:
    url = world.receiver.url
    for client, purpose, path in (
        ("civil-affairs", "social-assistance-review", "civil"),
        ("hr", "pension-eligibility", "hr"),
        ("hr", "employment-service", "jobs"),
    ):
        body = {"events": ["alert.raised"], "url": f"{url}/hooks/{path}"}
        r = world.tc.post("/v1/subscriptions", json=body, headers=world.headers(client, purpose))
        assert r.status_code == 201, r.text
        world.receiver.secrets[f"/hooks/{path}"] = r.json()["secret"]
    # A death recorded after subscribing: the next evaluation raises one item for each department.
    rid = factories.add_resident(world.engine, region_code="511599100201", name="冯一", status="deceased").id
    add_enrollment(world.engine, rid, "D9", "minimum_living_allowance")
    add_enrollment(world.engine, rid, "P9", "employee_pension")
    assert evaluate(world.engine) == 2
    report = run_pass(world.tc.app.state.config.settings)  # type: ignore[attr-defined]
    assert report.delivered == 2, report
    civil, hr = world.receiver.bodies("/hooks/civil"), world.receiver.bodies("/hooks/hr")
    assert [b["type"] for b in civil] == ["alert.raised"] and civil[0]["data"]["resident_id"] == rid
    assert [b["type"] for b in hr] == ["alert.raised"] and hr[0]["data"]["id"] != civil[0]["data"]["id"]
    assert world.receiver.bodies("/hooks/jobs") == []  # HR's employment worklist has no death rule
