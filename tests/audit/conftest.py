"""Fixtures of the audit tests: an audited app with a reader and an auditor client, each with a token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from tests.auth.helpers import ALL_READ_SCOPES, auth_settings, fetch_token, register
from tests.support import factories


@dataclass
class Audited:
    """A running app and three ways in: as a reader, as an auditor, and anonymous."""

    app: object
    reader: TestClient
    auditor_headers: dict[str, str]
    reader_headers: dict[str, str]
    counter_headers: dict[str, str]
    engine: Engine

    def as_auditor(self) -> TestClient:
        """Return the client with the auditor's token."""
        self.reader.headers.clear()
        self.reader.headers.update(self.auditor_headers)
        return self.reader

    def as_reader(self) -> TestClient:
        """Return the client with the reader's token and purpose."""
        self.reader.headers.clear()
        self.reader.headers.update(self.reader_headers)
        return self.reader


@pytest.fixture
def audited(store_url: str, store_engine: Engine, tmp_path: Path) -> Iterator[Audited]:
    """Return an audited app over a small county on a fresh store (SQLite and PostgreSQL)."""
    factories.county(store_engine)
    # A county-wide reader with every read scope except the audit ones (audit:read grants nothing else).
    scopes = [s for s in ALL_READ_SCOPES if s not in ("audit:read", "disclosures:read")]
    reader_id, reader_secret = register(store_engine, scopes=scopes)
    auditor_id, auditor_secret = register(store_engine, scopes=["audit:read"], department="county_audit")
    counter_id, counter_secret = register(
        store_engine, scopes=["disclosures:read"], department="service_centre"
    )
    settings = auth_settings(
        store_url, audit_key_file=_key(tmp_path), audit_checkpoint_every=5, audit_checkpoint_seconds=0.5
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as tc:
        assert reader_secret and auditor_secret and counter_secret
        yield Audited(
            app=app,
            reader=tc,
            auditor_headers={"Authorization": f"Bearer {fetch_token(tc, auditor_id, auditor_secret)}"},
            reader_headers={
                "Authorization": f"Bearer {fetch_token(tc, reader_id, reader_secret)}",
                "X-Purpose": "social-assistance-review",
            },
            counter_headers={"Authorization": f"Bearer {fetch_token(tc, counter_id, counter_secret)}"},
            engine=store_engine,
        )


def _key(tmp: Path) -> Path:
    from tests.audit.support import make_key

    make_key(tmp)
    return tmp / "audit-key.pem"
