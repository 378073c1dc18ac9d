"""Idempotency-Key claims under concurrency: the primary key decides, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from gateway.ingest import repository
from gateway.ingest.repository import Claimed, KeyRef
from gateway.ingest.service import LEASE
from store.bulk import Store

REF = KeyRef(client_id="mz", source="civil_affairs", key="same-key")


@pytest.mark.backends
def test_two_concurrent_claims_of_one_key_never_both_proceed(store_engine: Engine) -> None:
    """A second claim waits on the first's uncommitted row, then finds it in flight: never both proceed."""
    now = dt.datetime.now(dt.UTC)
    first_inserted = threading.Event()

    def first() -> Claimed:
        with store_engine.begin() as conn:
            outcome = repository.claim(Store(conn), ref=REF, fingerprint="f", now=now, lease=LEASE).outcome
            first_inserted.set()
            threading.Event().wait(0.3)  # hold the transaction open while the second claims
        return outcome

    def second() -> Claimed:
        first_inserted.wait(5)
        with store_engine.begin() as conn:
            return repository.claim(Store(conn), ref=REF, fingerprint="f", now=now, lease=LEASE).outcome

    with ThreadPoolExecutor(2) as pool:
        outcomes = [f.result() for f in (pool.submit(first), pool.submit(second))]
    assert outcomes == [Claimed.NEW, Claimed.IN_FLIGHT]

    with store_engine.begin() as conn:
        store = Store(conn)
        repository.complete(store, ref=REF, status=200, response='{"received":1}')
        again = repository.claim(store, ref=REF, fingerprint="f", now=now, lease=LEASE)
        other = repository.claim(store, ref=REF, fingerprint="g", now=now, lease=LEASE)
    assert (again.outcome, again.response) == (Claimed.REPLAY, '{"received":1}')
    assert other.outcome is Claimed.MISMATCH


@pytest.mark.backends
def test_answered_keys_expire(store_engine: Engine) -> None:
    """Answered keys older than the expiry are purged; keys still in flight never are."""
    then = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with store_engine.begin() as conn:
        store = Store(conn)
        repository.claim(store, ref=REF, fingerprint="f", now=then, lease=LEASE)
        busy = KeyRef(client_id="mz", source="civil_affairs", key="busy")
        repository.claim(store, ref=busy, fingerprint="f", now=then, lease=LEASE)
        repository.complete(store, ref=REF, status=200, response="{}")
        assert repository.purge(store, before=then + dt.timedelta(hours=25)) == 1
        assert (
            repository.claim(store, ref=busy, fingerprint="f", now=then, lease=LEASE).outcome
            is Claimed.IN_FLIGHT
        )
