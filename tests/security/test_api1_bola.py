"""API1:2023 Broken object level authorization: by id, by cursor, across clients (attacks that hold)."""

from __future__ import annotations

from schemas.time import today_cn
from tests.security.conftest import World
from tests.support.assisted import VERBAL, consent_body

AGENT = "qingshan-agent"


def _strip(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k not in ("instance", "trace_id", "detail")}


def test_a_resident_outside_the_region_answers_like_a_missing_one(world: World) -> None:
    """The township-bound reader cannot tell an out-of-region id from an unknown one."""
    sql_like = world.tc.get(f"/v1/residents/{world.people.d}", headers=world.headers("qingshan-agent"))
    missing = world.tc.get("/v1/residents/R99999999999", headers=world.headers("qingshan-agent"))
    assert sql_like.status_code in (403, 404) and missing.status_code == sql_like.status_code
    assert _strip(sql_like.json()) == _strip(missing.json())


def test_another_clients_consent_is_not_found(world: World) -> None:
    """A consent is visible to the client that recorded it only."""
    body = consent_body(world.people.a, valid_until=str(today_cn()), evidence=VERBAL)
    consent = world.tc.post("/v1/consents", json=body, headers=world.headers(AGENT)).json()["id"]
    assert world.tc.get(f"/v1/consents/{consent}", headers=world.headers(AGENT)).status_code == 200
    r = world.tc.get(f"/v1/consents/{consent}", headers=world.headers("civil-affairs"))
    assert r.status_code == 404
    listed = world.tc.get("/v1/consents", headers=world.headers("civil-affairs")).json()
    assert listed["items"] == []


def test_a_cursor_is_no_key_to_someone_elses_rows(world: World) -> None:
    """A valid cursor issued to one client pages only the caller's own rows when another presents it."""
    today = __import__("schemas.time", fromlist=["today_cn"]).today_cn()
    for resident in (world.people.a, world.people.b):
        body = {
            "resident_id": resident,
            "purpose": "pension-eligibility",
            "valid_from": str(today),
            "valid_until": str(today),
            "evidence": {"method": "verbal", "witness_name": "李村医"},
        }
        assert world.tc.post("/v1/consents", json=body, headers=world.headers(AGENT)).status_code == 201
    first = world.tc.get("/v1/consents?limit=1", headers=world.headers(AGENT)).json()
    assert first["next"]
    stolen = world.tc.get(
        f"/v1/consents?limit=1&cursor={first['next']}", headers=world.headers("civil-affairs")
    )
    assert stolen.status_code == 200 and stolen.json()["items"] == []


def test_another_clients_subscription_cannot_be_deleted(world: World) -> None:
    """Subscriptions belong to their client: another one's id answers 404."""
    r = world.tc.post(
        "/v1/subscriptions",
        json={"events": ["resident.deceased"], "url": "https://hr.county.example/hooks/d"},
        headers=world.headers("civil-affairs"),
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert world.tc.delete(f"/v1/subscriptions/{sid}", headers=world.headers("hr")).status_code in (403, 404)
    assert (
        world.tc.delete(f"/v1/subscriptions/{sid}", headers=world.headers("civil-affairs")).status_code == 204
    )
