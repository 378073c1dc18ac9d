"""The read store runs any Core statement the way SQLAlchemy would, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from opentelemetry.trace import NoOpTracer
from sqlalchemy import Engine, bindparam, select

from store.read import open_read_store
from store.tables.records import RegionRow, ResidentRow
from tests.support import factories

G = RegionRow.__table__.c  # type: ignore[attr-defined]
R = ResidentRow.__table__.c  # type: ignore[attr-defined]


@pytest.mark.backends
def test_in_lists_datetimes_and_cached_shapes(store_url: str, store_engine: Engine) -> None:
    factories.county(store_engine)
    old = factories.add_resident(store_engine, updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    new = factories.add_resident(store_engine)

    async def run() -> None:
        db = await open_read_store(store_url, pool_size=2, tracer=NoOpTracer())
        try:
            for codes in (["511599100000"], ["511599100000", "511599200000", "511599100201"]):
                rows = await db.fetch_all(select(G.code).where(G.code.in_(codes)).order_by(G.code))
                assert [r[0] for r in rows] == sorted(codes)
            since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            rows = await db.fetch_all(select(R.id).where(R.updated_at >= since))
            assert [r[0] for r in rows] == [new.id]
            stmt = select(R.id).where(R.id == bindparam("rid"))
            for rid in (old.id, new.id):  # the second run reuses the compiled shape
                row = await db.fetch_one(stmt, {"rid": rid})
                assert row is not None and row[0] == rid
            # Same shape, different literal: the cached compilation must not keep the old value.
            for code in ("511599100201", "511599200201"):
                row = await db.fetch_one(select(G.name).where(G.code == code))
                assert row is not None
            names = [
                (await db.fetch_one(select(G.name).where(G.code == c)))
                for c in ("511599100201", "511599200201")
            ]
            assert [n[0] for n in names if n] == ["青山村", "石门村"]
        finally:
            await db.close()

    asyncio.run(run())
