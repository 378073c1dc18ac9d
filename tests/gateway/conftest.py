"""Fixtures of the read API tests: an app over a fresh store, driven through its lifespan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import factories


@pytest.fixture
def client(store_url: str, store_engine: Engine) -> Iterator[TestClient]:
    """Return a client of an app serving a small county on a fresh store (SQLite and PostgreSQL)."""
    factories.county(store_engine)
    app = create_app(Settings(database_url=store_url, db_pool_size=4))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
