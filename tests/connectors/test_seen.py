"""The keys a pass saw live in a temporary table, not in memory (issue 20: memory flat in county size)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert

from connectors.sdk import seen as seen_module
from connectors.sdk.seen import SeenKeys
from store.bulk import sync_connection, write_tx
from store.engines import make_sync_engine
from store.tables import table_of
from store.tables.records import ResidentSourceRow

pytestmark = pytest.mark.backends


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """Return an engine on a fresh migrated store."""
    engine = make_sync_engine(store_url)
    yield engine
    engine.dispose()


def _store_people(engine: Engine, keys: list[str]) -> None:
    moment = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = [
        {"source": "civil_affairs", "record_key": k, "resident_id": f"R{k}", "content_hash": k,
         "values": "{}", "first_seen": moment, "last_seen": moment}
        for k in keys
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(table_of(ResidentSourceRow)), rows)


def test_nothing_is_noted_for_a_source_the_store_holds_nothing_of(engine: Engine) -> None:
    with sync_connection(engine) as conn:
        ledger = SeenKeys(conn)
        with write_tx(conn) as store:
            ledger.start(store, source="civil_affairs", open_keys=set())
        ledger.note("person", ["A"])
        assert not ledger.active and ledger._pending == []
        with write_tx(conn) as store:
            ledger.start(store, source="civil_affairs", open_keys={"Q1"})  # something open in quarantine
        assert ledger.active


def test_missing_and_unseen_come_from_the_table(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_module, "PENDING", 3)  # keys leave memory in small batches
    _store_people(engine, ["K1", "K2", "K3", "K4", "K5"])
    with sync_connection(engine) as conn:
        ledger = SeenKeys(conn)
        with write_tx(conn) as store:
            ledger.start(store, source="civil_affairs", open_keys=set())
        assert ledger.active
        ledger.note("person", ["K1", "K2"])
        assert len(ledger._pending) == 2
        ledger.note("person", ["K4", "K9"])
        assert ledger._pending == []  # written out: memory holds at most PENDING keys
        ledger.note("enrollment", ["K3"])
        with write_tx(conn) as store:
            ledger.index(store)
            assert ledger.missing(store, "person", source="civil_affairs") == ["K3", "K5"]
            assert ledger.missing(store, "person", source="hr_api") == []
            assert ledger.unseen(store, {"K3", "K5", "K9"}) == ["K5"]  # K3 seen as an enrolment
            ledger.drop(store)
        with write_tx(conn) as store:
            ledger.start(store, source="civil_affairs", open_keys=set())
            ledger.index(store)
            assert ledger.missing(store, "person", source="civil_affairs") == ["K1", "K2", "K3", "K4", "K5"]
