"""Human sign-in to the HTML consoles: password + TOTP, locks after 5 failures, 15 idle minutes, audit.

The clock is moved with time-machine (every reader of the wall clock moves together: the locks, the
sessions, the rate-limit windows), never slept on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from store.tables.audit import AuditEventRow
from tests.auth.helpers import Staff, register_staff
from tests.support import factories
from tests.support.callers import audited_app

AUDIT_EVENTS = AuditEventRow.__table__  # type: ignore[attr-defined]
SITES = [("/dashboard", "/signin", "statistics:read"), ("/audit", "/login", "audit:read")]
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def tc(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with audited_app(sqlite_url, tmp_path / "audit-key.pem") as client:
        yield client


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    factories.county(store_engine)  # the regions the staff belong to
    return store_engine


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # backend-neutral: SQLite only


def _events(engine: Engine, route: str) -> list[dict[str, Any]]:
    stmt = select(AUDIT_EVENTS.c.body).where(AUDIT_EVENTS.c.route == route).order_by(AUDIT_EVENTS.c.seq)
    with engine.connect() as conn:
        return [orjson.loads(bytes(r[0])) for r in conn.execute(stmt)]


def _staff(engine: Engine, scope: str) -> Staff:
    department = "audit" if scope == "audit:read" else "township"
    return register_staff(engine, scopes=[scope], department=department, region_code="511599100000")


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_password_and_totp_open_a_session_and_the_sign_in_is_audited(
    tc: TestClient, engine: Engine, prefix: str, action: str, scope: str
) -> None:
    """Both factors right: 303 to the site, an HttpOnly cookie, the page; the event names the account."""
    person = _staff(engine, scope)
    r = tc.post(prefix + action, data=person.form(), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == prefix + "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path={prefix}" in cookie
    page = tc.get(prefix + "/")
    assert page.status_code == 200 and 'name="totp"' not in page.text
    (event,) = _events(engine, prefix + action)
    assert event["decision"] == "allow" and event["client_id"] == person.account
    assert event["details"]["client_id_authenticated"] == person.account
    assert event["details"]["factors"] == ["password", "totp"]
    view = [e for e in _events(engine, prefix + "/") if e["client_id"] == person.account]
    assert view and view[0]["token_id"] == event["token_id"]  # page views carry the session


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_a_wrong_or_replayed_code_or_password_is_refused_alike(
    tc: TestClient, engine: Engine, prefix: str, action: str, scope: str
) -> None:
    """Wrong TOTP, wrong password and a code used before: the same 401 page; each audited as refused."""
    person = _staff(engine, scope)
    now = dt.datetime.now(dt.UTC)
    wrong_code = f"{(int(person.code()) + 1) % 1_000_000:06d}"
    stale = person.code(at=now - 5 * MINUTE)  # outside the one-step drift window
    answers = [
        tc.post(prefix + action, data=person.form(code=wrong_code)),
        tc.post(prefix + action, data=person.form(code=stale)),
        tc.post(prefix + action, data=person.form(password="not-the-password")),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.text.split("<main>")[-1] for a in answers}) == 1
    code = person.code()
    assert tc.post(prefix + action, data=person.form(code=code), follow_redirects=False).status_code == 303
    replay = tc.post(prefix + action, data=person.form(code=code), follow_redirects=False)
    assert replay.status_code == 401  # RFC 6238 §5.2: a code is accepted once
    reasons = [e["reason"] for e in _events(engine, prefix + action)]
    assert reasons == ["signin-refused"] * 3 + [None, "signin-refused"]


def test_a_staff_account_gets_no_token_and_a_machine_client_no_session(
    tc: TestClient, engine: Engine
) -> None:
    """The token endpoint refuses a staff account's password; the dashboard refuses a client secret."""
    from tests.auth.helpers import register

    person = _staff(engine, "statistics:read")
    r = tc.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(person.account, person.password)
    )
    assert r.status_code == 401
    cid, secret = register(engine, scopes=["statistics:read"])
    form = {"username": cid, "password": secret or "", "totp": "123456"}
    assert tc.post("/dashboard/signin", data=form).status_code == 401


def test_the_console_refuses_a_dashboard_account(tc: TestClient, engine: Engine) -> None:
    """A staff account without audit:read cannot open the auditor console (nor reuse its dashboard cookie)."""
    person = _staff(engine, "statistics:read")
    assert tc.post("/audit/login", data=person.form()).status_code == 401
    assert tc.post("/dashboard/signin", data=person.form(), follow_redirects=False).status_code == 303
    session = tc.cookies.get("xz_dashboard")
    assert session
    tc.cookies.set("xz_audit", session, path="/audit")
    page = tc.get("/audit/")
    assert 'name="totp"' in page.text  # the console's sign-in page, not its events


def test_five_failures_lock_the_account_and_the_address_for_15_minutes(
    tc: TestClient, engine: Engine
) -> None:
    """5 failures lock the account (from any address) and the address (for any account); audited; lifted
    after 15 minutes."""
    person, other = _staff(engine, "statistics:read"), _staff(engine, "statistics:read")
    elsewhere = TestClient(tc.app, client=("192.0.2.7", 40000), raise_server_exceptions=False)
    elsewhere.portal = tc.portal  # the same running app (its lifespan), another source address
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=True) as clock:
        wrong = [tc.post("/dashboard/signin", data=person.form(password=f"guess-{i}")) for i in range(5)]
        assert [w.status_code for w in wrong] == [401] * 5
        clock.shift(MINUTE)
        right = tc.post("/dashboard/signin", data=person.form(), follow_redirects=False)
        assert right.status_code == 429 and "锁定 15 分钟" in right.text
        assert 14 * 60 - 5 <= int(right.headers["Retry-After"]) <= 14 * 60
        # The account is locked from another address; the address is locked for another account.
        assert (
            elsewhere.post("/dashboard/signin", data=person.form(), follow_redirects=False).status_code == 429
        )
        assert tc.post("/dashboard/signin", data=other.form(), follow_redirects=False).status_code == 429
        assert (
            elsewhere.post("/audit/login", data=other.form()).status_code == 401
        )  # other account, other address
        clock.shift(14 * MINUTE + dt.timedelta(seconds=1))  # 15 minutes after the fifth failure
        lifted = tc.post("/dashboard/signin", data=person.form(), follow_redirects=False)
        assert lifted.status_code == 303, lifted.text
    events = _events(engine, "/dashboard/signin")
    reasons = [e["reason"] for e in events]
    assert reasons == ["signin-refused"] * 4 + ["signin-lockout"] + ["signin-locked"] * 3 + [None]
    lockout = events[4]
    assert lockout["decision"] == "deny" and lockout["client_id"] == person.account
    assert sorted(lockout["details"]["locked"]) == [f"account:{person.account}", "address:testclient"]
    assert events[5]["details"]["locked_until"] == lockout["details"]["locked_until"]


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_a_session_ends_after_15_idle_minutes(
    tc: TestClient, engine: Engine, prefix: str, action: str, scope: str
) -> None:
    """Each page view restarts the 15 minutes; 15 minutes without one end the session."""
    person = _staff(engine, scope)
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock:
        assert tc.post(prefix + action, data=person.form(), follow_redirects=False).status_code == 303
        for _ in range(3):  # 42 minutes signed in, never 15 idle
            clock.shift(14 * MINUTE)
            assert 'name="totp"' not in tc.get(prefix + "/").text
        clock.shift(15 * MINUTE + dt.timedelta(seconds=1))
        expired = tc.get(prefix + "/")
    assert expired.status_code == 200 and 'name="totp"' in expired.text and "过期" in expired.text


def test_sign_out_ends_the_session_for_good(tc: TestClient, engine: Engine) -> None:
    """A cookie copied before sign-out opens nothing afterwards; the sign-out is audited with the session."""
    person = _staff(engine, "statistics:read")
    tc.post("/dashboard/signin", data=person.form())
    copied = tc.cookies.get("xz_dashboard")
    assert tc.post("/dashboard/signout", follow_redirects=False).status_code == 303
    tc.cookies.set("xz_dashboard", copied or "", path="/dashboard")
    page = tc.get("/dashboard/")
    assert 'name="totp"' in page.text
    (out,) = _events(engine, "/dashboard/signout")
    assert out["client_id"] == person.account and out["token_id"] == (copied or "").split(".")[0]


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_a_malformed_sign_in_is_a_400_page_not_a_500(
    tc: TestClient, engine: Engine, prefix: str, action: str, scope: str
) -> None:
    """JSON instead of the form, a repeated field, a missing factor: 400 with the sign-in page, audited."""
    assert tc.post(prefix + action, json={"username": "x", "password": "y", "totp": "1"}).status_code == 400
    repeated = "username=a&username=b&password=p&totp=123456"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert tc.post(prefix + action, content=repeated, headers=headers).status_code == 400
    missing = tc.post(prefix + action, data={"username": "a", "password": "p"})
    assert missing.status_code == 400 and 'name="totp"' in missing.text
    reasons = [e["reason"] for e in _events(engine, prefix + action)]
    assert reasons == ["signin-malformed", "signin-malformed", "signin-incomplete"]


def test_reset_or_disable_ends_open_sessions(tc: TestClient, engine: Engine) -> None:
    """`reset-staff` (a lost phone) and `disable` end the account's open sessions at the next page view."""
    from gateway.auth.clients import ClientStatus, set_status
    from gateway.auth.staff import reset_staff

    person = _staff(engine, "statistics:read")
    assert tc.post("/dashboard/signin", data=person.form(), follow_redirects=False).status_code == 303
    assert 'name="totp"' not in tc.get("/dashboard/").text
    reset_staff(engine, person.account)
    assert 'name="totp"' in tc.get("/dashboard/").text
    other = _staff(engine, "statistics:read")
    assert tc.post("/dashboard/signin", data=other.form(), follow_redirects=False).status_code == 303
    set_status(engine, other.account, status=ClientStatus.DISABLED)
    assert 'name="totp"' in tc.get("/dashboard/").text
    assert (
        tc.post(
            "/dashboard/signin",
            data=other.form(code=other.code(at=dt.datetime.now(dt.UTC) + 30 * dt.timedelta(seconds=1))),
        ).status_code
        == 401
    )
