"""Webhooks end to end: a real sync marks a person deceased, the worker (a real subprocess, and in-process
for the clock-driven retries) signs and delivers to a receiver on 127.0.0.1 that verifies on its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from connectors.publicity import PublicityConnector, PublicitySettings
from connectors.sdk.runner import run_connectors
from gateway.app import create_app
from gateway.audit.verify import verify_store
from gateway.settings import Settings
from gateway.subscriptions.worker import PassReport, close_worker, open_worker
from tests.auth.helpers import auth_settings
from tests.changes.support import COUNTY, SHIMEN, Receiver, civil_reader, feed, hr_reader, sync
from tests.support.civil import CivilDb, make_id

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ["changes:read", "residents:read", "enrollments:read", "notices:read", "subscriptions:write"]


@pytest.fixture
def settings(store_url: str, receiver: Receiver) -> Settings:
    """Settings allowing the receiver's /hooks/ path only; three attempts, one second apart, doubling."""
    return auth_settings(
        store_url,
        webhook_allowed_urls=[f"{receiver.url}/hooks/"],
        webhook_max_attempts=3,
        webhook_backoff_seconds=1.0,
    )


@pytest.fixture
def tc(settings: Settings) -> Iterator[TestClient]:
    """An app over a fresh store (SQLite and PostgreSQL)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def civil(tmp_path: Path) -> CivilDb:
    """A civil-affairs source with two people of 青山村."""
    db = CivilDb(tmp_path / "civil.sqlite")
    db.person("A", make_id("19400101", 1), hh="H1")
    db.person("B", make_id("19400101", 2), hh="H2")
    return db


def subscribe(tc: TestClient, headers: dict[str, str], url: str, receiver: Receiver, **extra: object) -> str:
    """Create a subscription to deaths; register its secret with the receiver; return its id."""
    r = tc.post(
        "/v1/subscriptions", json={"events": ["resident.deceased"], "url": url, **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_")
    receiver.secrets[url.removeprefix(receiver.url)] = body["secret"]
    return str(body["id"])


def hr_told_of_a_death(
    tc: TestClient, store_engine: Engine, civil: CivilDb, receiver: Receiver
) -> tuple[dict[str, str], str]:
    """Subscribe a county-wide HR reader to deaths at /hooks/hr, then sync resident A's death; return
    HR's headers and the subscription id."""
    sync(store_engine, civil)
    hr = hr_reader(tc, store_engine, scopes=SCOPES)
    sid = subscribe(tc, hr, f"{receiver.url}/hooks/hr", receiver)
    civil.person("A", make_id("19400101", 1), hh="H1", status="2")
    sync(store_engine, civil)
    return hr, sid


def run_passes(settings: Settings, moments: list[dt.datetime | None]) -> list[PassReport]:
    """Run in-process worker passes, one at each moment (None: the clock), with one worker."""

    async def go() -> list[PassReport]:
        worker = await open_worker(settings)
        try:
            return [await worker.run_once(now=now) for now in moments]
        finally:
            await close_worker(worker)

    return asyncio.run(go())


def run_pass(settings: Settings, *, now: dt.datetime | None = None) -> PassReport:
    """Run one in-process worker pass at `now`."""
    return run_passes(settings, [now])[0]


def worker_process(
    settings: Settings, *args: str, key_encryption_key: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m gateway worker ARGS` as an operator would (the settings' key unless another is
    given, extra environment in `env`); return the finished process."""
    assert settings.key_encryption_key is not None
    environ = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_KEY_ENCRYPTION_KEY": key_encryption_key or settings.key_encryption_key.get_secret_value(),
        "GATEWAY_WEBHOOK_ALLOWED_URLS": ",".join(settings.webhook_allowed_urls),
        **env,
    }
    command = [sys.executable, "-m", "gateway", "worker", *args]
    return subprocess.run(
        command, env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def worker_subprocess(settings: Settings) -> str:
    """Run `python -m gateway worker --once` as an operator would; return its output."""
    done = worker_process(settings, "--once")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_death_reaches_hr_once_signed_and_no_one_outside_the_policy(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, civil: CivilDb
) -> None:
    """One civil-affairs death: one signed webhook to HR, one feed entry, nothing for another township."""
    sync(store_engine, civil)
    hr = hr_reader(tc, store_engine, scopes=SCOPES)
    shimen = civil_reader(tc, store_engine, region=SHIMEN, scopes=SCOPES)
    hr_sub = subscribe(tc, hr, f"{receiver.url}/hooks/hr", receiver)
    subscribe(tc, shimen, f"{receiver.url}/hooks/shimen", receiver)
    subscribe(tc, hr, f"{receiver.url}/hooks/shimen-region", receiver, region=SHIMEN)

    civil.person("B", make_id("19400101", 2), hh="H2", status="2")  # the civil-affairs register: B died
    sync(store_engine, civil)
    assert "queued 1, delivered 1, failed 0 (will retry), dead 0" in worker_subprocess(settings)
    again = run_pass(settings)  # a second pass sends nothing again
    assert (again.queued, again.delivered) == (0, 0)

    assert [p for p, *_ in receiver.received] == ["/hooks/hr"]
    (_path, headers, _raw, verified) = receiver.received[0]
    assert verified and headers["webhook-id"].startswith("msg_")
    (hook,) = receiver.bodies("/hooks/hr")
    assert hook["type"] == "resident.deceased" and hook["data"]["status"] == "deceased"
    deaths = [e for e in feed(tc, hr) if e["event"] == "resident.deceased"]
    assert len(deaths) == 1 and deaths[0]["id"] == hook["data"]["id"]
    assert [e for e in feed(tc, shimen) if e["event"]] == []
    with store_engine.connect() as conn:  # the attempt is in the audit log, as a disclosure to HR
        owner = conn.execute(
            text("SELECT client_id FROM webhook_subscription WHERE id = :s"), {"s": hr_sub}
        ).scalar_one()
        audited = conn.execute(
            text("SELECT client_id, resource, status FROM audit_event WHERE method = 'POST' AND route = :u"),
            {"u": f"{receiver.url}/hooks/hr"},
        ).all()
    assert [tuple(a) for a in audited] == [(owner, "resident", 204)]


@pytest.mark.backends
def test_a_failing_receiver_gets_retries_then_dead_letters_then_replay(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, civil: CivilDb
) -> None:
    """Three attempts with backoff, then the dead-letter list; replay delivers with the same webhook-id."""
    hr, sid = hr_told_of_a_death(tc, store_engine, civil, receiver)
    receiver.status = 503
    t0 = dt.datetime.now(dt.UTC)
    after = [0.0, 0.5, 1.1, 2.5, 3.2]  # seconds after the first pass
    first, early, second, waiting, third = run_passes(settings, [t0 + dt.timedelta(seconds=s) for s in after])
    assert (first.queued, first.failed) == (1, 1)
    assert early.failed == 0  # backoff: not due yet
    assert second.failed == 1  # 1 s after the first attempt
    assert (waiting.failed, waiting.dead) == (0, 0)  # 2 s after the second: not yet
    assert third.dead == 1
    ids = {h["webhook-id"] for _, h, _, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1  # one message, one idempotency key

    dead = tc.get(f"/v1/subscriptions/{sid}/dead-letters", headers=hr)
    assert dead.status_code == 200, dead.text
    (letter,) = dead.json()["items"]
    assert letter["id"] in ids and letter["attempts"] == 3 and letter["last_status"] == 503
    assert letter["payload"]["type"] == "resident.deceased"
    assert run_pass(settings, now=t0 + dt.timedelta(hours=1)).delivered == 0  # dead stays dead

    receiver.status = 200
    r = tc.post(f"/v1/subscriptions/{sid}/dead-letters/{letter['id']}:replay", headers=hr)
    assert r.status_code == 202 and r.json() == {"id": letter["id"], "state": "pending"}
    assert run_pass(settings).delivered == 1
    assert receiver.received[-1][1]["webhook-id"] == letter["id"] and receiver.received[-1][3]
    assert tc.get(f"/v1/subscriptions/{sid}/dead-letters", headers=hr).json()["items"] == []
    r = tc.post(f"/v1/subscriptions/{sid}/dead-letters/{letter['id']}:replay", headers=hr)
    assert r.status_code == 404  # delivered: nothing to replay
    with store_engine.connect() as conn:
        attempts = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE method = 'POST' AND reason LIKE :r"),
            {"r": f"webhook {letter['id']}%"},
        ).scalar_one()
    assert attempts == 4  # every attempt is audited
    report = verify_store(store_engine)  # and the worker's events extend the hash chain like any other
    assert report.ok, report.finding


def test_subscriptions_refuse_urls_off_the_allow_list_and_stay_private(
    tc: TestClient, store_engine: Engine, receiver: Receiver
) -> None:
    """Off-list targets are 422 problems (no SSRF); a client sees and deletes only its own subscriptions."""
    hr = hr_reader(tc, store_engine, scopes=SCOPES)
    other = hr_reader(tc, store_engine, scopes=SCOPES)
    port = receiver.url.rsplit(":", 1)[1]
    for url in (
        "http://169.254.169.254/latest/meta-data/",
        f"{receiver.url}/hooksx",
        f"{receiver.url}/other/hooks/",
        f"http://127.0.0.1.evil.example:{port}/hooks/x",
        f"http://user@127.0.0.1:{port}/hooks/x",
        f"https://127.0.0.1:{port}/hooks/x",
        "file:///etc/passwd",
    ):
        r = tc.post("/v1/subscriptions", json={"events": ["resident.deceased"], "url": url}, headers=hr)
        assert r.status_code == 422, url
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/webhook-target-not-allowed"
    no_purpose = {"Authorization": hr["Authorization"]}
    r = tc.post(
        "/v1/subscriptions",
        json={"events": ["resident.deceased"], "url": f"{receiver.url}/hooks/a"},
        headers=no_purpose,
    )
    assert r.status_code == 403 and r.json()["type"] == "/problems/purpose-required"
    r = tc.post(
        "/v1/subscriptions",
        json={"events": ["enrollment.started"], "url": f"{receiver.url}/hooks/a"},
        headers={**hr, "X-Purpose": "employment-service"},
    )
    assert r.status_code == 403  # no grant on enrolments for this purpose: it could never receive one
    sid = subscribe(tc, hr, f"{receiver.url}/hooks/a", receiver)
    listed = tc.get("/v1/subscriptions", headers=hr).json()["items"]
    assert [s["id"] for s in listed] == [sid] and "secret" not in listed[0]
    assert tc.get("/v1/subscriptions", headers=other).json()["items"] == []
    assert tc.delete(f"/v1/subscriptions/{sid}", headers=other).status_code == 404
    assert tc.get(f"/v1/subscriptions/{sid}/dead-letters", headers=other).status_code == 404
    assert tc.delete(f"/v1/subscriptions/{sid}", headers=hr).status_code == 204
    assert tc.get("/v1/subscriptions", headers=hr).json()["items"] == []


@pytest.mark.backends
def test_two_workers_at_once_deliver_a_death_once(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, civil: CivilDb
) -> None:
    """Two workers in the same pass: SKIP LOCKED claims on PostgreSQL, compare-and-set on SQLite."""
    hr_told_of_a_death(tc, store_engine, civil, receiver)
    civil.person("B", make_id("19400101", 2), hh="H2", status="3")  # moved out: not subscribed
    sync(store_engine, civil)

    async def both() -> list[PassReport]:
        workers = [await open_worker(settings), await open_worker(settings)]
        try:
            return list(await asyncio.gather(*(w.run_once() for w in workers)))
        finally:
            for w in workers:
                await close_worker(w)

    reports = asyncio.run(both())
    assert sum(r.queued for r in reports) == 1 and sum(r.delivered for r in reports) == 1
    assert [b["type"] for b in receiver.bodies("/hooks/hr")] == ["resident.deceased"]


NOTICE = (
    '<item><guid isPermaLink="false">{guid}</guid><title>关于{title}的通知</title>'
    "<description><![CDATA[<p>{title}。</p>]]></description>"
    "<pubDate>Mon, 02 Nov 2026 07:00:00 +0800</pubDate>"
    "<category>政策宣传</category><gov:region>{region}</gov:region><gov:audience>老年人</gov:audience></item>"
)


def test_published_notices_reach_the_regions_they_address(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, tmp_path: Path
) -> None:
    """notice.published goes to subscriptions whose region the notice addresses (or lies above or inside)."""
    hr = hr_reader(tc, store_engine, scopes=SCOPES)
    subs = {}
    for name, region in (("qingshan", "511599100201"), ("shimen", "511599200000")):
        r = tc.post(
            "/v1/subscriptions",
            json={"events": ["notice.published"], "url": f"{receiver.url}/hooks/{name}", "region": region},
            headers=hr,
        )
        assert r.status_code == 201, r.text
        subs[name] = r.json()["id"]
        receiver.secrets[f"/hooks/{name}"] = r.json()["secret"]
    items = [
        NOTICE.format(guid="n-county", title="防火", region=COUNTY),
        NOTICE.format(guid="n-qingshan", title="义诊", region="511599100000"),
        NOTICE.format(guid="n-shimen", title="修路", region="511599200201"),
    ]
    feed_xml = tmp_path / "feed.xml"
    feed_xml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:gov="urn:example:gov-notice:1">'
        "<channel><title>示范县</title>" + "".join(items) + "</channel></rss>",
        encoding="utf-8",
    )
    report = run_connectors(store_engine, [PublicityConnector(PublicitySettings(url=str(feed_xml)))])
    assert report.ok, report
    assert run_pass(settings).delivered == 4
    got = {name: sorted(b["data"]["id"] for b in receiver.bodies(f"/hooks/{name}")) for name in subs}
    assert got == {"qingshan": ["n-county", "n-qingshan"], "shimen": ["n-county", "n-shimen"]}


def test_a_prefix_withdrawn_by_the_operator_is_never_called_again(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, civil: CivilDb
) -> None:
    """The worker checks the allow-list at every attempt, not only when the subscription was made."""
    hr, sid = hr_told_of_a_death(tc, store_engine, civil, receiver)
    withdrawn = settings.model_copy(update={"webhook_allowed_urls": [], "webhook_max_attempts": 1})
    assert run_pass(withdrawn).dead == 1 and receiver.received == []
    (letter,) = tc.get(f"/v1/subscriptions/{sid}/dead-letters", headers=hr).json()["items"]
    assert "allow-list" in letter["last_error"] and letter["last_status"] is None


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_worker_with_another_key_encryption_key_says_so_and_stops(
    tc: TestClient, store_engine: Engine, settings: Settings, receiver: Receiver, civil: CivilDb
) -> None:
    """A worker that cannot decrypt the webhook secrets prints one line and exits non-zero, not a loop."""
    hr_told_of_a_death(tc, store_engine, civil, receiver)
    # The long-running form (no --once), which used to loop; a key that is not the API's.
    other_key = Fernet.generate_key().decode()
    done = worker_process(settings, key_encryption_key=other_key, GATEWAY_WORKER_POLL_SECONDS="0.2")
    assert done.returncode != 0 and receiver.received == []
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "GATEWAY_KEY_ENCRYPTION_KEY" in lines[0] and "decrypt" in lines[0]
