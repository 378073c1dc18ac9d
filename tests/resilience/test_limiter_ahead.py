"""Rate-limit units reserved ahead: no request waits for the store write, and refusals stay exact."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import RateLimited
from gateway.policy.ratelimit import StoreLimiter
from store.engines import make_async_engine


async def _count(engine: AsyncEngine, key: str) -> int:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT count FROM rate_counter WHERE key = :k"), {"k": key})).first()
    return 0 if row is None else int(row[0])


def test_next_batch_is_reserved_before_the_bucket_runs_dry(sqlite_url: str) -> None:
    """With a quarter of a batch left, the next batch is in the store before any request needs it."""

    async def run() -> None:
        engine = make_async_engine(sqlite_url, pool_size=2)
        limiter = StoreLimiter(engine)
        try:
            for _ in range(14):  # batch of 20 (a fiftieth of 1000): 6 left, above a quarter
                await limiter.take("requests:a", n=1, limit=1000, period=3600)
            await asyncio.sleep(0.2)
            assert await _count(engine, "requests:a") == 20
            await limiter.take("requests:a", n=1, limit=1000, period=3600)  # 5 left: reserve ahead
            for _ in range(50):
                if await _count(engine, "requests:a") == 40:
                    break
                await asyncio.sleep(0.02)
            assert await _count(engine, "requests:a") == 40
            await limiter.close()  # gives back what was not spent
            assert await _count(engine, "requests:a") == 15
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_near_the_limit_nothing_is_reserved_ahead_and_refusals_are_exact(sqlite_url: str) -> None:
    """Two processes spend a limit of 200 to the last unit; the 201st is refused and counts nothing."""

    async def run() -> None:
        engine = make_async_engine(sqlite_url, pool_size=2)
        a, b = StoreLimiter(engine), StoreLimiter(engine)
        served = 0
        try:
            for limiter in (a, b, a, b):
                while True:
                    try:
                        await limiter.take("records:b", n=1, limit=200, period=3600)
                    except RateLimited:
                        break
                    served += 1
            assert served == 200
            assert await _count(engine, "records:b") == 200
        finally:
            await a.close()
            await b.close()
            await engine.dispose()

    asyncio.run(run())
