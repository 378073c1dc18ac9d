"""API3:2023 Broken object property level authorization: mass assignment and fields beyond a grant."""

from __future__ import annotations

from schemas.time import today_cn
from tests.security.conftest import World
from tests.support.assisted import VERBAL, consent_body


def test_consents_refuse_server_owned_properties(world: World) -> None:
    """A client cannot set who recorded a consent, its id or its status (mass assignment)."""
    base = consent_body(world.people.a, valid_until=str(today_cn()), evidence=VERBAL)
    for extra in ({"agent_client_id": "civil-affairs"}, {"id": "C0000000000000000"}, {"status": "active"}):
        r = world.tc.post("/v1/consents", json={**base, **extra}, headers=world.headers("qingshan-agent"))
        assert r.status_code == 422, (extra, r.text)


def test_subscriptions_refuse_server_owned_properties(world: World) -> None:
    """A subscription's owner and secret are the gateway's to set."""
    body = {"events": ["resident.deceased"], "url": "https://hr.county.example/hooks/d"}
    for extra in ({"client_id": "hr"}, {"secret": "whsec_mine"}, {"cursor": 0}):
        r = world.tc.post("/v1/subscriptions", json={**body, **extra}, headers=world.headers("civil-affairs"))
        assert r.status_code == 422, (extra, r.text)


def test_a_department_sees_only_its_granted_fields(world: World) -> None:
    """HR is granted identity, phone and region: no household, no tags, address masked."""
    r = world.tc.get(f"/v1/residents/{world.people.a}", headers=world.headers("hr"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert "household_id" not in doc and "tags" not in doc
    full = world.tc.get(f"/v1/residents/{world.people.a}", headers=world.headers("civil-affairs")).json()
    assert "household_id" in full


def test_filtering_by_a_hidden_field_is_refused(world: World) -> None:
    """A field a client may not see cannot be learned by filtering on it either."""
    r = world.tc.get(
        "/v1/residents", params={"household": "H1", "region": "511599000000"}, headers=world.headers("hr")
    )
    assert r.status_code in (400, 403, 422), r.text
