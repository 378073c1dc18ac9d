"""Public service item queries."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from gateway.pagination import cut_page, keyset
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import ServiceRow

S = table_of(ServiceRow).c
_BY_ID = select(S.doc).where(S.id == bindparam("sid"))


async def list_docs(
    db: ReadStore, *, department: str | None, active: bool | None, after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Return a page of service documents ordered by id, and the key to continue from."""
    stmt = select(S.id, S.doc)
    if department is not None:
        stmt = stmt.where(S.department == department)
    if active is not None:
        stmt = stmt.where(S.active == active)
    rows, last = cut_page(await db.fetch_all(keyset(stmt, S.id, after=after, limit=limit)), limit)
    return [r[1] for r in rows], (last[0] if last else None)


async def get_doc(db: ReadStore, service_id: str) -> str | None:
    """Return one service document, or None."""
    row = await db.fetch_one(_BY_ID, {"sid": service_id})
    return row[0] if row else None
