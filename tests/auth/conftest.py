"""Fixtures of the OAuth tests: a started app over a fresh migrated store with the small county."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.auth.helpers import auth_settings
from tests.support import factories
from tests.support.stores import engine_on


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """Return a sync engine on a fresh SQLite store holding the small county."""
    with engine_on(sqlite_url) as eng:
        factories.county(eng)
        yield eng


@pytest.fixture
def settings(sqlite_url: str, engine: Engine) -> Settings:
    """Return the settings of the test app (fresh key-encryption key, no ./var files)."""
    return auth_settings(sqlite_url, auth_refresh_seconds=0.2)


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """Return a started app (lifespan run: keys loaded, refresher running)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc
