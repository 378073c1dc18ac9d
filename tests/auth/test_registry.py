"""The client registry through the admin API and the `gateway clients` / `gateway keys` commands."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from gateway.auth.clients import CLIENTS
from gateway.cli import app as cli
from gateway.settings import get_settings
from tests.auth.helpers import fetch_token, register


@pytest.fixture
def admin(api: TestClient, engine: Engine) -> dict[str, str]:
    cid, secret = register(engine, scopes=["admin:clients"], department="county_it")
    assert secret
    return {"Authorization": f"Bearer {fetch_token(api, cid, secret)}"}


def test_admin_api_lifecycle(api: TestClient, admin: dict[str, str], engine: Engine) -> None:
    body = {"name": "人社局就业系统", "department": "hr", "subsystem": "jobs", "scopes": ["residents:read"]}
    r = api.post("/v1/admin/clients", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    cid, secret = created["client_id"], created["client_secret"]
    assert created["status"] == "active" and created["scopes"] == ["residents:read"]
    with engine.connect() as conn:
        stored = conn.execute(select(CLIENTS.c.secret_hash).where(CLIENTS.c.client_id == cid)).scalar_one()
    assert stored.startswith("$argon2id$") and secret not in stored  # only the hash is kept
    listed = api.get("/v1/admin/clients", headers=admin).json()
    assert cid in {c["client_id"] for c in listed}
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)
    fetch_token(api, cid, secret)
    rotated = api.post(f"/v1/admin/clients/{cid}:rotate-secret", headers=admin).json()
    assert rotated["rotated_at"] and rotated["client_secret"] != secret
    old = api.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert old.status_code == 401
    fetch_token(api, cid, rotated["client_secret"])
    assert api.post(f"/v1/admin/clients/{cid}:disable", headers=admin).json()["status"] == "disabled"
    assert api.get(f"/v1/admin/clients/{cid}", headers=admin).json()["status"] == "disabled"
    assert api.get("/v1/admin/clients/nope", headers=admin).status_code == 404


def test_admin_api_refuses_bad_registrations_and_other_scopes(
    api: TestClient, admin: dict[str, str], engine: Engine
) -> None:
    bad = {"name": "x", "department": "hr", "subsystem": "s", "scopes": ["root:all"]}
    assert api.post("/v1/admin/clients", json=bad, headers=admin).status_code == 422
    no_jwks = {"name": "x", "department": "hr", "subsystem": "s", "scopes": ["residents:read"]}
    r = api.post("/v1/admin/clients", json={**no_jwks, "auth_method": "private_key_jwt"}, headers=admin)
    assert r.status_code == 400
    private = {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]}
    r = api.post(
        "/v1/admin/clients",
        json={**no_jwks, "auth_method": "private_key_jwt", "jwks": private},
        headers=admin,
    )
    assert r.status_code == 400 and "private" in r.json()["detail"]
    cid, secret = register(engine, scopes=["residents:read"])
    assert secret
    reader = {"Authorization": f"Bearer {fetch_token(api, cid, secret)}"}
    r = api.get("/v1/admin/clients", headers=reader)
    assert r.status_code == 403 and r.json()["type"] == "/problems/insufficient-scope"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: object) -> CliRunner:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    yield CliRunner()  # type: ignore[misc]
    get_settings.cache_clear()


def test_clients_commands(cli_env: CliRunner) -> None:
    args = ["clients", "create", "--name", "民政局", "--department", "civil_affairs", "--subsystem", "dibao"]
    out = cli_env.invoke(cli, [*args, "-s", "residents:read", "-s", "households:read", "--json"])
    assert out.exit_code == 0, out.output
    created = json.loads(out.stdout)
    cid = created["client_id"]
    assert created["client_secret"] and created["scopes"] == ["residents:read", "households:read"]
    listed = json.loads(cli_env.invoke(cli, ["clients", "list", "--json"]).stdout)
    assert [c["client_id"] for c in listed] == [cid]
    shown = json.loads(cli_env.invoke(cli, ["clients", "show", cid, "--json"]).stdout)
    assert "client_secret" not in shown and shown["department"] == "civil_affairs"
    rotated = json.loads(cli_env.invoke(cli, ["clients", "rotate-secret", cid, "--json"]).stdout)
    assert rotated["client_secret"] != created["client_secret"]
    assert (
        json.loads(cli_env.invoke(cli, ["clients", "disable", cid, "--json"]).stdout)["status"] == "disabled"
    )
    bad = cli_env.invoke(cli, [*args, "-s", "root:all"])
    assert bad.exit_code == 1 and "unknown scopes" in bad.output
    assert cli_env.invoke(cli, ["clients", "show", "nope"]).exit_code == 1


def test_keys_commands(cli_env: CliRunner) -> None:
    first = json.loads(cli_env.invoke(cli, ["keys", "rotate", "--json"]).stdout)["kid"]
    second = json.loads(cli_env.invoke(cli, ["keys", "rotate", "--alg", "ES256", "--json"]).stdout)["kid"]
    jwks = json.loads(cli_env.invoke(cli, ["keys", "list", "--json"]).stdout)
    assert {k["kid"]: k["alg"] for k in jwks["keys"]} == {first: "RS256", second: "ES256"}
