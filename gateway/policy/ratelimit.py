"""Rate limits and quotas shared across processes: fixed windows in the store, spent locally in batches.

A counter row per (key, window) holds what the processes reserved. To keep the hot path off the
store, a process reserves a batch of units at once and spends them locally. Three rules keep the
shared counter honest under concurrency and restarts:

- a reservation is all-or-nothing and made atomically (`ON CONFLICT DO UPDATE .. WHERE`), so a
  refused reservation adds nothing and a counter never passes its limit;
- the local bucket is re-checked inside the lock, so waiters spend what the first one reserved
  instead of each reserving a batch of their own;
- what a process reserved and did not spend is given back at shutdown (`close`).

The next batch is reserved ahead, in the background, once a quarter of the current one is left:
requests spend what is there and no request waits for the store write (on SQLite, a write that may
wait for the database lock behind the audit log's commit). A request waits only when the bucket is
empty, as before, and near the limit (less than a batch left) nothing is reserved ahead, so refusals
stay exact. At most a batch and a quarter per live process (or per process killed without shutdown)
is counted unspent. Store errors surface as StoreUnavailable (503 with Retry-After), never as a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import RateLimited
from gateway.resilience import store_errors
from schemas.time import CHINA_OFFSET_SECONDS  # quotas reset at midnight China Standard Time
from store.statements import RowInsert
from store.tables import table_of
from store.tables.policy import RateCounterRow

log = logging.getLogger(__name__)
AHEAD_MIN_BATCH = 4  # smaller batches (limits under 200 a window) are reserved on demand only

# The WHERE refuses a reservation that would pass the limit: no row is returned and nothing is added.
_RESERVE = RowInsert(
    table_of(RateCounterRow),
    ("key", "win", "count"),
    update_on=("key", "win"),
    also=lambda rc, new: {"count": rc.c["count"] + new["count"]},
    where=lambda rc, new: rc.c["count"] + new["count"] <= bindparam("limit"),
    returning=("count",),
    binds=("limit",),
)
_READ = text("SELECT count FROM rate_counter WHERE key = :key AND win = :window")
_READ_TWO = text("SELECT win, count FROM rate_counter WHERE key = :key AND win >= :prev")
_RELEASE = text(
    "UPDATE rate_counter SET count = count - :n WHERE key = :key AND win = :window AND count >= :n"
)
# The previous window stays: sliding-window readers weigh it.
_PURGE = text("DELETE FROM rate_counter WHERE key = :key AND win < :window - 1")


def batch_size(limit: int, *, need: int) -> int:
    """Return how many units a process reserves at once: a fiftieth of the limit, at least `need`."""
    return max(need, limit // 50)


@dataclass(slots=True)
class _Bucket:
    window: int = -1
    tokens: int = 0
    seen: int = 0  # the store's count after our last reservation


@dataclass(frozen=True, slots=True)
class Usage:
    """What is left of one limit after a request (for the RateLimit headers)."""

    limit: int
    remaining: int
    reset: int
    period: int


class StoreLimiter:
    """Fixed-window counters in the store with local batches; one instance per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._buckets: dict[str, _Bucket] = {}
        self._lock = asyncio.Lock()
        self._ahead: dict[str, asyncio.Task[None]] = {}

    async def _reserve(self, key: str, window: int, n: int, limit: int) -> int | None:
        """Add `n` to the shared counter if it stays within `limit`; return the new count or None."""
        if n > limit:
            return None
        with store_errors("the rate limiter"):
            async with self._engine.begin() as conn:
                binds = {"key": key, "win": window, "count": n, "limit": limit}
                row = (await conn.execute(_RESERVE.core(conn.dialect.name), binds)).first()
                if row is not None and int(row[0]) == n:  # first reservation of a window: drop old ones
                    await conn.execute(_PURGE, {"key": key, "window": window})
        return None if row is None else int(row[0])

    async def _read(self, key: str, window: int) -> int:
        with store_errors("the rate limiter"):
            async with self._engine.connect() as conn:
                row = (await conn.execute(_READ, {"key": key, "window": window})).first()
        return 0 if row is None else int(row[0])

    def _bucket(self, key: str, window: int) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.window != window:
            bucket = self._buckets[key] = _Bucket(window=window)
        return bucket

    async def take(self, key: str, *, n: int, limit: int, period: int, offset: int = 0) -> Usage:
        """Spend `n` units of `key` (limit per `period` seconds) or raise RateLimited with its headers."""
        now = time.time() + offset
        window = int(now // period)
        reset = max(1, int((window + 1) * period - now + 0.999))
        bucket = self._bucket(key, window)
        if bucket.tokens < n:
            async with self._lock:
                bucket = self._bucket(key, window)
                if bucket.tokens < n:  # re-checked: another waiter may have reserved enough meanwhile
                    await self._refill(bucket, key=key, n=n, limit=limit, reset=reset, period=period)
        bucket.tokens -= n
        self._maybe_ahead(key, bucket, limit=limit)
        return Usage(
            limit=limit, remaining=max(0, limit - bucket.seen + bucket.tokens), reset=reset, period=period
        )

    def _maybe_ahead(self, key: str, bucket: _Bucket, *, limit: int) -> None:
        """Start reserving the next batch in the background when a quarter of this one is left."""
        size = batch_size(limit, need=1)
        if size < AHEAD_MIN_BATCH or bucket.tokens > size // 4 or key in self._ahead:
            return
        if limit - bucket.seen < size:  # the window is nearly spent: reserve on demand, refuse exactly
            return
        self._ahead[key] = asyncio.get_running_loop().create_task(
            self._reserve_ahead(key, bucket.window, size, limit)
        )

    async def _reserve_ahead(self, key: str, window: int, size: int, limit: int) -> None:
        try:
            async with self._lock:
                bucket = self._buckets.get(key)
                if bucket is None or bucket.window != window or bucket.tokens > size // 4:
                    return  # a new window, or a waiter refilled it meanwhile
                count = await self._reserve(key, window, size, limit)
                if count is not None:
                    bucket.tokens += size
                    bucket.seen = count
        except Exception as exc:
            # Nothing was reserved: the next request that finds the bucket empty reserves (or says 503).
            log.warning("reserving rate-limit units ahead failed: %s", exc)
        finally:
            self._ahead.pop(key, None)

    async def _refill(
        self, bucket: _Bucket, *, key: str, n: int, limit: int, reset: int, period: int
    ) -> None:
        need = n - bucket.tokens
        room = max(need, limit - bucket.seen)  # the last count seen: a batch that surely fails is not tried
        for size in dict.fromkeys((min(batch_size(limit, need=need), room), need)):
            count = await self._reserve(key, bucket.window, size, limit)
            if count is not None:
                bucket.tokens += size
                bucket.seen = count
                return
        bucket.seen = await self._read(key, bucket.window)
        raise RateLimited(
            f"limit of {limit} per {period} s reached for {key.split(':', 1)[0]}",
            headers=usage_headers(Usage(limit=limit, remaining=0, reset=reset, period=period))
            | {"Retry-After": str(reset)},
        )

    async def used(self, key: str, *, period: int) -> float:
        """Return the sliding-window count of `key` (the `limits` SlidingWindowCounter estimate).

        The previous window's count weighs by the share of it still inside the last `period`
        seconds, so a burst just before a window ends still counts just after it.
        """
        now = time.time()
        window = int(now // period)
        with store_errors("the rate limiter"):
            async with self._engine.connect() as conn:
                rows = (await conn.execute(_READ_TWO, {"key": key, "prev": window - 1})).all()
        counts = {int(w): int(c) for w, c in rows}
        elapsed = (now - window * period) / period
        return counts.get(window - 1, 0) * (1 - elapsed) + counts.get(window, 0)

    async def used_now(self, key: str, *, period: int, offset: int = 0) -> int:
        """Return what the shared counter of `key` holds for the current window (exact, from the store)."""
        return await self._read(key, int((time.time() + offset) // period))

    @staticmethod
    def reset_in(period: int, *, offset: int = 0) -> int:
        """Return the seconds until the current window of `period` ends."""
        now = time.time() + offset
        return max(1, int((int(now // period) + 1) * period - now + 0.999))

    async def spend_after(self, key: str, *, n: int, limit: int, period: int, offset: int = 0) -> None:
        """Count `n` units already served (a page may overshoot a quota by at most itself)."""
        if n <= 0:
            return
        try:
            await self.take(key, n=n, limit=limit, period=period, offset=offset)
        except RateLimited:
            # Served already: count what is left of the window, so the next request is refused.
            bucket = self._buckets[key]
            bucket.tokens = 0
            with contextlib.suppress(RateLimited):
                await self.take(key, n=max(1, limit - bucket.seen), limit=limit, period=period, offset=offset)

    async def close(self) -> None:
        """Give back what this process reserved and did not spend (graceful shutdown)."""
        for task in list(self._ahead.values()):  # before the lock: they take it
            with contextlib.suppress(Exception):
                await task
        async with self._lock:
            unspent = [(k, b) for k, b in self._buckets.items() if b.tokens > 0]
            self._buckets.clear()
            if not unspent:
                return
            with contextlib.suppress(Exception):  # a store outage at exit: the window ends anyway
                async with self._engine.begin() as conn:
                    for key, bucket in unspent:
                        await conn.execute(
                            _RELEASE, {"key": key, "window": bucket.window, "n": bucket.tokens}
                        )


def usage_headers(usage: Usage) -> dict[str, str]:
    """Return the RateLimit and RateLimit-Policy headers (IETF draft-ietf-httpapi-ratelimit-headers)."""
    return {
        "RateLimit": f"limit={usage.limit}, remaining={usage.remaining}, reset={usage.reset}",
        "RateLimit-Limit": str(usage.limit),
        "RateLimit-Remaining": str(usage.remaining),
        "RateLimit-Reset": str(usage.reset),
        "RateLimit-Policy": f"{usage.limit};w={usage.period}",
    }


async def check_request(limiter: StoreLimiter, *, client_id: str, per_day: int) -> Usage:
    """Spend the first record of the client's daily quota (its request was counted at authentication)."""
    # One record up front proves the quota is not exhausted; the rest of a page is counted after it.
    return await limiter.take(
        f"records:{client_id}", n=1, limit=per_day, period=86400, offset=CHINA_OFFSET_SECONDS
    )


async def spend_records(limiter: StoreLimiter, *, client_id: str, n: int, per_day: int) -> None:
    """Count the records a response disclosed beyond the first (taken by check_request)."""
    await limiter.spend_after(
        f"records:{client_id}", n=n - 1, limit=per_day, period=86400, offset=CHINA_OFFSET_SECONDS
    )
