"""Callers of the API in tests: a test app and its settings, one way to register a client (any id) or a
staff account, and an ASGI wrapper keeping what each request recorded."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.auth.clients import AuthMethod, create_client
from gateway.auth.scopes import Role, Scope, role_of
from gateway.auth.staff import create_staff
from gateway.auth.tokens import issue_access_token
from gateway.context import RequestRecord
from gateway.settings import Settings
from tests.support.keys import write_audit_key

COUNTY = "511599000000"
# Every read scope of a department system: the read API tests act as a county-wide reader (the audit
# role's reads go to a separate client: separation of duties).
# What a department system reads of the shared records (the contract and security suites' clients).
RECORD_READS = ("residents:read", "households:read", "services:read", "notices:read")
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


Headers = Callable[..., dict[str, str]]


def token_headers(tc: TestClient, scopes: Mapping[str, Sequence[str]]) -> Headers:
    """Return `headers(client_id, purpose=None)`: a bearer token minted by the app's own keyring for
    each client (with `scopes[client_id]`), cached, plus X-Purpose when given."""
    app: Any = tc.app
    cache: dict[str, str] = {}

    def headers(client_id: str, purpose: str | None = None) -> dict[str, str]:
        if client_id not in cache:
            body = issue_access_token(
                app.state.runtime.auth.keyring,
                client_id=client_id,
                scopes=list(scopes[client_id]),
                settings=app.state.config.settings,
            )
            cache[client_id] = body["access_token"]
        out = {"Authorization": f"Bearer {cache[client_id]}"}
        if purpose:
            out["X-Purpose"] = purpose
        return out

    return headers


def make_app(store_url: str, policy_dir: Path | None = None, **extra: object) -> TestClient:
    """Return a client of a fresh app (not yet started)."""
    settings = Settings(
        database_url=store_url, db_pool_size=4, policy_dir=policy_dir, policy_refresh_seconds=0.2, **extra
    )  # type: ignore[arg-type]
    return TestClient(create_app(settings), raise_server_exceptions=False)


@contextmanager
def audited_app(store_url: str, audit_key: Path, **extra: Any) -> Iterator[TestClient]:
    """Start a test app over `store_url` signing its log with a fresh audit key written to `audit_key`."""
    settings = auth_settings(store_url, audit_key_file=write_audit_key(audit_key), **extra)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc


@dataclass(frozen=True)
class Staff:
    """A provisioned staff account: its sign-in name and the factors the operator handed over."""

    account: str
    password: str
    totp_secret: str

    def code(self, *, at: dt.datetime | None = None) -> str:
        """Return the TOTP code of `at` (default now), as the person's authenticator app shows it."""
        return pyotp.TOTP(self.totp_secret).at(at or dt.datetime.now(dt.UTC))

    def form(self, *, password: str | None = None, code: str | None = None) -> dict[str, str]:
        """Return the sign-in form of both consoles (gateway/web/templates/_signin_form.html)."""
        return {"username": self.account, "password": password or self.password, "totp": code or self.code()}


def register_staff(
    engine: Engine,
    *,
    scopes: list[str] | None = None,
    department: str = "village",
    region_code: str = COUNTY,
    account: str | None = None,
) -> Staff:
    """Provision a staff account through the registry (as `gateway clients create-staff` does)."""
    name = account or f"staff-{secrets.token_hex(4)}"
    _, issued = create_staff(
        engine,
        client_id=name,
        name="测试工作人员",
        department=department,
        region_code=region_code,
        scopes=scopes or ["statistics:read"],
    )
    return Staff(name, issued.password, issued.totp_secret)


class Capture:
    """Outermost ASGI wrapper keeping each request's RequestRecord for the assertions."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.records: list[RequestRecord] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            rec = scope.get("state", {}).get("xz_record")
            if rec is not None:
                self.records.append(rec)
