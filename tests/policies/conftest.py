"""Fixtures of the policy tests: an app with registered demo clients and real access tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from gateway.app import create_app
from gateway.auth.clients import CLIENTS, create_client
from gateway.auth.tokens import issue_access_token
from gateway.settings import Settings
from tests.support import factories

COUNTY, QINGSHAN, SHIMEN = "511599000000", "511599100000", "511599200000"
# client id -> (department, region, scopes): the demo's clients, one per department.
DEMO = {
    "civil-affairs": ("civil_affairs", COUNTY, ["residents:read", "households:read"]),
    "hr": ("hr", COUNTY, ["residents:read"]),
    # Approving sharing requests is security administration: a client of its own (separation of duties).
    "civil-affairs-approver": ("civil_affairs", COUNTY, ["sharing:approve"]),
    "hr-approver": ("hr", COUNTY, ["sharing:approve"]),
    "publicity": ("publicity", COUNTY, ["notices:read"]),
    "qingshan-township": ("township", QINGSHAN, ["residents:read", "households:read"]),
    "qingshan-village": ("township", "511599100201", ["residents:read"]),
    "auditor": ("audit", COUNTY, ["audit:read"]),
    "policy-admin": ("county_it", COUNTY, ["admin:policies"]),
}


def register(engine: Engine, client_id: str, department: str, region: str | None, scopes: list[str]) -> None:
    """Register a client under a chosen id (the registry generates ids; the demo names them)."""
    rec, _ = create_client(
        engine, name=client_id, department=department, subsystem="test", scopes=scopes, region_code=region
    )
    with engine.begin() as conn:
        conn.execute(update(CLIENTS).where(CLIENTS.c.client_id == rec.client_id).values(client_id=client_id))


Headers = Callable[..., dict[str, str]]


def make_app(store_url: str, policy_dir: Path | None = None, **extra: object) -> TestClient:
    """Return a client of a fresh app (not yet started)."""
    settings = Settings(
        database_url=store_url, db_pool_size=4, policy_dir=policy_dir, policy_refresh_seconds=0.2, **extra
    )  # type: ignore[arg-type]
    return TestClient(create_app(settings), raise_server_exceptions=False)


def token_headers(tc: TestClient) -> Headers:
    """Return a helper making Authorization (+ X-Purpose) headers for a demo client."""
    app = tc.app
    cache: dict[str, str] = {}

    def headers(client_id: str, purpose: str | None = None) -> dict[str, str]:
        if client_id not in cache:
            scopes = DEMO[client_id][2]
            body = issue_access_token(
                app.state.runtime.auth.keyring,
                client_id=client_id,
                scopes=scopes,  # type: ignore[attr-defined]
                settings=app.state.config.settings,
            )  # type: ignore[attr-defined]
            cache[client_id] = body["access_token"]
        out = {"Authorization": f"Bearer {cache[client_id]}"}
        if purpose:
            out["X-Purpose"] = purpose
        return out

    return headers


@pytest.fixture
def demo_store(store_url: str, store_engine: Engine) -> str:
    """Return a store holding the small county and the demo clients."""
    factories.county(store_engine)
    for cid, (dept, region, scopes) in DEMO.items():
        register(store_engine, cid, dept, region, scopes)
    return store_url


@pytest.fixture
def api(demo_store: str) -> Iterator[tuple[TestClient, Headers]]:
    """Return a started app over the demo store and the token helper."""
    with make_app(demo_store) as tc:
        yield tc, token_headers(tc)
