"""Region queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, insert, select

from gateway.pagination import doc_page
from schemas.models import Region
from schemas.regions import prefix_range, region_prefix
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import RegionRow

G = table_of(RegionRow).c
_BY_CODE = select(G.doc).where(G.code == bindparam("code"))


async def list_docs(
    db: ReadStore, *, within: str | None, level: str | None, after: str | None, limit: int
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
    return await doc_page(db, stmt, G.code, after=after, limit=limit)


async def get_doc(db: ReadStore, code: str) -> str | None:
    """Return one region document, or None."""
    row = await db.fetch_one(_BY_CODE, {"code": code})
    return row[0] if row else None


def insert_regions(conn: Connection, regions: Iterable[Region]) -> None:
    """Insert regions straight into a store seeded outside a sync (the federation demo, the benchmarks)."""
    conn.execute(
        insert(RegionRow),
        [
            {
                "code": r.code,
                "name": r.name,
                "level": r.level.value,
                "parent_code": r.parent_code,
                "doc": r.model_dump_json(),
            }
            for r in regions
        ],
    )
