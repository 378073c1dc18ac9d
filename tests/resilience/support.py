"""A live replica under load: every answer, its trace id and status, and the audit events behind them."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from gateway.app import create_app
from gateway.audit.verify import verify_store
from tests.audit.support import make_key
from tests.auth.helpers import auth_settings, register
from tests.support.live import LiveServer

PATH = "/v1/notices"


@dataclass
class Outcome:
    """One request of the load: its trace id, status (None: no answer), error, time taken and when."""

    trace_id: str
    status: int | None
    error: str | None
    seconds: float
    at: float


@dataclass
class Load:
    """Keep-alive clients requesting PATH in a loop until stopped."""

    url: str
    token: str
    pause: float = 0.02
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _loop(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self._stop.is_set():
                trace = secrets.token_hex(16)
                started = time.monotonic()
                status, error = None, None
                try:
                    r = client.get(PATH, headers={"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"})
                    status = r.status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                self.outcomes.append(Outcome(trace, status, error, time.monotonic() - started, started))
                if error == "ConnectError":
                    return  # refused: the server is gone, as a balancer would see it
                time.sleep(self.pause)

    def start(self, clients: int = 3) -> Load:
        """Start `clients` keep-alive clients."""
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop the clients and wait for them."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=40)

    def ok_since(self, moment: float) -> bool:
        """Tell whether a request started after `moment` was answered 200."""
        return any(o.status == 200 and o.at >= moment for o in list(self.outcomes))


def replica(url: str, engine: Engine, tmp: Path, **extra: object) -> tuple[LiveServer, str]:
    """Register a reader, start a live app on the store and return it with a bearer token."""
    cid, secret = register(engine, scopes=["notices:read"])
    make_key(tmp)
    settings = auth_settings(
        url,
        audit_key_file=tmp / "audit-key.pem",
        auth_refresh_seconds=0.5,
        policy_refresh_seconds=0.5,
        **extra,
    )
    server = LiveServer(create_app(settings)).start()
    r = httpx.post(
        server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret or "")
    )
    assert r.status_code == 200, r.text
    return server, r.json()["access_token"]


def wait_for(predicate: object, *, within: float, step: float = 0.05) -> float:
    """Poll until predicate() is true; return the seconds it took (fails after `within`)."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < within, f"not true within {within} s"
        time.sleep(step)
    return time.monotonic() - started


def ready(url: str) -> int:
    """Return the status of /readyz (0 when the server does not answer)."""
    try:
        return httpx.get(url + "/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def assert_every_answer_audited(engine: Engine, outcomes: list[Outcome], *, within: float = 10) -> None:
    """Assert every answered request has its audit event (refusals once the log is back); log verifies."""
    answered = {o.trace_id for o in outcomes if o.status is not None}

    def missing() -> set[str]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT trace_id FROM audit_event WHERE route = :r"), {"r": PATH}).all()
        return answered - {r[0] for r in rows}

    wait_for(lambda: not missing(), within=within, step=0.2)
    report = verify_store(engine)
    assert report.finding is None, report.finding
