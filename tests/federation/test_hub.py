"""County A reaches county B through a city hub: every hop decides under its own rules and audits its side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.auth.clients import create_peer_client
from gateway.federation.pairing import pair_logs
from tests.auth.helpers import auth_settings, register
from tests.federation.conftest import (
    COUNTY_A,
    COUNTY_B,
    MOVED,
    PURPOSE,
    b_data,
    b_policy,
    key_file,
    store,
    write_doc,
)
from tests.support import factories
from tests.support.live import LiveServer
from tests.support.pgcluster import free_port

HUB = "511500000000"  # 宜宾市: the city platform


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[dict[str, object]]:
    """Serve A, the hub H and B; A knows only H as a peer, B knows only H."""
    tmp = tmp_path_factory.mktemp("hub")
    ports = {n: free_port() for n in "ahb"}
    urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    kids = {n: key_file(tmp / f"{n}.pem") for n in "ahb"}
    dbs = {n: store(tmp, _sqlite_template, n) for n in "ahb"}
    factories.county(dbs["a"][1])
    b_data(dbs["b"][1])
    docs = _chain_docs(urls, kids=kids)
    servers = {}
    for n in "ahb":
        write_doc(tmp / f"fed-{n}.yaml", docs[n])
        servers[n] = _serve(tmp, n=n, db_url=dbs[n][0], url=urls[n], port=ports[n])
    _enrol_signers(urls, dbs=dbs)
    civil = register(dbs["a"][1], scopes=["residents:read"])
    try:
        yield {"urls": urls, "dbs": dbs, "civil": civil}
    finally:
        for server in servers.values():
            server.stop()
        for _, engine in dbs.values():
            engine.dispose()


def _chain_docs(urls: dict[str, str], *, kids: dict[str, str]) -> dict[str, dict[str, object]]:
    """Describe the three federation files: A knows only H as a peer, B knows only H."""
    names = {"a": ("county-a", COUNTY_A), "h": ("city", HUB), "b": ("county-b", COUNTY_B)}

    def member(n: str, **how: object) -> dict[str, object]:
        """Describe gateway `n` as a member of another's federation file (`how`: kind, client ids, via)."""
        name, region = names[n]
        return {"name": name, "region_code": region, "base_url": urls[n], "pins": [kids[n]], **how}

    return {
        "a": {
            "name": "county-a",
            "region_code": COUNTY_A,
            "members": [member("h", kind="hub", as_client_id="county-a"), member("b", via="city")],
            "allow": [{"department": "civil_affairs", "members": ["county-b"], "purposes": [PURPOSE]}],
        },
        "h": {
            "name": "city",
            "region_code": HUB,
            "members": [member("a", client_id="county-a"), member("b", as_client_id="city")],
            "allow": [{"client": "county-a", "members": ["county-b"], "purposes": [PURPOSE]}],
        },
        "b": {
            "name": "county-b",
            "region_code": COUNTY_B,
            "members": [member("h", kind="hub", client_id="city")],
        },
    }


def _serve(tmp: Path, *, n: str, db_url: str, url: str, port: int) -> LiveServer:
    """Start gateway `n` on its port with its federation file and signing key."""
    # B lets the hub make two calls a minute: the third is refused by B and passed back along the chain.
    extra = {"policy_dir": b_policy(tmp, "city", per_minute=2)} if n == "b" else {}
    settings = auth_settings(
        db_url,
        public_url=url,
        federation_file=tmp / f"fed-{n}.yaml",
        signing_key_file=tmp / f"{n}.pem",
        **extra,
    )
    return LiveServer(create_app(settings), port=port).start()


def _enrol_signers(urls: dict[str, str], *, dbs: dict[str, tuple[str, Engine]]) -> None:
    """Register each caller at the next hop as a private_key_jwt client with its published keys."""
    for n, member, issuer in (("h", "county-a", "a"), ("b", "city", "h")):
        jwks = httpx.get(urls[issuer] + "/.well-known/jwks.json").json()
        create_peer_client(dbs[n][1], member, name=member, jwks=jwks)


def test_lookup_through_the_hub_is_decided_and_audited_at_every_hop(chain: dict[str, object]) -> None:
    urls: dict[str, str] = chain["urls"]  # type: ignore[assignment]
    dbs = chain["dbs"]
    cid, secret = chain["civil"]  # type: ignore[misc]
    token = httpx.post(
        urls["a"] + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret)
    ).json()["access_token"]
    r = httpx.post(
        urls["a"] + "/v1/federation/county-b/residents:lookup",
        json={"national_id": MOVED},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
        timeout=20,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "李秀英" and "phone" not in r.json()
    a_to_h = pair_logs(dbs["a"][1], dbs["h"][1]).pairs  # type: ignore[index]
    h_to_b = pair_logs(dbs["h"][1], dbs["b"][1]).pairs  # type: ignore[index]
    assert len(a_to_h) == 1 and len(h_to_b) == 1
    at_hub = a_to_h[0]["answered"][0]
    assert at_hub["client_id"] == "county-a" and at_hub["on_behalf_of"] == f"county-a/civil_affairs/{cid}"
    at_b = next(e for e in h_to_b[0]["answered"] if e["route"] == "/v1/federated/residents:lookup")
    assert at_b["client_id"] == "city" and at_b["on_behalf_of"] == f"county-a/civil_affairs/{cid} via city"
    assert a_to_h[0]["trace_id"] == h_to_b[0]["trace_id"] == at_b["trace_id"]


def test_member_rate_limit_is_passed_back_along_the_chain(chain: dict[str, object]) -> None:
    urls: dict[str, str] = chain["urls"]  # type: ignore[assignment]
    cid, secret = chain["civil"]  # type: ignore[misc]
    token = httpx.post(
        urls["a"] + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret)
    ).json()["access_token"]
    statuses = []
    for _ in range(3):
        r = httpx.post(
            urls["a"] + "/v1/federation/county-b/residents:lookup",
            json={"national_id": MOVED},
            headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
            timeout=20,
        )
        statuses.append(r.status_code)
    assert 429 in statuses, statuses
    assert r.status_code == 429 and r.json()["type"] == "/problems/member-rate-limited", r.text
    assert int(r.headers["retry-after"]) >= 1
