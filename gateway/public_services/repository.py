"""Public service item queries."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from gateway.pagination import doc_page
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
    return await doc_page(db, stmt, S.id, after=after, limit=limit)


async def get_doc(db: ReadStore, service_id: str) -> str | None:
    """Return one service document, or None."""
    row = await db.fetch_one(_BY_ID, {"sid": service_id})
    return row[0] if row else None
