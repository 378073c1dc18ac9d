"""Fixtures of the read API tests: an app over a fresh store, driven through its lifespan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.support import factories


@pytest.fixture
def client(store_url: str, store_engine: Engine) -> Iterator[TestClient]:
    """Return a client (with a real bearer token) of an app serving a small county, SQLite and PostgreSQL."""
    factories.county(store_engine)
    client_id, secret = register(store_engine)
    app = create_app(auth_settings(store_url))
    with TestClient(app, raise_server_exceptions=False) as c:
        # Real tokens: every read test goes through POST /oauth/token and the bearer check.
        assert secret is not None
        c.headers["Authorization"] = f"Bearer {fetch_token(c, client_id, secret)}"
        # The access policy: a county-wide civil-affairs client states its purpose (PIPL Art. 6).
        c.headers["X-Purpose"] = "social-assistance-review"
        yield c
