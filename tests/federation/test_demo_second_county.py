"""`make demo FEDERATION=1`: the second county starts, pins the demo county's key and answers its lookup."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from gateway.app import create_app
from gateway.db import make_sync_engine
from gateway.demo import _write_audit_key
from gateway.federation.demo import PURPOSE, start_second_county
from tests.auth.helpers import auth_settings, register
from tests.federation.conftest import MOVED
from tests.support import factories
from tests.support.live import LiveServer
from tests.support.pgcluster import free_port


def test_second_county_answers_the_demo_county(tmp_path: Path, sqlite_url: str) -> None:
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    born = dt.date(1988, 4, 21)
    factories.add_resident(
        engine, national_id=MOVED, name="李秀英", sex="female", birth_date=born, region_code="511599100201"
    )
    cid, secret = register(engine, scopes=["residents:read"])
    engine.dispose()
    a_port, b_port = free_port(), free_port()
    a_url = f"http://127.0.0.1:{a_port}"
    kek = Fernet.generate_key().decode()
    env_a = {
        **os.environ,
        "GATEWAY_DATABASE_URL": sqlite_url,
        "GATEWAY_KEY_ENCRYPTION_KEY": kek,
        "GATEWAY_PUBLIC_URL": a_url,
    }
    env, county_b = start_second_county(tmp_path, env_a=env_a, port=b_port, write_audit_key=_write_audit_key)
    try:
        settings = auth_settings(
            sqlite_url,
            public_url=a_url,
            key_encryption_key=kek,
            federation_file=Path(env["GATEWAY_FEDERATION_FILE"]),
        )
        with LiveServer(create_app(settings), port=a_port):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{b_port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            token = httpx.post(
                a_url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret or "")
            ).json()["access_token"]
            r = httpx.post(
                a_url + "/v1/federation/county-b/residents:lookup",
                json={"national_id": MOVED},
                headers={"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE},
                timeout=20,
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["name"] == "李秀英" and body["region_code"].startswith("511521")
            assert body["national_id"] != MOVED and "phone" not in body
    finally:
        county_b.terminate()
        county_b.wait(timeout=20)
