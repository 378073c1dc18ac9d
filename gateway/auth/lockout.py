"""Locks after failed human sign-ins: 5 failures of an account, or from an address, lock it for 15 minutes.

MLPS 2.0 level 3 (GB/T 22239-2019 §8.1.4.1) asks for login-failure handling. The account is the one
claimed in the form, whether it exists or not, so a lock tells nothing about which accounts exist.
The state is in the store (`signin_lock`), so every replica honours a lock set by another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.time import as_utc
from store.tables import table_of
from store.tables.auth import SignInLockRow

LOCKS = table_of(SignInLockRow)
MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)  # failures older than this are forgotten
LOCK_FOR = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Locked:
    """Which of the keys are locked, and until when (the latest of their locks)."""

    keys: tuple[str, ...]
    until: dt.datetime

    def retry_after(self, now: dt.datetime) -> int:
        """Return the seconds until the lock lifts (for Retry-After)."""
        return max(1, int((self.until - now).total_seconds() + 0.999))


def keys_of(*, account: str, address: str) -> tuple[str, str]:
    """Return the lock keys of a sign-in: the claimed account and the source address."""
    return f"account:{account[:128]}", f"address:{address[:64]}"


def _locked(rows: Sequence[tuple[str, dt.datetime | None]], now: dt.datetime) -> Locked | None:
    held = [(k, as_utc(u)) for k, u in rows if u is not None and as_utc(u) > now]
    if not held:
        return None
    return Locked(keys=tuple(k for k, _ in held), until=max(u for _, u in held))


async def locked(engine: AsyncEngine, keys: Sequence[str], *, now: dt.datetime) -> Locked | None:
    """Return the locks in force on any of `keys`, or None."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(LOCKS.c.key, LOCKS.c.locked_until).where(LOCKS.c.key.in_(keys)))
        ).all()
    return _locked([(r[0], r[1]) for r in rows], now)


async def _count(conn: AsyncConnection, key: str, now: dt.datetime) -> dt.datetime | None:
    """Count one failure of `key`; return the lock's end when this failure locks it."""
    row = (await conn.execute(select(LOCKS).where(LOCKS.c.key == key))).mappings().first()
    if row is None:
        await conn.execute(
            LOCKS.insert().values(key=key, failures=1, first_failure_at=now, locked_until=None)
        )
        return None
    stale = now - as_utc(row["first_failure_at"]) > WINDOW or row["locked_until"] is not None
    failures = 1 if stale else int(row["failures"]) + 1
    until = now + LOCK_FOR if failures >= MAX_FAILURES else None
    await conn.execute(
        update(LOCKS)
        .where(LOCKS.c.key == key)
        .values(
            failures=failures,
            first_failure_at=now if stale else row["first_failure_at"],
            locked_until=until,
        )
    )
    return until


async def fail(engine: AsyncEngine, keys: Sequence[str], *, now: dt.datetime) -> Locked | None:
    """Count a failed sign-in against every key; return the locks this failure set, or None."""
    newly: list[tuple[str, dt.datetime | None]] = []
    for key in keys:
        for _ in range(2):  # a concurrent first failure may insert the row between our read and insert
            try:
                async with engine.begin() as conn:
                    newly.append((key, await _count(conn, key, now)))
                break
            except IntegrityError:
                continue
    return _locked(newly, now - dt.timedelta(microseconds=1))


async def clear(engine: AsyncEngine, key: str) -> None:
    """Forget the failures of `key` (a successful sign-in of the account)."""
    async with engine.begin() as conn:
        await conn.execute(delete(LOCKS).where(LOCKS.c.key == key))
