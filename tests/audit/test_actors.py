"""Every actor in the log: token issue and refusal, console and dashboard sign-ins, admin targets, and
every CLI command that reads personal data or changes state (also with no server running)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gateway.auth.actors import token_facts
from gateway.cli import app as cli
from gateway.settings import get_settings
from tests.audit.support import make_key
from tests.auth.helpers import register, register_staff
from tests.support.callers import audited_app


def _events(engine: Engine, **where: str) -> list[dict[str, Any]]:
    clause = " AND ".join(f"{k} = :{k}" for k in where) or "1 = 1"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT body FROM audit_event WHERE {clause} ORDER BY seq"), where).all()
    return [orjson.loads(bytes(r[0])) for r in rows]


@pytest.fixture
def app(sqlite_url: str, store_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with audited_app(sqlite_url, tmp_path / "audit-key.pem") as tc:
        yield tc


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # backend-neutral: SQLite only


def test_token_issue_and_refusal_name_the_client_claimed_and_authenticated(
    app: TestClient, store_engine: Engine
) -> None:
    cid, secret = register(store_engine, scopes=["residents:read"])
    assert secret
    ok = app.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert ok.status_code == 200
    bad = app.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, "wrong"))
    assert bad.status_code == 401
    issued, refused = _events(store_engine, kind="token")[-2:]
    _, jti = token_facts(ok.json()["access_token"])
    assert issued["token_id"] == jti and issued["client_id"] == cid and issued["decision"] == "allow"
    assert issued["details"] == {"client_id_claimed": cid, "client_id_authenticated": cid, "jti": jti}
    assert refused["decision"] == "deny" and refused["client_id"] == cid
    assert refused["details"] == {"client_id_claimed": cid, "client_id_authenticated": None, "jti": None}


def test_console_and_dashboard_sign_ins_name_the_client(app: TestClient, store_engine: Engine) -> None:
    auditor = register_staff(store_engine, scopes=["audit:read"], department="county_audit")
    viewer = register_staff(store_engine, scopes=["statistics:read"], department="township")
    assert (
        app.post("/audit/login", data=auditor.form(password="nope"), follow_redirects=False).status_code
        == 401
    )
    assert app.post("/audit/login", data=auditor.form(), follow_redirects=False).status_code == 303
    assert (
        app.post("/dashboard/signin", data=viewer.form(password="nope"), follow_redirects=False).status_code
        == 401
    )
    failed_console, console, failed_dashboard = (
        e for e in _events(store_engine) if e["route"] in ("/audit/login", "/dashboard/signin")
    )
    assert failed_console["client_id"] == auditor.account and failed_console["decision"] == "deny"
    assert failed_console["details"]["client_id_authenticated"] is None
    assert console["details"]["client_id_authenticated"] == auditor.account and console["token_id"]
    assert failed_dashboard["client_id"] == viewer.account and failed_dashboard["decision"] == "deny"
    assert failed_dashboard["details"]["client_id_claimed"] == viewer.account
    # One audit behaviour: both consoles refuse with the same reason.
    assert failed_console["reason"] == failed_dashboard["reason"] == "signin-refused"


def test_admin_events_name_the_client_acted_on(app: TestClient, store_engine: Engine) -> None:
    admin, secret = register(store_engine, scopes=["admin:clients"], department="county_it")
    target, _ = register(store_engine, scopes=["residents:read"])
    assert secret
    token = app.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(admin, secret)).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert app.post(f"/v1/admin/clients/{target}:disable", headers=headers).status_code == 200
    (event,) = [e for e in _events(store_engine, kind="admin") if e["route"].endswith(":disable")]
    assert event["client_id"] == admin and event["details"] == {"target_client": target}


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> Iterator[CliRunner]:
    make_key(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("GATEWAY_AUDIT_KEY_FILE", str(tmp_path / "audit-key.pem"))
    monkeypatch.setenv("GATEWAY_AUDIT_WITNESS_DIR", str(tmp_path / "witness"))
    monkeypatch.setenv("GATEWAY_OPERATOR", "李娜")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_commands_record_operator_command_and_targets_without_a_server(
    cli_env: CliRunner, store_engine: Engine, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        out = cli_env.invoke(cli, list(args))
        assert out.exit_code == 0, out.output
        return out.stdout

    base = ["clients", "create", "--name", "民政局", "--department", "civil_affairs", "--subsystem", "dibao"]
    cid = json.loads(run(*base, "-s", "residents:read", "--json"))["client_id"]
    run("clients", "list")
    run("clients", "show", cid)
    run("clients", "rotate-secret", cid)
    run("clients", "disable", cid)
    run("keys", "rotate")
    run("quarantine", "list")
    assert cli_env.invoke(cli, ["quarantine", "show", "99"]).exit_code == 1  # recorded before the lookup
    key = tmp_path / "audit.pub"
    key.write_text(run("audit", "public-key"))
    verified = run("audit", "verify", "--trusted-key", str(key))
    assert "OK: store" in verified and "witness" in verified
    events = [e for e in _events(store_engine, method="CLI")]
    commands = [(e["route"], e["record_ids"][:1]) for e in events]
    assert commands == [
        ("clients create", [cid]),
        ("clients list", []),
        ("clients show", [cid]),
        ("clients rotate-secret", [cid]),
        ("clients disable", [cid]),
        ("keys rotate", commands[5][1]),
        ("quarantine list", []),
        ("quarantine show", ["99"]),
        ("audit verify", []),
    ]
    for e in events:
        assert e["client_id"] == f"cli:{getpass.getuser()}" and e["end_user"] == "李娜"
        assert e["details"]["operator"] == "李娜" and e["details"]["os_user"] == getpass.getuser()
        assert e["details"]["command"] == e["route"]
    # Each command (but verify) signed a checkpoint over its event and wrote it to the witness.
    assert len(list((tmp_path / "witness").iterdir())) == len(events) - 1


def test_staff_accounts_are_provisioned_and_reset_by_audited_commands(
    cli_env: CliRunner, store_engine: Engine
) -> None:
    """create-staff prints the factors once (password, TOTP secret, otpauth URI); reset-staff replaces them
    and lifts the lock; rotate-secret refuses a person's account; each is an audit event."""
    from gateway.auth.staff import LOCKS, STAFF

    args = ["clients", "create-staff", "qingshan-li", "--name", "李敏", "--region", "511599100201", "--json"]
    created = cli_env.invoke(cli, args)
    assert created.exit_code == 0, created.output
    view = json.loads(created.stdout)
    assert view["scopes"] == ["statistics:read"] and view["region_code"] == "511599100201"
    assert len(view["password"]) == 19 and view["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={view['totp_secret']}" in view["otpauth_uri"]
    with store_engine.begin() as conn:
        stored = conn.execute(STAFF.select()).mappings().one()
        conn.execute(
            LOCKS.insert().values(
                key="account:qingshan-li",
                failures=5,
                first_failure_at=dt.datetime.now(dt.UTC),
                locked_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
            )
        )
    assert view["password"] not in stored["password_hash"]  # argon2 only
    assert cli_env.invoke(cli, ["clients", "rotate-secret", "qingshan-li"]).exit_code == 1
    reset = cli_env.invoke(cli, ["clients", "reset-staff", "qingshan-li", "--json"])
    assert reset.exit_code == 0, reset.output
    assert json.loads(reset.stdout)["totp_secret"] != view["totp_secret"]
    with store_engine.connect() as conn:
        assert conn.execute(LOCKS.select()).first() is None
    commands = [(e["route"], e["decision"]) for e in _events(store_engine, method="CLI")]
    assert commands == [
        ("clients create-staff", "allow"),
        ("clients rotate-secret", "deny"),
        ("clients reset-staff", "allow"),
    ]
