"""Key rotation, and revocation/disable made by another app instance or process on the same store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from joserfc import jws
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.auth.keys import rotate_key
from gateway.auth.tokens import issue_access_token
from gateway.settings import Settings
from tests.auth.helpers import auth_settings, fetch_token, register

REGIONS = "/v1/regions"
GATEWAY_CLI = Path(sys.executable).parent / "gateway"


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


def _status(tc: TestClient, token: str) -> int:
    return tc.get(REGIONS, headers={"Authorization": f"Bearer {token}"}).status_code


def _wait_until(predicate: object, *, within: float) -> float:
    """Poll until predicate() is true; return how long it took (fails after `within` seconds)."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < within, f"not true within {within} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_rotation_keeps_old_tokens_until_they_expire(engine: Engine, sqlite_url: str) -> None:
    settings = auth_settings(sqlite_url, token_clock_skew_seconds=0, auth_refresh_seconds=0.2)
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        auth = tc.app.state.runtime.auth  # type: ignore[attr-defined]
        old_token = fetch_token(tc, cid, secret)
        old_kid = _kid(old_token)
        # A token of the old key that expires 2 s from now (issued as if 598 s ago).
        short = issue_access_token(
            auth.keyring,
            client_id=cid,
            scopes=["notices:read"],
            settings=settings,
            now=time.time() - settings.token_ttl_seconds + 2,
        )["access_token"]
        new_kid = rotate_key(engine, settings)  # what `gateway keys rotate` does, from outside the app
        assert new_kid != old_kid
        _wait_until(lambda: auth.keyring.signer_kid == new_kid, within=3)
        new_token = fetch_token(tc, cid, secret)
        assert _kid(new_token) == new_kid
        kids = {k["kid"] for k in tc.get("/.well-known/jwks.json").json()["keys"]}
        assert kids == {old_kid, new_kid}
        assert _status(tc, old_token) == 200 and _status(tc, new_token) == 200 and _status(tc, short) == 200
        _wait_until(lambda: _status(tc, short) == 401, within=4)  # its own exp, not the rotation, ends it
        assert _status(tc, old_token) == 200


def test_revocation_through_another_instance_takes_effect(settings: Settings, engine: Engine) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as a,
        TestClient(create_app(settings), raise_server_exceptions=False) as b,
    ):
        token = fetch_token(a, cid, secret)
        assert _status(a, token) == 200 and _status(b, token) == 200  # both have it cached now
        assert b.post("/oauth/revoke", data={"token": token}, auth=(cid, secret)).status_code == 200
        assert _status(b, token) == 401  # the revoking replica: at once
        took = _wait_until(lambda: _status(a, token) == 401, within=2.0)
        # Bound: auth_refresh_seconds (0.2 here) + one refresh query (docs/keys.md).
        assert took < settings.auth_refresh_seconds + 1.0


def test_disable_by_cli_process_takes_effect(settings: Settings, engine: Engine, sqlite_url: str) -> None:
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        token = fetch_token(tc, cid, secret)
        assert _status(tc, token) == 200
        env = {**os.environ, "GATEWAY_DATABASE_URL": sqlite_url}
        out = subprocess.run(
            [str(GATEWAY_CLI), "clients", "disable", cid, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(out.stdout)["status"] == "disabled"
        _wait_until(lambda: _status(tc, token) == 401, within=2.0)
