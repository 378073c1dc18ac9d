"""Fixtures of the OWASP API Top 10 suite: a started app, named clients, tokens from POST /oauth/token."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from connectors.demo.ids import check_char
from gateway.app import create_app
from gateway.auth.keys import ensure_signing_key
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings
from tests.support import callers, factories
from tests.support.assisted import add_family
from tests.support.callers import RECORD_READS
from tests.support.keys import write_audit_key
from tests.support.stores import sqlite_copy

COUNTY, VILLAGE, OTHER_VILLAGE = "511599000000", "511599100201", "511599200201"
# client id -> (department, region, scopes): the attackers and the honest callers of the suite.
CLIENTS: dict[str, tuple[str, str, list[str]]] = {
    "civil-affairs": (
        "civil_affairs",
        COUNTY,
        [
            *RECORD_READS,
            "changes:read",
            "subscriptions:write",
            "consents:read",
        ],
    ),
    "hr": ("hr", COUNTY, ["residents:read"]),
    "qingshan-agent": (
        "village_service",
        VILLAGE,
        ["residents:read", "households:read", "consents:read", "consents:write"],
    ),
    "auditor": ("audit", COUNTY, ["audit:read"]),
    "registrar": ("county_it", COUNTY, ["admin:clients"]),
    "ingester": ("civil_affairs", COUNTY, ["ingest:civil_affairs"]),
}
PURPOSE = {"civil-affairs": "social-assistance-review", "hr": "pension-eligibility"}


@dataclass
class Residents:
    """a (1950) and b (2010) share household H1 in the agent's village; kid (5 years old) lives there
    too; d lives in another township."""

    a: str
    b: str
    kid: str
    d: str
    a_nid: str
    kid_nid: str
    d_nid: str


@dataclass
class World:
    """A started app, the store, each client's secret, tokens obtained through the token endpoint."""

    tc: TestClient
    engine: Engine
    people: Residents
    secrets: dict[str, str]
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, client_id: str, *, fresh: bool = False) -> str:
        """Return a token of `client_id` from POST /oauth/token (client_secret_basic)."""
        if fresh or client_id not in self._tokens:
            r = self.tc.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, self.secrets[client_id]),
            )
            assert r.status_code == 200, r.text
            self._tokens[client_id] = r.json()["access_token"]
        return self._tokens[client_id]

    def headers(self, client_id: str, purpose: str | None = None) -> dict[str, str]:
        """Return Authorization (+ X-Purpose) headers of a client."""
        out = {"Authorization": f"Bearer {self.token(client_id)}"}
        if purpose or client_id in PURPOSE:
            out["X-Purpose"] = purpose or PURPOSE[client_id]
        return out


def _people(engine: Engine) -> Residents:
    today = dt.date.today()
    a, b = add_family(engine)
    born = today.replace(year=today.year - 5, day=1)
    first17 = f"511599{born:%Y%m%d}041"
    kid = factories.add_resident(
        engine,
        region_code=VILLAGE,
        name="王小小",
        national_id=first17 + check_char(first17),
        birth_date=born,
        household_id="H1",
    )
    d = factories.add_resident(
        engine,
        region_code=OTHER_VILLAGE,
        name="张三",
        national_id="51159919600101003" + check_char("51159919600101003"),
    )
    factories.add_household(engine, hid="H1", household_no="0001", region_code=VILLAGE, head=a.id)
    assert a.national_id and kid.national_id and d.national_id
    return Residents(a.id, b.id, kid.id, d.id, a.national_id, kid.national_id, d.national_id)


@dataclass(frozen=True)
class _Template:
    """A store holding the county, the residents, the clients and a signing key, made once a session."""

    path: Path
    people: Residents
    secrets: dict[str, str]
    kek: str
    audit_key: Path


@pytest.fixture(scope="session")
def _security_template(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> _Template:
    """Build the suite's store once: argon2 hashing and key generation are the slow parts of a test."""
    base = tmp_path_factory.mktemp("security-template")
    path = base / "security.db"
    shutil.copyfile(_sqlite_template, path)
    engine = make_sync_engine(f"sqlite:///{path}")
    factories.county(engine)
    people = _people(engine)
    secrets: dict[str, str] = {}
    for cid, (dept, region, scopes) in CLIENTS.items():
        _, secret = callers.register(
            engine, client_id=cid, department=dept, region_code=region, scopes=scopes
        )
        assert secret is not None
        secrets[cid] = secret
    kek = Fernet.generate_key().decode()
    ensure_signing_key(engine, auth_settings(f"sqlite:///{path}", key_encryption_key=kek))
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return _Template(path, people, secrets, kek, write_audit_key(base / "audit-key.pem"))


@pytest.fixture
def world_factory(_security_template: _Template, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """Return a maker of a started app with the suite's clients (settings may be overridden)."""
    sqlite_url = sqlite_copy(_security_template.path, tmp_path / "gateway.db")
    engine = make_sync_engine(sqlite_url)
    people, secrets = _security_template.people, dict(_security_template.secrets)
    clients: list[TestClient] = []

    def make(**extra: object) -> World:
        settings = auth_settings(
            sqlite_url,
            key_encryption_key=_security_template.kek,
            auth_refresh_seconds=0.2,
            audit_key_file=_security_template.audit_key,
            webhook_allowed_urls=["https://hr.county.example/hooks/"],
            **extra,
        )
        tc = TestClient(create_app(settings), raise_server_exceptions=False)
        tc.__enter__()
        clients.append(tc)
        return World(tc, engine, people, secrets)

    try:
        yield make
    finally:
        for tc in clients:
            tc.__exit__(None, None, None)
        engine.dispose()


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    """Return the started app with default settings."""
    return world_factory()
