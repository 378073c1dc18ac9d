"""Tokens through the real token endpoint (tests/auth); registration lives in tests/support/callers.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.callers import ALL_READ_SCOPES, COUNTY, Staff, auth_settings, register, register_staff

__all__ = ["ALL_READ_SCOPES", "COUNTY", "Staff", "auth_settings", "fetch_token", "register", "register_staff"]


def fetch_token(tc: TestClient, client_id: str, secret: str, *, scope: str | None = None) -> str:
    """Obtain an access token through POST /oauth/token (client_secret_basic)."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    r = tc.post("/oauth/token", data=data, auth=(client_id, secret))
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token
