"""SIGTERM under a burst of keep-alive requests: every request is answered or refused, never dropped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from store.engines import make_sync_engine
from tests.audit.support import make_key
from tests.auth.helpers import register
from tests.resilience.support import Load, assert_every_answer_audited, wait_for
from tests.support.pgcluster import free_port

GATEWAY = Path(sys.executable).parent / "gateway"


def test_sigterm_burst_answers_or_refuses_every_request(sqlite_url: str, tmp_path: Path) -> None:
    """Keep-alive clients send across SIGTERM: answers (the last with Connection: close) or refusals."""
    engine = make_sync_engine(sqlite_url)
    cid, secret = register(engine, scopes=["notices:read"])
    make_key(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": sqlite_url,
        "GATEWAY_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "GATEWAY_AUDIT_KEY_FILE": str(tmp_path / "audit-key.pem"),
        "GATEWAY_PORT": str(port),
        "GATEWAY_DRAIN_GRACE_SECONDS": "1.0",
    }
    proc = subprocess.Popen([str(GATEWAY), "serve"], env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), within=90, step=0.1)  # a loaded CI machine starts slowly
        r = httpx.post(
            url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret or "")
        )
        load = Load(url, r.json()["access_token"], pause=0.0).start(clients=4)
        wait_for(lambda: load.ok_since(0), within=10)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its shutdown: exit by SIGTERM, after the drain.
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
        time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
    load.stop()
    errors = {o.error for o in load.outcomes if o.error}
    # A refused connection is a clean "go elsewhere"; a read request closed without an answer is not.
    assert errors <= {"ConnectError"}, errors
    assert sum(o.status == 200 for o in load.outcomes) > 10
    assert_every_answer_audited(engine, load.outcomes)
    engine.dispose()


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
