"""Helpers for tests that need real OAuth clients and tokens (used by tests/gateway too)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.auth.clients import AuthMethod, create_client
from gateway.auth.scopes import Role, Scope, role_of
from gateway.settings import Settings

COUNTY = "511599000000"
# Every read scope of a department system: the read API tests act as a county-wide reader (the audit
# role's reads go to a separate client: separation of duties).
ALL_READ_SCOPES = [s.value for s in Scope if s.value.endswith(":read") and role_of(s) is Role.RESOURCE]


def auth_settings(store_url: str, **extra: Any) -> Settings:
    """Return settings for a test app: a fresh key-encryption key, so nothing lands in ./var."""
    values: dict[str, Any] = {
        "database_url": store_url,
        "db_pool_size": 4,
        "key_encryption_key": Fernet.generate_key().decode(),
    }
    values.update(extra)
    return Settings(**values)


def register(
    engine: Engine,
    *,
    scopes: list[str] | None = None,
    department: str = "civil_affairs",
    region_code: str | None = COUNTY,
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
    jwks: dict[str, Any] | None = None,
) -> tuple[str, str | None]:
    """Register a client through the registry; return its id and secret."""
    record, secret = create_client(
        engine,
        name="test client",
        department=department,
        subsystem="tests",
        scopes=scopes if scopes is not None else ALL_READ_SCOPES,
        auth_method=auth_method,
        region_code=region_code,
        jwks=jwks,
    )
    return record.client_id, secret


def fetch_token(tc: TestClient, client_id: str, secret: str, *, scope: str | None = None) -> str:
    """Obtain an access token through POST /oauth/token (client_secret_basic)."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    r = tc.post("/oauth/token", data=data, auth=(client_id, secret))
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token
