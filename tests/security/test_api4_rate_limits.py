"""OWASP API4 (unrestricted resource consumption) and API2: rate limits on every route and on sign-in."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from policies.loader import DEFAULT_DIR
from tests.audit.support import make_key
from tests.auth.helpers import Staff, auth_settings, fetch_token, register, register_staff
from tests.support import factories

PER_MINUTE = 4


def _settings(
    url: str, tmp: Path, *, limited: str, per_minute: int = PER_MINUTE, records: int = 1000
) -> Settings:
    """Settings with a policy copy that gives client `limited` its own limits."""
    policy = tmp / "policy"
    if not policy.exists():
        shutil.copytree(DEFAULT_DIR, policy)
        with (policy / "rate_limits.yaml").open("a") as out:
            rule = f"client: {limited}, requests_per_minute: {per_minute}, records_per_day: {records}"
            out.write(f"  - {{{rule}}}\n")
    make_key(tmp)
    return auth_settings(url, policy_dir=policy, audit_key_file=tmp / "audit-key.pem")


@pytest.fixture
def reader(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine, str, str, Settings]]:
    """A TestClient of an app whose reader client has a low per-minute limit; its id and secret."""
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    cid, secret = register(engine, scopes=["notices:read", "consents:read"])
    assert secret
    settings = _settings(sqlite_url, tmp_path, limited=cid)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc, engine, cid, secret, settings
    engine.dispose()


def test_successful_answers_carry_ratelimit_headers(
    reader: tuple[TestClient, Engine, str, str, Settings],
) -> None:
    """A 200 carries RateLimit and RateLimit-Policy (IETF draft), not only the 429."""
    tc, _, cid, secret, _ = reader
    token = fetch_token(tc, cid, secret)
    r = tc.get("/v1/notices", headers={"Authorization": f"Bearer {token}", "X-Purpose": "public-information"})
    assert r.status_code == 200, r.text
    assert r.headers["RateLimit-Policy"] == f"{PER_MINUTE};w=60"
    assert r.headers["RateLimit"].startswith(f"limit={PER_MINUTE}, remaining={PER_MINUTE - 1}")


@pytest.mark.parametrize("path", ["/v1/consents", "/v1/audit/events"])
def test_every_authenticated_route_counts_against_the_client(
    reader: tuple[TestClient, Engine, str, str, Settings], path: str
) -> None:
    """Routes outside the access policy (consents, the audit API) are limited per client too."""
    tc, engine, cid, secret, _ = reader
    if path.startswith("/v1/audit/"):  # an auditor is a client of its own (separation of duties)
        cid, auditor_secret = register(engine, scopes=["audit:read"], department="county_audit")
        assert auditor_secret
        secret = auditor_secret
        with (tc.app.state.config.settings.policy_dir / "rate_limits.yaml").open("a") as out:  # type: ignore[attr-defined]
            out.write(f"  - {{client: {cid}, requests_per_minute: {PER_MINUTE}, records_per_day: 1000}}\n")
        tc.app.state.runtime.policy.reload()  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {fetch_token(tc, cid, secret)}"}
    statuses = [tc.get(path, headers=headers).status_code for _ in range(PER_MINUTE + 1)]
    assert statuses[-1] == 429, statuses
    assert all(s != 429 for s in statuses[:-1]), statuses


def test_limit_is_shared_by_replicas(sqlite_url: str, tmp_path: Path) -> None:
    """Two app instances on one store count one client's requests together."""
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    cid, secret = register(engine, scopes=["notices:read"])
    assert secret
    settings = _settings(sqlite_url, tmp_path, limited=cid)
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as a,
        TestClient(create_app(settings), raise_server_exceptions=False) as b,
    ):
        headers = {
            "Authorization": f"Bearer {fetch_token(a, cid, secret)}",
            "X-Purpose": "public-information",
        }
        statuses = [
            (a if i % 2 else b).get("/v1/notices", headers=headers).status_code for i in range(PER_MINUTE + 1)
        ]
    assert statuses[:PER_MINUTE] == [200] * PER_MINUTE and statuses[-1] == 429, statuses
    engine.dispose()


def test_wrong_secrets_back_off_per_client_id(reader: tuple[TestClient, Engine, str, str, Settings]) -> None:
    """Five wrong secrets, then 429 with Retry-After, even for the right secret, until the window ends."""
    tc, _, cid, secret, _ = reader
    data = {"grant_type": "client_credentials"}
    wrong = [tc.post("/oauth/token", data=data, auth=(cid, f"guess-{i}")).status_code for i in range(5)]
    assert wrong == [401] * 5
    r = tc.post("/oauth/token", data=data, auth=(cid, secret))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_guesses_across_client_ids_back_off_per_address(
    reader: tuple[TestClient, Engine, str, str, Settings],
) -> None:
    """Guessing a different client id each time is limited by the source address."""
    tc, _, _, _, _ = reader
    data = {"grant_type": "client_credentials"}
    statuses = [tc.post("/oauth/token", data=data, auth=(f"nobody-{i}", "x")).status_code for i in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses


SITES = [("/dashboard", "/signin", "statistics:read"), ("/audit", "/login", "audit:read")]


def _person(engine: Engine, scope: str) -> Staff:
    department = "audit" if scope == "audit:read" else "township"
    return register_staff(engine, scopes=[scope], department=department, region_code="511599100000")


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_console_and_dashboard_sign_in_back_off(
    reader: tuple[TestClient, Engine, str, str, Settings], prefix: str, action: str, scope: str
) -> None:
    """The two sign-in forms answer 429 (a page in Chinese) after five failures."""
    tc, engine, _, _, _ = reader
    person = _person(engine, scope)
    statuses = []
    for i in range(6):
        r = tc.post(prefix + action, data=person.form(password=f"guess-{i}"), follow_redirects=False)
        statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, (prefix, statuses)
    assert "稍后再试" in r.text and "Retry-After" in r.headers


@pytest.mark.parametrize(("prefix", "action", "scope"), SITES)
def test_cookie_pages_count_against_the_persons_limit(
    sqlite_url: str, tmp_path: Path, prefix: str, action: str, scope: str
) -> None:
    """Page views of the dashboard and the console spend the signed-in account's per-minute limit."""
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    person = _person(engine, scope)
    settings = _settings(sqlite_url, tmp_path, limited=person.account)
    # At the start of a minute: the limiter's fixed window does not roll over in the middle.
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(minute, tick=True), TestClient(create_app(settings)) as tc:
        assert tc.post(prefix + action, data=person.form(), follow_redirects=False).status_code == 303
        pages = [tc.get(prefix + "/") for _ in range(PER_MINUTE + 1)]
    engine.dispose()
    assert [p.status_code for p in pages] == [200] * PER_MINUTE + [429]
    assert pages[0].headers["RateLimit-Policy"] == f"{PER_MINUTE};w=60"
    assert pages[0].headers["RateLimit"].startswith(f"limit={PER_MINUTE}, remaining={PER_MINUTE - 1}")
    assert "稍后再试" in pages[-1].text and int(pages[-1].headers["Retry-After"]) >= 1


def test_audit_export_stops_at_the_auditors_record_quota(sqlite_url: str, tmp_path: Path) -> None:
    """An export holds at most the auditor's daily record quota; the next export is 429."""
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    cid, secret = register(engine, scopes=["audit:read"], department="county_audit")
    assert secret
    settings = _settings(sqlite_url, tmp_path, limited=cid, per_minute=100, records=6)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        headers = {"Authorization": f"Bearer {fetch_token(tc, cid, secret)}"}
        for _ in range(10):  # each answer is an audit event
            assert tc.get("/v1/audit/events", headers=headers).status_code == 200
        r = tc.get("/v1/audit/events/export", headers=headers)
        assert r.status_code == 200, r.text
        lines = [line for line in r.text.splitlines() if line]
        assert int(r.headers["X-Export-Limit"]) == 6
        assert len(lines) == 6, len(lines)
        again = tc.get("/v1/audit/events/export", headers=headers)
        assert again.status_code == 429, again.text
    engine.dispose()
