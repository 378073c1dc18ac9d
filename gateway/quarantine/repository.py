"""Quarantine queries on the async engine (operators' pace, not the hot path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.pagination import cut_page, keyset
from schemas.time import as_utc
from store.bulk import PG_LOCK_KEY
from store.changes import QUARANTINE_RESOLVED
from store.statements import RowInsert
from store.tables import table_of
from store.tables.changes import ChangeRow
from store.tables.records import QuarantineRow, RegionRow, SyncDirtyRow

Q = table_of(QuarantineRow)
_MARK_DIRTY = RowInsert(table_of(SyncDirtyRow), ("key",), skip_on=("key",))


@dataclass(frozen=True, slots=True)
class QuarantineFilter:
    """Filters of a quarantine listing."""

    sources: tuple[str, ...]  # the caller's reach: never empty (a caller reaching none gets nothing)
    source: str | None = None
    reason: str | None = None
    seen_before: dt.datetime | None = None  # first held back before this (the age filter)
    state: str = "open"  # open | closed | all


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    for key in ("first_seen", "last_seen", "released_at"):
        if d.get(key) is not None:
            d[key] = as_utc(d[key])
    return d


def _where(flt: QuarantineFilter) -> list[Any]:
    where: list[Any] = [Q.c.source.in_(flt.sources)]
    if flt.source is not None:
        where.append(Q.c.source == flt.source)
    if flt.reason is not None:
        where.append(Q.c.reason == flt.reason)
    if flt.seen_before is not None:
        where.append(Q.c.first_seen < flt.seen_before)
    if flt.state == "open":
        where.append(Q.c.released_at.is_(None))
    elif flt.state == "closed":
        where.append(Q.c.released_at.is_not(None))
    return where


async def page(
    engine: AsyncEngine, flt: QuarantineFilter, *, after: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Return up to `limit` rows after id `after` (id order: stable), and the id to continue from."""
    stmt = select(Q).where(*_where(flt))
    async with engine.connect() as conn:
        found = (await conn.execute(keyset(stmt, Q.c.id, after=after, limit=limit))).all()
    rows, last = cut_page(found, limit)
    items = [_row(r) for r in rows]
    return items, (items[-1]["id"] if last else None)


async def get(engine: AsyncEngine, record_id: int, *, sources: tuple[str, ...]) -> dict[str, Any] | None:
    """Return one row of a source the caller reaches, or None."""
    stmt = select(Q).where(Q.c.id == record_id, Q.c.source.in_(sources))
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return _row(row) if row is not None else None


async def decide(
    engine: AsyncEngine, record_id: int, *, values: dict[str, Any], note: str, action: str, now: dt.datetime
) -> dict[str, Any] | None:
    """Apply a steward's decision to an open row and log it in the change feed; None when not open."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Change-log rows commit in seq order under the sync write lock (store/changes.py).
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        done = await conn.execute(
            update(Q)
            .where(Q.c.id == record_id, Q.c.released_at.is_(None))
            .values(message=Q.c.message + note, **values)
        )
        if done.rowcount == 0:
            return None
        row = _row((await conn.execute(select(Q).where(Q.c.id == record_id))).one())
        await conn.execute(
            insert(table_of(ChangeRow)).values(
                resource="quarantine",
                record_id=str(record_id),
                change="updated",
                event=QUARANTINE_RESOLVED,
                # The source stands in `fields`: the feed shows the entry to that source's stewards only.
                fields=orjson.dumps([row["source"]]).decode(),
                status=action,
                changed_at=now,
            )
        )
    return row


async def village_name(engine: AsyncEngine, code: str) -> str | None:
    """Return the name of a village of the gazetteer, or None when the code is no village."""
    g = table_of(RegionRow).c
    stmt = select(g.name).where(g.code == code, g.level == "village")
    async with engine.connect() as conn:
        return (await conn.execute(stmt)).scalar_one_or_none()


async def counts(engine: AsyncEngine, source: str) -> list[tuple[str, str, str | None, int]]:
    """Return (reason, first-seen day, resolution, count) of a source's rows, for quality feedback."""
    day = func.substr(func.cast(Q.c.first_seen, Q.c.reason.type), 1, 10)
    stmt = (
        select(Q.c.reason, day, Q.c.resolution, func.count())
        .where(Q.c.source == source)
        .group_by(Q.c.reason, day, Q.c.resolution)
        .order_by(day, Q.c.reason)
    )
    async with engine.connect() as conn:
        return [(r[0], str(r[1]), r[2], int(r[3])) for r in (await conn.execute(stmt)).all()]


async def for_source(engine: AsyncEngine, source: str, *, state: str, limit: int) -> list[dict[str, Any]]:
    """Return a source's open rows (to correct) or released ones (corrected), newest first."""
    where = [Q.c.source == source]
    if state == "open":
        where.append(Q.c.released_at.is_(None))
    else:
        where.append(Q.c.resolution == "released")
    stmt = select(Q).where(*where).order_by(Q.c.last_seen.desc(), Q.c.id.desc()).limit(limit)
    async with engine.connect() as conn:
        return [_row(r) for r in (await conn.execute(stmt)).all()]


async def mark_dirty(engine: AsyncEngine, resident_id: str) -> None:
    """Ask the next sync's refresh to recompute a resident (a steward's decision changed its records)."""
    async with engine.begin() as conn:
        await conn.execute(_MARK_DIRTY.core(conn.dialect.name), {"key": resident_id})
