"""The shared rate counter under concurrent takers and process restarts (hypothesis drives both)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import RateLimited
from gateway.policy.ratelimit import StoreLimiter, batch_size
from store.engines import make_async_engine

LIMIT = 200
PERIOD = 3600
_keys = itertools.count()

# One step: (takers, units each) per live process run concurrently, and whether a process restarts after.
takers = st.lists(st.tuples(st.integers(0, 12), st.integers(1, 5)), min_size=1, max_size=3)
steps = st.lists(st.tuples(takers, st.sampled_from(["none", "graceful"])), min_size=1, max_size=8)
Plan = list[tuple[list[tuple[int, int]], str]]


async def _count(engine: AsyncEngine, key: str) -> int:
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT sum(count) FROM rate_counter WHERE key = :k"), {"k": key})
        ).one()
    return int(row[0] or 0)


async def _scenario(url: str, plan: Plan) -> None:
    engine = make_async_engine(url, pool_size=4)
    key = f"records:prop-{next(_keys)}"
    procs = [StoreLimiter(engine) for _ in range(3)]
    spent = 0

    async def taker(limiter: StoreLimiter, n: int) -> int:
        try:
            await limiter.take(key, n=n, limit=LIMIT, period=PERIOD)
        except RateLimited:
            return 0
        return n

    try:
        for group, restart in plan:
            jobs = [taker(procs[i], size) for i, (count, size) in enumerate(group) for _ in range(count)]
            spent += sum(await asyncio.gather(*jobs))
            counted = await _count(engine, key)
            # What was spent, plus at most one unspent batch per live process.
            assert spent <= LIMIT
            assert counted <= spent + len(procs) * batch_size(LIMIT, need=5), (counted, spent)
            if restart == "graceful":
                await procs[0].close()
                procs[0] = StoreLimiter(engine)
                assert await _count(engine, key) <= spent + (len(procs) - 1) * batch_size(LIMIT, need=5)
        # Spend until refused: a refusal adds nothing to the counter.
        for p in procs:
            while got := await taker(p, 1):
                spent += got
        assert spent == LIMIT
        before = await _count(engine, key)
        assert [await taker(p, 1) for p in procs] == [0, 0, 0]
        assert await _count(engine, key) == before
        for p in procs:
            await p.close()
        assert await _count(engine, key) == spent
    finally:
        await engine.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_counter_never_exceeds_spent_plus_one_batch_per_process(sqlite_url: str, plan: Plan) -> None:
    """Concurrent takers in three processes, graceful restarts: the counter tracks what was spent."""
    asyncio.run(_scenario(sqlite_url, plan))


@pytest.mark.backends
@pytest.mark.parametrize("restarts", [3])
def test_restarts_under_concurrent_reads_do_not_lock_the_client_out(store_url: str, restarts: int) -> None:
    """The issue's run: 24 concurrent reads, three restarts; the client is never locked out."""

    async def run() -> None:
        engine = make_async_engine(store_url, pool_size=4)
        key = f"records:restart-{next(_keys)}"
        limit = 200_000
        served = 0
        try:
            for _ in range(restarts + 1):
                limiter = StoreLimiter(engine)
                await asyncio.gather(*(limiter.take(key, n=1, limit=limit, period=86400) for _ in range(24)))
                served += 24
                await limiter.close()
            counted = await _count(engine, key)
            assert counted == served, (counted, served)
        finally:
            await engine.dispose()

    asyncio.run(run())
