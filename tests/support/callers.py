"""Callers of the API in tests: a test app and its settings, and one way to register a client (any id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
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
    client_id: str | None = None,
) -> tuple[str, str | None]:
    """Register a client through the registry (under `client_id` if given); return its id and secret."""
    record, secret = create_client(
        engine,
        name=client_id or "test client",
        department=department,
        subsystem="tests",
        client_id=client_id,
        scopes=scopes if scopes is not None else ALL_READ_SCOPES,
        auth_method=auth_method,
        region_code=region_code,
        jwks=jwks,
    )
    return record.client_id, secret


def make_app(store_url: str, policy_dir: Path | None = None, **extra: object) -> TestClient:
    """Return a client of a fresh app (not yet started)."""
    settings = Settings(
        database_url=store_url, db_pool_size=4, policy_dir=policy_dir, policy_refresh_seconds=0.2, **extra
    )  # type: ignore[arg-type]
    return TestClient(create_app(settings), raise_server_exceptions=False)
