"""A cross-county lookup between two live gateways: each side decides under its own policy, both audit."""

from __future__ import annotations

import time

import httpx
import orjson
from sqlalchemy import Engine, func, select

from gateway.audit.verify import verify_store
from gateway.federation.client import CLAIMS_HEADER, Caller, client_assertion, forwarded_claims
from gateway.federation.pairing import pair_logs
from gateway.residents.repository import R
from policies.decision import Subject
from store.tables.audit import AuditEventRow
from tests.auth.helpers import register
from tests.federation.conftest import B_FIELDS, MOVED, PURPOSE, Federation, citizen_id

E = AuditEventRow.__table__.c  # type: ignore[attr-defined]


def ask(
    fed: Federation, client: str, member: str = "county-b", *, nid: str = MOVED, purpose: str | None = PURPOSE
) -> httpx.Response:
    """Ask county A's gateway to look a resident up in `member`, as one of A's clients."""
    headers = {"Authorization": f"Bearer {fed.a.token(client, 'residents:read')}"}
    if purpose:
        headers["X-Purpose"] = purpose
    return httpx.post(
        f"{fed.a.url}/v1/federation/{member}/residents:lookup",
        json={"national_id": nid},
        headers=headers,
        timeout=20,
    )


def events(engine: Engine) -> int:
    """Count the audit events of a store."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(E.seq > 0)).scalar_one())


def test_lookup_returns_exactly_what_b_allows_a_for_the_purpose(federation: Federation) -> None:
    r = ask(federation, "civil")
    assert r.status_code == 200, r.text
    got = r.json()
    # B's own decision for member county-a and this purpose, applied to B's stored record.
    state = federation.b.app.state.runtime.policy
    decision = state.engine.decide(Subject("county-a", "federation", "511599000000"), "residents", PURPOSE)
    with federation.b.engine.connect() as conn:
        stored = conn.execute(select(R.doc).where(R.national_id == MOVED)).scalar_one()
    expected = orjson.loads(decision.project(stored, state.village_names))
    assert got == expected
    assert {k for k, v in got.items() if v is not None} <= {
        "id",
        "national_id",
        "updated_at",
        "provenance",
        *B_FIELDS,
    }
    assert got["name"] == "李秀英" and "phone" not in got and "address" not in got
    assert got["national_id"] != MOVED and got["national_id"].startswith(MOVED[:3])  # masked by B


def test_catalog_is_relayed_as_it_applies_to_this_gateway(federation: Federation) -> None:
    token = federation.a.token("civil", "residents:read")
    r = httpx.get(
        f"{federation.a.url}/v1/federation/county-b/catalog", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    residents = next(x for x in r.json()["resources"] if x["resource"] == "residents")
    seen = {f["field"]: f["caller"] for f in residents["fields"]}
    assert {f for f, c in seen.items() if c == "clear"} == {"id", "updated_at", "provenance", *B_FIELDS}
    assert seen["national_id"] == "masked" and seen["phone"] == "hidden"
    members = httpx.get(
        f"{federation.a.url}/v1/federation", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert members["name"] == "county-a" and "county-b" in {m["name"] for m in members["items"]}


def test_a_policy_refusal_is_answered_without_contacting_b(federation: Federation) -> None:
    before = events(federation.b.engine)
    r = ask(federation, "hr")  # A's rules let only civil_affairs ask other counties
    assert r.status_code == 403 and r.json()["type"] == "/problems/federation-not-allowed", r.text
    assert r.headers["content-type"] == "application/problem+json"
    with federation.a.engine.connect() as conn:
        last = conn.execute(select(E.decision, E.reason).order_by(E.seq.desc()).limit(1)).one()
    assert tuple(last) == ("deny", "federation-not-allowed:county-b")  # A's own log says why
    time.sleep(0.2)
    assert events(federation.b.engine) == before
    r = ask(federation, "civil", purpose=None)
    assert r.status_code == 403 and r.json()["type"] == "/problems/purpose-required"
    assert events(federation.b.engine) == before


def test_b_refusal_is_passed_on_as_a_problem(federation: Federation) -> None:
    r = ask(federation, "civil", purpose="emergency-response")  # A allows it; B's grant for county-a does not
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["type"] == "/problems/member-refused" and body["member"] == "county-b"
    assert body["member_type"] == "/problems/grant-missing" and body["member_status"] == 403
    r = ask(federation, "civil", nid=citizen_id("511521", "19991231", 999))
    assert r.status_code == 404 and r.json()["type"] == "/problems/member-not-found", r.text


def test_unknown_member_is_refused(federation: Federation) -> None:
    r = ask(federation, "civil", member="county-x")
    assert r.status_code == 404 and r.json()["type"] == "/problems/unknown-member", r.text


def test_outbound_rate_limit_per_member(federation: Federation) -> None:
    # The limit is 1 a minute in fixed windows: a pair of asks that straddles a minute's end is
    # legitimately allowed twice, so such a pair is asked again (at most once more).
    for attempt in range(2):
        window = time.time() // 60
        first = ask(federation, "civil", member="county-b-slow")
        assert attempt > 0 or first.status_code == 200, first.text
        r = ask(federation, "civil", member="county-b-slow")
        if time.time() // 60 == window:
            break
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text


def test_member_down_opens_its_circuit(federation: Federation) -> None:
    for _ in range(2):
        r = ask(federation, "civil", member="county-down")
        assert r.status_code == 503 and r.json()["type"] == "/problems/member-unavailable", r.text
    r = ask(federation, "civil", member="county-down")  # refused at once: the member is not tried
    assert r.status_code == 503 and "circuit open" in r.json()["detail"], r.text
    assert int(r.headers["retry-after"]) > 1
    assert ask(federation, "civil").status_code == 200  # another member's circuit is its own


def test_only_members_reach_the_inbound_route(federation: Federation) -> None:
    cid, secret = register(federation.b.engine, scopes=["residents:read"])
    token = httpx.post(
        federation.b.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret or "")
    ).json()["access_token"]
    r = httpx.post(
        federation.b.url + "/v1/federated/residents:lookup",
        json={"national_id": MOVED},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
    )
    assert r.status_code == 403 and r.json()["type"] == "/problems/not-a-member", r.text


def test_replayed_assertion_and_claims_are_refused(federation: Federation) -> None:
    keyring = federation.a.app.state.runtime.auth.keyring
    token_url = federation.b.url + "/oauth/token"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(keyring, client_id="county-a", token_url=token_url),
    }
    first = httpx.post(token_url, data=form)
    assert first.status_code == 200, first.text
    again = httpx.post(token_url, data=form)
    assert again.status_code in (400, 401) and again.json()["error"] == "invalid_client", again.text
    claims = forwarded_claims(
        keyring,
        issuer_id="county-a",
        audience=federation.b.url,
        caller=Caller("civil", "civil_affairs", "county-a"),
        purpose=PURPOSE,
        trace_id="0af7651916cd43dd8448eb211c80319c",
    )
    headers = {
        "Authorization": f"Bearer {first.json()['access_token']}",
        "X-Purpose": PURPOSE,
        CLAIMS_HEADER: claims,
    }
    url = federation.b.url + "/v1/federated/residents:lookup"
    assert httpx.post(url, json={"national_id": MOVED}, headers=headers).status_code == 200
    replay = httpx.post(url, json={"national_id": MOVED}, headers=headers)
    assert replay.status_code == 401 and replay.json()["type"] == "/problems/federation-claims-invalid"


def test_both_logs_hold_paired_events_that_verify(federation: Federation) -> None:
    r = ask(federation, "civil")
    assert r.status_code == 200
    civil_id = federation.a.clients["civil"][0]
    pairing = pair_logs(federation.a.engine, federation.b.engine)
    mine = [p for p in pairing.pairs if p["asked"]["client_id"] == civil_id and p["asked"]["status"] == 200]
    assert mine, pairing
    pair = mine[-1]
    asked, answered = pair["asked"], pair["answered"]
    assert asked["route"] == "/v1/federation/{member}/residents:lookup" and asked["purpose"] == PURPOSE
    lookup = [e for e in answered if e["route"] == "/v1/federated/residents:lookup"]
    assert lookup and lookup[0]["client_id"] == "county-a" and lookup[0]["purpose"] == PURPOSE
    assert lookup[0]["on_behalf_of"] == f"county-a/civil_affairs/{civil_id}"
    assert lookup[0]["trace_id"] == asked["trace_id"] == pair["trace_id"]
    # Refusals at A never reached B: nothing of theirs to pair.
    assert all(
        u["status"] != 200 or u["route"] != asked["route"] for u in pairing.unpaired if u["status"] == 200
    )
    with federation.a.engine.connect() as conn:  # A keeps ids and field names, never B's data
        bodies = [bytes(b).decode() for b in conn.execute(select(E.body)).scalars()]
    assert any("county-b:B0000000001" in b for b in bodies) and not any("李秀英" in b for b in bodies)
    for engine in (federation.a.engine, federation.b.engine):
        report = verify_store(engine)
        assert report.finding is None, report.finding


def test_disclosure_report_in_b_names_county_a_department(federation: Federation) -> None:
    assert ask(federation, "civil").status_code == 200
    token = federation.b.token("auditor", "disclosures:read")
    r = httpx.get(
        federation.b.url + "/v1/residents/B0000000001/disclosures",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    civil_id = federation.a.clients["civil"][0]
    asked = [i for i in items if i["client_id"] == "county-a"]
    assert asked and asked[0]["on_behalf_of"] == f"county-a/civil_affairs/{civil_id}"
    assert asked[0]["purpose"] == PURPOSE and "name" in asked[0]["fields_disclosed"]
