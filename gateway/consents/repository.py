"""Consent queries, all on the async engine (assisted requests are human-paced, not the hot path)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.pagination import cut_page, keyset
from schemas.time import as_utc
from store.tables import table_of
from store.tables.consent import ConsentRow

C = table_of(ConsentRow)


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    d["evidence"] = orjson.loads(d["evidence"])
    d["guardian"] = orjson.loads(d["guardian"]) if d.get("guardian") else None
    for key in ("created_at", "revoked_at"):
        if d.get(key) is not None:
            d[key] = as_utc(d[key])  # RFC 3339 needs a zone
    return d


async def create(engine: AsyncEngine, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a consent; return it as stored."""
    guardian = values.get("guardian")
    vals = {
        **values,
        "evidence": orjson.dumps(values["evidence"]).decode(),
        "guardian": orjson.dumps(guardian).decode() if guardian else None,
    }
    async with engine.begin() as conn:
        await conn.execute(insert(C).values(**vals))
        row = (await conn.execute(select(C).where(C.c.id == values["id"]))).one()
    return _row(row)


async def get(engine: AsyncEngine, consent_id: str, *, agent_client_id: str) -> dict[str, Any] | None:
    """Return a consent the client recorded, or None (another client's answers the same as none)."""
    stmt = select(C).where(C.c.id == consent_id, C.c.agent_client_id == agent_client_id)
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return _row(row) if row else None


async def list_for(
    engine: AsyncEngine, *, agent_client_id: str, resident_id: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of the client's consents ordered by id, and the key to continue from."""
    stmt = select(C).where(C.c.agent_client_id == agent_client_id)
    if resident_id is not None:
        stmt = stmt.where(C.c.resident_id == resident_id)
    async with engine.connect() as conn:
        rows, last = cut_page(
            (await conn.execute(keyset(stmt, C.c.id, after=after, limit=limit))).all(), limit
        )
    return [_row(r) for r in rows], (last.id if last else None)


async def revoke(
    engine: AsyncEngine, consent_id: str, *, agent_client_id: str, by: str | None, reason: str
) -> bool:
    """Mark a consent revoked now; False when it is unknown to the client or already revoked."""
    async with engine.begin() as conn:
        done = await conn.execute(
            update(C)
            .where(C.c.id == consent_id, C.c.agent_client_id == agent_client_id, C.c.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC), revoked_by=by, revoked_reason=reason)
        )
    return bool(done.rowcount == 1)
