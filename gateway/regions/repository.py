"""Region queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.regions import prefix_range, region_prefix
from schemas.tables import RegionRow

G = RegionRow.__table__.c  # type: ignore[attr-defined]


async def list_docs(
    conn: AsyncConnection, *, within: str | None, level: str | None, after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Return regions ordered by code (optionally a subtree and a level), and the key to continue from."""
    stmt = select(G.code, G.doc)
    if within is not None:
        low, high = prefix_range(region_prefix(within))
        stmt = stmt.where(G.code >= low)
        if high is not None:
            stmt = stmt.where(G.code < high)
    if level is not None:
        stmt = stmt.where(G.level == level)
    if after is not None:
        stmt = stmt.where(G.code > after)
    rows = (await conn.execute(stmt.order_by(G.code).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [r.doc for r in rows], (rows[-1].code if more else None)


async def get_doc(conn: AsyncConnection, code: str) -> str | None:
    """Return one region document, or None."""
    return (await conn.execute(select(G.doc).where(G.code == code))).scalar_one_or_none()
