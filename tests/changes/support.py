"""Helpers of the change-feed and webhook tests: a civil-affairs source synced for real, API clients,
and a webhook receiver on 127.0.0.1 that checks signatures on its own (stdlib only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.sdk.runner import SyncReport, run_connectors
from tests.auth.helpers import fetch_token, register
from tests.support.civil import CivilDb

COUNTY = "511599000000"
QINGSHAN = "511599100000"  # the township of CivilDb's village 511599100201
SHIMEN = "511599200000"  # another township


def sync(store: Engine, civil: CivilDb) -> SyncReport:
    """Run the civil-affairs connector against its source, as `gateway sync` does."""
    report = run_connectors(store, [CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))])
    assert report.ok, report
    return report


def api_client(
    tc: TestClient, store: Engine, *, department: str, region: str, purpose: str, scopes: list[str]
) -> dict[str, str]:
    """Register a client and return the headers its requests carry (bearer token, purpose)."""
    client_id, secret = register(store, scopes=scopes, department=department, region_code=region)
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(tc, client_id, secret)}", "X-Purpose": purpose}


def feed(tc: TestClient, headers: dict[str, str], *, limit: int = 500) -> list[dict[str, Any]]:
    """Follow the change feed from its start to its end."""
    items: list[dict[str, Any]] = []
    since: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if since:
            params["since"] = since
        r = tc.get("/v1/changes", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        since = body["next"]
        if not body["more"]:
            return items


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Check a Standard Webhooks signature independently of the gateway's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records every request; answers `status`; verifies with `secret`."""

    status: int = 204
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    received: list[tuple[str, dict[str, str], bytes, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver.secrets.get(self.path)
                ok = secret is not None and verify(secret, headers, body)
                receiver.received.append((self.path, headers, body, ok))
                self.send_response(receiver.status if ok else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """Return the verified JSON bodies received at `path`."""
        return [json.loads(b) for p, _, b, ok in self.received if p == path and ok]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
