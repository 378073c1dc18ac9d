"""Public service item queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.tables import ServiceRow

S = ServiceRow.__table__.c  # type: ignore[attr-defined]


async def list_docs(
    conn: AsyncConnection, *, department: str | None, active: bool | None, after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Return a page of service documents ordered by id, and the key to continue from."""
    stmt = select(S.id, S.doc)
    if department is not None:
        stmt = stmt.where(S.department == department)
    if active is not None:
        stmt = stmt.where(S.active == active)
    if after is not None:
        stmt = stmt.where(S.id > after)
    rows = (await conn.execute(stmt.order_by(S.id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [r.doc for r in rows], (rows[-1].id if more else None)


async def get_doc(conn: AsyncConnection, service_id: str) -> str | None:
    """Return one service document, or None."""
    return (await conn.execute(select(S.doc).where(S.id == service_id))).scalar_one_or_none()
