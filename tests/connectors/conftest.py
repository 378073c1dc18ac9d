"""Fixtures of the connector tests: the department samples, a small demo county, fresh stores, fake HR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.demo import CountyManifest, generate_county
from connectors.demo.fake_hr import FakeHrServer
from tests.support.civil import HR_KEY, CivilDb, make_id
from tests.support.stores import engine_on

__all__ = ["HR_KEY", "CivilDb", "make_id"]  # long imported from here by the connector tests


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CountyManifest]:
    """Generate a small demo county (every quirk of docs/sources.md) once per session."""
    out = tmp_path_factory.mktemp("county")
    return out, generate_county(out, residents=600, seed=7)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    """Return an engine on a fresh migrated SQLite store (a copy of the suite's template)."""
    with engine_on(sqlite_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def county_hr(county: tuple[Path, CountyManifest]) -> Iterator[FakeHrServer]:
    """Serve the demo county's HR persons on 127.0.0.1 for the session."""
    with FakeHrServer(county[0], api_key=HR_KEY) as server:
        yield server


@pytest.fixture
def samples_hr(samples: Path) -> Iterator[FakeHrServer]:
    """Serve the sample HR pages on 127.0.0.1 (a fresh server: tests inject faults)."""
    with FakeHrServer(samples / "hr_api", api_key=HR_KEY) as server:
        yield server


@pytest.fixture
def hr(server: FakeHrServer) -> Iterator[FakeHrServer]:
    """Hand out the module's own fake HR server (`server`) with no fault, an empty log and no live token."""
    server.reset()
    yield server
    server.reset()
