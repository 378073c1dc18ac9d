"""Two live county gateways on 127.0.0.1: separate stores, policies, keys and federation documents."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from joserfc.jwk import ECKey
from sqlalchemy import Engine
from stdnum.cn import ric

from gateway.app import create_app
from gateway.auth.clients import create_peer_client
from gateway.federation.demo import county_b_document
from policies.loader import DEFAULT_DIR
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings, register
from tests.support import factories
from tests.support.live import LiveServer
from tests.support.pgcluster import free_port
from tests.support.stores import sqlite_copy

COUNTY_A = "511599000000"
COUNTY_B = "511521000000"  # 宜宾县: the second county, its own gazetteer
VILLAGE_B = "511521100201"
B_FIELDS = ["name", "sex", "birth_date", "region_code", "status"]
PURPOSE = "social-assistance-review"


def citizen_id(region: str, birth: str, seq: int) -> str:
    """Return a valid GB 11643 number."""
    body = f"{region[:6]}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


MOVED = citizen_id("511599", "19880421", 137)  # registered in A's county, now living in B


@dataclass
class County:
    """One live gateway and what the tests need of it."""

    name: str
    app: FastAPI
    server: LiveServer
    engine: Engine
    url: str
    db_url: str
    federation_file: Path
    clients: dict[str, tuple[str, str]]

    def token(self, client: str, scope: str) -> str:
        """Obtain a token for one of this county's own clients."""
        cid, secret = self.clients[client]
        r = httpx.post(
            self.url + "/oauth/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(cid, secret),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def kid(self) -> str:
        """Return the kid this gateway signs with now (its JWKS publishes it)."""
        kid = self.app.state.runtime.auth.keyring.signer_kid
        assert kid
        return str(kid)


def store(tmp: Path, template: Path, name: str) -> tuple[str, Engine]:
    url = sqlite_copy(template, tmp / f"{name}.db")
    return url, make_sync_engine(url)


def b_policy(tmp: Path, member: str = "county-a", *, per_minute: int = 600) -> Path:
    """B's policy: the shipped one plus a grant for a member (its own fields, purposes, rows)."""
    directory = tmp / f"policy-b-{member}"
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("tests"))
    grants = yaml.safe_load((directory / "grants.yaml").read_text(encoding="utf-8"))
    grants["grants"].append(
        {
            "id": f"{member}-residents",
            "client": member,
            "resource": "residents",
            "fields": B_FIELDS,
            "masked": ["national_id"],
            "regions": [COUNTY_B],
            "purposes": [PURPOSE],
        }
    )
    (directory / "grants.yaml").write_text(yaml.safe_dump(grants, allow_unicode=True), encoding="utf-8")
    limits = yaml.safe_load((directory / "rate_limits.yaml").read_text(encoding="utf-8"))
    limits["limits"].append({"client": member, "requests_per_minute": per_minute, "records_per_day": 1000})
    (directory / "rate_limits.yaml").write_text(yaml.safe_dump(limits), encoding="utf-8")
    return directory


def write_doc(path: Path, doc: dict[str, Any]) -> None:
    """Write a federation document (the watcher reloads it)."""
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def doc_a(b_url: str, b_kid: str) -> dict[str, Any]:
    """County A's federation document."""
    member = {"region_code": COUNTY_B, "base_url": b_url, "pins": [b_kid], "as_client_id": "county-a"}
    return {
        "name": "county-a",
        "region_code": COUNTY_A,
        "members": [
            {"name": "county-b", "title": "乙县", "client_id": "county-b", **member, "attempts": 2},
            # The same county B under a tight outbound limit of ours (one call a minute).
            {"name": "county-b-slow", **member, "requests_per_minute": 1},
            # A member that is down: nothing listens on its port.
            {
                "name": "county-down",
                "region_code": "511522000000",
                "base_url": f"http://127.0.0.1:{free_port()}",
                "pins": [b_kid],
                "as_client_id": "county-a",
                "attempts": 2,
                "timeout_seconds": 1,
                "breaker_failures": 2,
                "breaker_reset_seconds": 60,
            },
        ],
        "allow": [
            {"department": "civil_affairs", "members": ["*"], "purposes": [PURPOSE, "emergency-response"]},
        ],
    }


def b_data(engine: Engine) -> None:
    factories.add_region(engine, "510000000000", "四川省")
    factories.add_region(engine, "511500000000", "宜宾市", parent="510000000000")
    factories.add_region(engine, COUNTY_B, "宜宾县", parent="511500000000")
    factories.add_region(engine, "511521100000", "柏溪镇", parent=COUNTY_B)
    factories.add_region(engine, VILLAGE_B, "新村", parent="511521100000")
    born = dt.date(1988, 4, 21)
    common = {"sex": "female", "birth_date": born, "region_code": VILLAGE_B, "phone": "13800000000"}
    factories.add_resident(
        engine, rid="B0000000001", national_id=MOVED, name="李秀英", address="新村3组", **common
    )
    other = citizen_id("511521", "19700101", 11)
    factories.add_resident(engine, rid="B0000000002", national_id=other, name="王强", **common)


@dataclass
class Federation:
    """County A and county B, serving."""

    a: County
    b: County


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Federation]:
    """Start county A then county B (B pins A's published key), each with its own clients."""
    tmp = tmp_path_factory.mktemp("federation")
    a_port, b_port = free_port(), free_port()
    a_url, b_url = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
    a_db, a_engine = store(tmp, _sqlite_template, "a")
    b_db, b_engine = store(tmp, _sqlite_template, "b")
    factories.county(a_engine)
    b_data(b_engine)
    fed_a, fed_b = tmp / "federation-a.yaml", tmp / "federation-b.yaml"
    common = {"auth_refresh_seconds": 0.2, "policy_refresh_seconds": 0.2}
    b_key = key_file(tmp / "b-signing.pem")
    write_doc(fed_a, doc_a(b_url, b_key))
    a_app = create_app(auth_settings(a_db, public_url=a_url, federation_file=fed_a, **common))
    a_server = LiveServer(a_app, port=a_port).start()
    a_kid = httpx.get(a_url + "/.well-known/jwks.json").json()["keys"][0]["kid"]
    write_doc(fed_b, county_b_document(a_url, [a_kid]))
    b_settings = auth_settings(
        b_db,
        public_url=b_url,
        federation_file=fed_b,
        policy_dir=b_policy(tmp),
        signing_key_file=tmp / "b-signing.pem",
        **common,
    )
    b_app = create_app(b_settings)
    b_server = LiveServer(b_app, port=b_port).start()
    # B registers county A as a private_key_jwt client; its keys come from A's JWKS within the pins.
    jwks = httpx.get(a_url + "/.well-known/jwks.json").json()
    create_peer_client(b_engine, "county-a", name="示范县网关", jwks=jwks, region_code=COUNTY_A)
    a_clients = {
        "civil": register(a_engine, scopes=["residents:read"]),
        "hr": register(a_engine, scopes=["residents:read"], department="hr"),
    }
    b_clients = {"auditor": register(b_engine, scopes=["audit:read", "disclosures:read"], department="audit")}
    fed = Federation(
        a=County("county-a", a_app, a_server, a_engine, a_url, a_db, fed_a, a_clients),  # type: ignore[arg-type]
        b=County("county-b", b_app, b_server, b_engine, b_url, b_db, fed_b, b_clients),  # type: ignore[arg-type]
    )
    try:
        yield fed
    finally:
        b_server.stop()
        a_server.stop()
        a_engine.dispose()
        b_engine.dispose()


def key_file(path: Path) -> str:
    """Write an EC P-256 signing key file (0600); return its RFC 7638 thumbprint, the kid B signs with."""
    key = ECKey.generate_key("P-256", private=True)
    path.write_bytes(key.as_pem(private=True))
    path.chmod(0o600)
    return str(key.thumbprint())
