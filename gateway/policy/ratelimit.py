"""Rate limits and quotas shared across processes: fixed windows in the store, spent locally in batches.

The `limits` library has no SQL storage; a counter row per (key, window) upserted atomically
(INSERT .. ON CONFLICT DO UPDATE .. RETURNING, SQLite >= 3.35 and PostgreSQL) is enough. To keep the
hot path off the store, a process reserves a batch of tokens at once and spends them locally; the
cost is that up to one batch per process may go unused in a window (batches shrink as limits do).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import RateLimited

_UPSERT = text(
    "INSERT INTO rate_counter (key, win, count) VALUES (:key, :window, :n) "
    "ON CONFLICT (key, win) DO UPDATE SET count = rate_counter.count + excluded.count "
    "RETURNING count"
)
_PURGE = text("DELETE FROM rate_counter WHERE key = :key AND win < :window")
CN_OFFSET = 8 * 3600  # quotas reset at midnight China Standard Time


@dataclass(slots=True)
class _Bucket:
    window: int = -1
    tokens: int = 0
    seen: int = 0  # the store's count after our last reservation


class StoreLimiter:
    """Fixed-window counters in the store with local batches; one instance per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._buckets: dict[str, _Bucket] = {}
        self._lock = asyncio.Lock()

    async def _reserve(self, key: str, window: int, n: int, limit: int) -> tuple[int, int]:
        async with self._engine.begin() as conn:
            count = int((await conn.execute(_UPSERT, {"key": key, "window": window, "n": n})).scalar_one())
            if count == n:  # first reservation of a window: drop the key's old windows
                await conn.execute(_PURGE, {"key": key, "window": window})
        granted = max(0, min(n, limit - (count - n)))
        return granted, count

    async def take(self, key: str, *, n: int, limit: int, period: int, offset: int = 0) -> None:
        """Spend `n` units of `key` (limit per `period` seconds) or raise RateLimited with its headers."""
        now = time.time() + offset
        window = int(now // period)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.window != window:
            bucket = self._buckets[key] = _Bucket(window=window)
        if bucket.tokens >= n:
            bucket.tokens -= n
            return
        async with self._lock:
            need = n - bucket.tokens
            batch = max(need, limit // 50)
            granted, count = await self._reserve(key, window, batch, limit)
            bucket.seen = count
            if bucket.tokens + granted < n:
                bucket.tokens += granted
                reset = max(1, int((window + 1) * period - now + 0.999))
                raise RateLimited(
                    f"limit of {limit} per {period} s reached for {key.split(':', 1)[0]}",
                    headers={
                        "Retry-After": str(reset),
                        "RateLimit-Limit": str(limit),
                        "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(reset),
                        "RateLimit-Policy": f"{limit};w={period}",
                    },
                )
            bucket.tokens += granted - n

    async def spend_after(self, key: str, *, n: int, limit: int, period: int, offset: int = 0) -> None:
        """Count `n` units already served (a page may overshoot a quota by at most itself)."""
        if n <= 0:
            return
        with contextlib.suppress(RateLimited):  # served already; the next request is refused
            await self.take(key, n=n, limit=limit, period=period, offset=offset)


async def check_request(limiter: StoreLimiter, *, client_id: str, per_minute: int, per_day: int) -> None:
    """Spend one request of the client's minute and the first record of its daily quota."""
    await limiter.take(f"requests:{client_id}", n=1, limit=per_minute, period=60)
    # One record up front proves the quota is not exhausted; the rest of a page is counted after it.
    await limiter.take(f"records:{client_id}", n=1, limit=per_day, period=86400, offset=CN_OFFSET)


async def spend_records(limiter: StoreLimiter, *, client_id: str, n: int, per_day: int) -> None:
    """Count the records a response disclosed beyond the first (taken by check_request)."""
    await limiter.spend_after(f"records:{client_id}", n=n - 1, limit=per_day, period=86400, offset=CN_OFFSET)
