"""The contract every connector's tests inherit (after singer-sdk's standard tap tests).

A test class provides two fixtures, `make_connector` (a factory of fresh connectors over a small fixture
source) and `store` (a migrated store's Engine), and inherits four tests: translation is pure and
deterministic, extract streams, every record read ends in the store or in quarantine, and a re-run with
no source change changes nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text

from connectors.sdk.base import Connector
from connectors.sdk.errors import RecordInvalid
from connectors.sdk.records import Checkpoint, RawItem, RawRecord
from connectors.sdk.runner import run_connectors

AnyConnector = Connector[Any]
TODAY = dt.date(2026, 11, 1)  # the demo county's reference day

# Every table a sync writes, with a stable order, for before/after snapshots.
UNIFIED_TABLES = {
    "region": "code",
    "resident": "id",
    "resident_source": "source, record_key",
    "resident_tag": "resident_id, tag",
    "household": "id",
    "enrollment": "id",
    "employment": "resident_id, source",
    "migration": "resident_id, source",
    "service": "id",
    "notice": "id",
    "notice_region": "notice_id, region_code",
}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every unified table (updated_at included)."""
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]  # noqa: S608
            for table, order in UNIFIED_TABLES.items()
        }


def outcome(connector: AnyConnector, raw: RawRecord) -> tuple[str, Any]:
    """Return what translating a raw record gives: ('ok', record) or ('held', reason)."""
    try:
        return ("ok", connector.translate(raw))
    except RecordInvalid as exc:
        return ("held", exc.reason)


def stored(engine: Engine, source: str, kind: str, key: str) -> bool:
    """Tell whether a source record's translation is in the store."""
    queries = {
        "person": ("SELECT 1 FROM resident_source WHERE source = :s AND record_key = :k", key),
        "enrollment": ("SELECT 1 FROM enrollment WHERE source = :s AND record_key = :k", key),
        "service": ("SELECT 1 FROM service WHERE id = :k AND :s = :s", f"{source}:{key}"),
        "notice": ("SELECT 1 FROM notice WHERE id = :k AND :s = :s", key),
        "region": ("SELECT 1 FROM region WHERE code = :k AND :s = :s", key.ljust(12, "0")),
    }
    sql, value = queries[kind]
    with engine.connect() as conn:
        return conn.execute(text(sql), {"s": source, "k": value}).first() is not None


def quarantined(engine: Engine, source: str, key: str) -> str | None:
    """Return the reason a record is held back for, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT reason FROM quarantine WHERE source = :s AND record_key = :k AND released_at IS NULL"
            ),
            {"s": source, "k": key},
        ).first()
    return None if row is None else str(row[0])


class ConnectorContract:
    """Inherit and provide the `make_connector` and `store` fixtures."""

    # Connectors to sync first (e.g. the gazetteer), built by the `prerequisites` fixture.
    @pytest.fixture
    def prerequisites(self) -> list[AnyConnector]:
        """Return connectors to sync before the one under test (none by default)."""
        return []

    @pytest.fixture
    def make_connector(self) -> Callable[[], AnyConnector]:
        """Return a factory of fresh connectors over the fixture source."""
        raise NotImplementedError("a contract test class provides make_connector")

    def _items(self, connector: AnyConnector, limit: int | None = None) -> Iterator[RawItem]:
        return (i for i in itertools.islice(connector.extract(state={}), limit) if isinstance(i, RawItem))

    def test_translate_is_pure_and_deterministic(self, make_connector: Callable[[], AnyConnector]) -> None:
        """Translating the same raw record twice gives equal results and leaves the payload untouched."""
        with make_connector() as connector:
            for item in self._items(connector, 500):
                before = copy.deepcopy(item.payload)
                try:
                    raw = item.model.model_validate(item.payload)
                except ValidationError:
                    continue
                assert outcome(connector, raw) == outcome(connector, raw)
                assert item.payload == before

    def test_extract_streams(self, make_connector: Callable[[], AnyConnector]) -> None:
        """Extract is a lazy iterator that ends a complete pass with a final checkpoint."""
        with make_connector() as connector:
            stream = connector.extract(state={})
            assert isinstance(stream, Iterator) and not isinstance(stream, list | tuple)
            assert isinstance(next(stream), RawItem | Checkpoint)
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        with make_connector() as connector:
            *_, last = connector.extract(state={})
            assert isinstance(last, Checkpoint) and last.final

    def test_every_record_ends_in_store_or_quarantine(
        self, make_connector: Callable[[], AnyConnector], prerequisites: list[AnyConnector], store: Engine
    ) -> None:
        """Each record read is either translated into the store or held back with a reason."""
        connector = make_connector()
        report = run_connectors(store, [*prerequisites, connector], today=TODAY)
        summary = report.sources[-1]
        assert summary.ok, summary.error
        with make_connector() as again:
            items = list(self._items(again))
        assert summary.read == len(items)
        for item in items:
            key = item.model.key_of(item.payload)
            if not stored(store, connector.name, item.model.kind, key):
                assert quarantined(store, connector.name, key), f"{key} is neither stored nor quarantined"

    def test_rerun_is_idempotent(
        self, make_connector: Callable[[], AnyConnector], prerequisites: list[AnyConnector], store: Engine
    ) -> None:
        """A second sync with no source change creates and updates nothing, and writes nothing served."""
        first = run_connectors(store, [*prerequisites, make_connector()], today=TODAY)
        assert first.ok
        before = snapshot(store)
        second = run_connectors(store, [make_connector()], today=TODAY)
        summary = second.sources[-1]
        assert summary.ok, summary.error
        assert (summary.created, summary.updated) == (0, 0)
        assert second.refresh is not None
        assert second.refresh.residents_created == second.refresh.residents_updated == 0
        assert snapshot(store) == before
