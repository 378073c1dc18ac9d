"""Fixtures of the push-ingest tests: an app over a fresh store, department clients with real tokens."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings, fetch_token, register

# (department, scopes) of the clients a test may push or read as.
CLIENTS = {
    "mz": ("civil_affairs", ["residents:read", "households:read", "notices:read", "ingest:civil_affairs"]),
    "cms": ("publicity", ["notices:read", "ingest:publicity"]),
    "hr": ("hr", ["residents:read", "ingest:hr_api", "ingest:hr_migrant_register"]),
}
PURPOSE = {"mz": "social-assistance-review", "cms": "public-information", "hr": "pension-eligibility"}


@dataclass
class Api:
    """A started app, the store under it and, on first use, a registered client and token per name."""

    tc: TestClient
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    client_ids: dict[str, str] = field(default_factory=dict)

    def client_id(self, who: str) -> str:
        """Return the id of client `who`, registering it (and fetching its token) on first use."""
        if who not in self.client_ids:
            department, scopes = CLIENTS[who]
            client_id, secret = register(self.engine, department=department, scopes=scopes)
            assert secret is not None
            self.tokens[who] = fetch_token(self.tc, client_id, secret)
            self.client_ids[who] = client_id
        return self.client_ids[who]

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        """Return the headers of a request as `who`."""
        self.client_id(who)
        return {"Authorization": f"Bearer {self.tokens[who]}", "X-Purpose": PURPOSE[who], **extra}

    def push(self, source: str, body: Any, *, who: str = "mz", key: str | None = None) -> httpx.Response:
        """POST a batch to /v1/ingest/{source}; a fresh Idempotency-Key unless one is given ('' for none)."""
        key = str(uuid.uuid4()) if key is None else key
        headers = self.headers(who, **({"Idempotency-Key": key} if key else {}))
        return self.tc.post(f"/v1/ingest/{source}", json=body, headers=headers)

    def get(self, path: str, *, who: str = "mz", **params: Any) -> httpx.Response:
        """GET a read route as `who`."""
        return self.tc.get(path, params=params, headers=self.headers(who))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Return the rows of a query on the store, sorted (for before/after comparisons)."""
        with self.engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(text(sql)))


def _api(url: str, engine: Engine, *, sources_config: Path) -> Iterator[Api]:
    settings = auth_settings(url, sources_config=sources_config)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield Api(tc, engine)


@pytest.fixture
def api(store_url: str, store_engine: Engine, tmp_path: Path) -> Iterator[Api]:
    """Return the app over a fresh store, on SQLite and on PostgreSQL; no source is configured."""
    yield from _api(store_url, store_engine, sources_config=tmp_path / "absent.yaml")


@pytest.fixture
def sqlite_api(sqlite_url: str, tmp_path: Path, samples: Path) -> Iterator[Api]:
    """Return the app over a fresh SQLite store, the migrant register configured on the samples."""
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"sources:\n  hr_migrant_register:\n    directory: {samples}\n"
        f"    gazetteer: {samples / 'gazetteer.csv'}\n",
        encoding="utf-8",
    )
    engine = make_sync_engine(sqlite_url)
    try:
        yield from _api(sqlite_url, engine, sources_config=config)
    finally:
        engine.dispose()


def civil_rows(samples: Path, table: str) -> list[dict[str, Any]]:
    """Return a table of the civil-affairs sample as the connector's extract reads it (column -> text)."""
    db = sqlite3.connect(samples / "civil_affairs.sqlite")
    try:
        cursor = db.execute(f"SELECT * FROM {table} ORDER BY 1")  # a fixed table name
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]
    finally:
        db.close()
