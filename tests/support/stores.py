"""The store fixtures: a fresh migrated store per test, copied from a template, on SQLite or PostgreSQL.

Tests asking for `store_url` run on SQLite; those marked `backends` (behaviour that depends on the
dialect: SQL compiled per backend, locks, the audit sequencer) run on PostgreSQL too; XZ_ALL_BACKENDS=1
runs every one of them on both.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway import migrate
from store.engines import make_sync_engine
from tests.support.env import skip_or_fail
from tests.support.pgcluster import PgCluster, find_pg_bin, memory_dir


@contextmanager
def running_cluster() -> Iterator[PgCluster]:
    """Start a throwaway PostgreSQL cluster, its files in RAM where there is a tmpfs; stop it after."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert bin_dir is not None
    cluster = PgCluster(bin_dir, base_dir=memory_dir()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def sqlite_copy(template: Path, db: Path) -> str:
    """Copy a migrated SQLite store to `db`; return its URL."""
    shutil.copyfile(template, db)
    return f"sqlite:///{db}"


@contextmanager
def engine_on(url: str) -> Iterator[Engine]:
    """Open a sync engine on `url`; dispose of it after."""
    engine = make_sync_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Start one throwaway PostgreSQL cluster for the session."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def _pg_template(pg_cluster: PgCluster) -> str:
    """Create a migrated template database once; tests clone it."""
    admin = make_sync_engine(pg_cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE gw_template"))
    admin.dispose()
    engine = make_sync_engine(pg_cluster.url("gw_template"))
    migrate.upgrade(engine)
    engine.dispose()
    return "gw_template"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Create a migrated SQLite file once; tests copy it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_sync_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


_counter = itertools.count()


def fresh_pg(cluster: PgCluster, template: str) -> str:
    """Create a database from the migrated template; return its URL."""
    name = f"gw_test_{os.getpid()}_{next(_counter)}"
    admin = make_sync_engine(cluster.url())
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # FILE_COPY copies the template's files (a checkpoint, cheap without fsync) instead of writing every
        # page through the WAL: 4x faster for a small migrated database.
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE {template} STRATEGY FILE_COPY'))
    admin.dispose()
    return cluster.url(name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run `store_url` tests on SQLite; those marked `backends` on PostgreSQL too."""
    if "store_url" not in metafunc.fixturenames or _store_url_overridden(metafunc):
        return
    if any("store_url" in m.args[0] for m in metafunc.definition.iter_markers("parametrize")):
        return
    both = os.environ.get("XZ_ALL_BACKENDS") == "1" or metafunc.definition.get_closest_marker("backends")
    backends = ["sqlite", "postgresql"] if both else ["sqlite"]
    metafunc.parametrize("store_url", backends, indirect=True)


def _store_url_overridden(metafunc: pytest.Metafunc) -> bool:
    # A folder may pin `store_url` to one backend with its own fixture; that one takes no parameter.
    defs = metafunc._arg2fixturedefs.get("store_url", ())
    return bool(defs) and defs[-1].func.__module__ != __name__


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of a fresh migrated store: SQLite, or PostgreSQL for tests marked `backends`."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path / "gateway.db")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return fresh_pg(cluster, request.getfixturevalue("_pg_template"))


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """Return the URL of a fresh migrated SQLite store (for tests that need one backend only)."""
    return sqlite_copy(_sqlite_template, tmp_path / "gateway.db")


@pytest.fixture
def pg_url(pg_cluster: PgCluster, _pg_template: str) -> str:
    """Return the URL of a fresh migrated PostgreSQL database."""
    return fresh_pg(pg_cluster, _pg_template)


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """Return a sync engine on the fresh store."""
    with engine_on(store_url) as engine:
        yield engine
