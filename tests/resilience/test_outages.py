"""The store restarts, breaks a connection or stalls a lock: 503 + Retry-After, never 500; recovery alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gateway import migrate
from store.engines import make_sync_engine
from tests.resilience.support import Load, assert_every_answer_audited, ready, replica, wait_for
from tests.support.pgcluster import PgCluster
from tests.support.stores import running_cluster


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of this test alone (it is restarted)."""
    with running_cluster() as cluster:
        yield cluster


def test_postgresql_restart_under_load_recovers_without_restart(
    own_cluster: PgCluster, tmp_path: Path
) -> None:
    """Restart PostgreSQL under load: 503s (never 500, never a reset), not ready, then 200 within 10 s."""
    url = own_cluster.url()
    engine = make_sync_engine(url)
    migrate.upgrade(engine)
    server, token = replica(url, engine, tmp_path, audit_commit_timeout_seconds=1.0)
    load = Load(server.url, token).start()
    try:
        wait_for(lambda: load.ok_since(0), within=10)
        own_cluster.stop_server()
        wait_for(lambda: ready(server.url) == 503, within=5)
        time.sleep(1.0)
        own_cluster.start_server()
        back = time.monotonic()
        took = wait_for(lambda: load.ok_since(back), within=10)
        wait_for(lambda: ready(server.url) == 200, within=10)
    finally:
        load.stop()
        server.stop()
    statuses = {o.status for o in load.outcomes}
    assert 503 in statuses and 200 in statuses, statuses
    assert 500 not in statuses
    assert not [o for o in load.outcomes if o.error], "a request was dropped or reset"
    assert took < 10
    engine.dispose()
    engine = make_sync_engine(url)
    assert_every_answer_audited(engine, load.outcomes)
    engine.dispose()


def test_terminated_sequencer_connection_recovers(pg_url: str, tmp_path: Path) -> None:
    """pg_terminate_backend of the audit connection: the next requests still answer 200."""
    engine = make_sync_engine(pg_url)
    server, token = replica(pg_url, engine, tmp_path)
    load = Load(server.url, token).start(clients=2)
    try:
        wait_for(lambda: load.ok_since(0), within=10)
        with engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'xiangzhi-audit' AND datname = current_database()"
                )
            ).scalar_one()
        assert killed == 1
        after = time.monotonic()
        wait_for(lambda: sum(o.status == 200 and o.at > after for o in list(load.outcomes)) >= 10, within=10)
    finally:
        load.stop()
        server.stop()
    assert {o.status for o in load.outcomes} == {200}
    assert_every_answer_audited(engine, load.outcomes)
    engine.dispose()


def _hold_audit_head(engine: Engine, *, seconds: float, held: threading.Event) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite: the database write lock
        held.set()
        time.sleep(seconds)
        conn.rollback()


@pytest.mark.backends
def test_stalled_audit_head_lock_fails_fast(store_url: str, store_engine: Engine, tmp_path: Path) -> None:
    """A transaction holding the audit head: 503 within the commit timeout, not ready, then back."""
    server, token = replica(
        store_url, store_engine, tmp_path, audit_commit_timeout_seconds=1.0, db_lock_timeout_seconds=1.0
    )
    load = Load(server.url, token).start(clients=2)
    held = threading.Event()
    holder = threading.Thread(
        target=_hold_audit_head, args=(store_engine,), kwargs={"seconds": 5, "held": held}
    )
    try:
        wait_for(lambda: load.ok_since(0), within=10)
        holder.start()
        held.wait(5)
        wait_for(lambda: ready(server.url) == 503, within=4)
        holder.join(timeout=20)
        back = time.monotonic()
        wait_for(lambda: load.ok_since(back), within=5)
        wait_for(lambda: ready(server.url) == 200, within=5)
    finally:
        load.stop()
        server.stop()
    statuses = {o.status for o in load.outcomes}
    assert 503 in statuses and 500 not in statuses, statuses
    assert not [o for o in load.outcomes if o.error]
    slowest = max(o.seconds for o in load.outcomes)
    assert slowest < 3.0, f"a response waited {slowest:.1f} s (commit timeout 1 s, lock held 5 s)"
    assert_every_answer_audited(store_engine, load.outcomes)
