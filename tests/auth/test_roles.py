"""Separation of duties: no client holds scopes of two roles, through any path; the admin API registers
department systems only; auditors' own reads stay audited."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gateway.auth.clients import RegistryError, create_client
from gateway.auth.scopes import ALL_SCOPES, Role, Scope, mixed_roles, role_of
from gateway.cli import app as cli
from gateway.settings import get_settings
from tests.auth.helpers import fetch_token, register

ONE_OF_EACH = {Role.RESOURCE: "residents:read", Role.SECURITY: "admin:clients", Role.AUDIT: "audit:read"}


def test_every_scope_has_one_role() -> None:
    roles = {name: role_of(name) for name in ALL_SCOPES}
    assert {n for n, r in roles.items() if r is Role.SECURITY} == {
        "admin:clients",
        "admin:policies",
        "sharing:approve",
    }
    assert {n for n, r in roles.items() if r is Role.AUDIT} == {"audit:read", "disclosures:read"}


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(ONE_OF_EACH.values(), 2)))
def test_the_registry_refuses_two_roles(engine: Engine, a: str, b: str) -> None:
    assert mixed_roles([a, b])
    with pytest.raises(RegistryError, match="separation of duties"):
        create_client(engine, name="x", department="hr", subsystem="s", scopes=[a, b])
    with pytest.raises(RegistryError, match="separation of duties"):
        create_client(engine, name="x", department="hr", subsystem="s", scopes=[a, "notices:read", b])


def test_the_issue_example_is_refused(engine: Engine) -> None:
    with pytest.raises(RegistryError, match="3 roles"):
        create_client(
            engine,
            name="x",
            department="county_it",
            subsystem="s",
            scopes=["audit:read", "residents:read", "admin:clients"],
        )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: object) -> Iterator[CliRunner]:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("GATEWAY_OPERATOR", "王芳 (county IT)")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_cli_refuses_two_roles_and_records_the_refusal(cli_env: CliRunner, sqlite_url: str) -> None:
    args = ["clients", "create", "--name", "x", "--department", "audit", "--subsystem", "s"]
    out = cli_env.invoke(cli, [*args, "-s", "audit:read", "-s", "admin:policies"])
    assert out.exit_code == 1 and "separation of duties" in out.output, out.output
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            decision, reason = conn.execute(
                text("SELECT decision, reason FROM audit_event WHERE route = 'clients create'")
            ).one()
    finally:
        engine.dispose()
    assert decision == "deny" and "separation of duties" in reason


@pytest.fixture
def admin(api: TestClient, engine: Engine) -> dict[str, str]:
    cid, secret = register(engine, scopes=["admin:clients"], department="county_it")
    assert secret
    return {"Authorization": f"Bearer {fetch_token(api, cid, secret)}"}


@pytest.mark.parametrize(
    "scopes",
    [
        ["audit:read"],  # an auditor: not the security administrator's to create
        ["admin:clients"],  # another administrator (or itself, again)
        ["sharing:approve"],
        ["residents:read", "disclosures:read"],  # two roles at once
    ],
)
def test_the_admin_api_registers_department_systems_only(
    api: TestClient, admin: dict[str, str], scopes: list[str]
) -> None:
    body = {"name": "x", "department": "hr", "subsystem": "s", "scopes": scopes}
    r = api.post("/v1/admin/clients", json=body, headers=admin)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "gateway clients create" in r.json()["detail"]
    ok = api.post("/v1/admin/clients", json={**body, "scopes": ["residents:read"]}, headers=admin)
    assert ok.status_code == 201, ok.text


def test_resource_scopes_all_belong_to_department_systems() -> None:
    resource = [s for s in Scope if role_of(s) is Role.RESOURCE]
    assert mixed_roles([s.value for s in resource]) is None
