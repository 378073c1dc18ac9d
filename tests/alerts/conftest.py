"""Fixtures of the early-warning tests: the county of tests/support/alerts.py served with real tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.changes.support import Receiver
from tests.support import factories
from tests.support.alerts import CLIENTS, Cast, evaluate, populate
from tests.support.callers import make_app, register, token_headers
from tests.support.keys import write_audit_key as _audit_key


@dataclass
class World:
    """The started app, its store and the residents."""

    tc: TestClient
    engine: Engine
    cast: Cast
    headers: Callable[..., dict[str, str]]
    receiver: Receiver

    def worklist(self, client: str, purpose: str, **params: Any) -> list[dict[str, Any]]:
        """Return every item of a client's worklist under `purpose`."""
        # Every query parameter of a policy-governed read names a resident field (the disclosure crawl):
        # only `region` does; the item's state and rule are narrowed here.
        query = {k: v for k, v in params.items() if k == "region"}
        r = self.tc.get("/v1/alerts", params={"limit": 500, **query}, headers=self.headers(client, purpose))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["next"] is None
        items: list[dict[str, Any]] = body["items"]
        for key, field in (("state", "state"), ("rule", "rule")):
            if key in params:
                items = [i for i in items if i[field] == params[key]]
        return items


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    """Return the started app over a store whose rules have run once."""
    from store.engines import make_sync_engine

    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    cast = populate(engine)
    for cid, (dept, region, scopes) in CLIENTS.items():
        register(engine, client_id=cid, department=dept, region_code=region, scopes=scopes)
    evaluate(engine)
    receiver = Receiver()
    app = make_app(
        sqlite_url,
        audit_key_file=_audit_key(tmp_path / "audit-key.pem"),
        webhook_allowed_urls=[f"{receiver.url}/hooks/"],
        key_encryption_key=Fernet.generate_key().decode(),
    )
    with app as tc:
        headers = token_headers(tc, {cid: c[2] for cid, c in CLIENTS.items()})

        yield World(tc, engine, cast, headers, receiver)
    receiver.close()
    engine.dispose()
