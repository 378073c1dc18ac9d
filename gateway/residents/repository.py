"""Resident queries: every access path is one indexed statement returning stored documents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select

from gateway.store import ReadStore
from schemas.codes import ResidentStatus, Tag
from schemas.regions import prefix_range, region_prefix
from schemas.tables import ResidentRow, ResidentTagRow

R = ResidentRow.__table__.c  # type: ignore[attr-defined]
T = ResidentTagRow.__table__.c  # type: ignore[attr-defined]

_BY_ID = select(R.doc).where(R.id == bindparam("rid"))
_BY_NATIONAL_ID = select(R.id, R.doc).where(R.national_id == bindparam("nid"))


@dataclass(frozen=True, slots=True)
class ResidentFilter:
    """Filters of a resident listing; row restrictions from policy are added to the same query."""

    region: str | None = None
    tag: Tag | None = None
    status: ResidentStatus | None = None
    household_id: str | None = None
    updated_since: dt.datetime | None = None


async def get_doc(db: ReadStore, resident_id: str) -> str | None:
    """Return the stored document of one resident, or None."""
    row = await db.fetch_one(_BY_ID, {"rid": resident_id})
    return row[0] if row else None


async def get_by_national_id(db: ReadStore, national_id: str) -> tuple[str, str] | None:
    """Return (id, document) of the resident holding a citizen ID number, or None."""
    row = await db.fetch_one(_BY_NATIONAL_ID, {"nid": national_id})
    return (row[0], row[1]) if row else None


def list_query(flt: ResidentFilter, *, after: str | None, limit: int) -> Select[tuple[str, str]]:
    """Build the keyset-paginated listing query (ordered by the immutable id: no duplicates, no gaps)."""
    stmt = select(R.id, R.doc)
    if flt.tag is not None:
        stmt = stmt.join(ResidentTagRow.__table__, T.resident_id == R.id).where(T.tag == flt.tag.value)  # type: ignore[attr-defined]
    if flt.region is not None:
        low, high = prefix_range(region_prefix(flt.region))
        stmt = stmt.where(R.region_code >= low)
        if high is not None:
            stmt = stmt.where(R.region_code < high)
    if flt.status is not None:
        stmt = stmt.where(R.status == flt.status.value)
    if flt.household_id is not None:
        stmt = stmt.where(R.household_id == flt.household_id)
    if flt.updated_since is not None:
        # Stored in UTC; SQLite keeps no zone, so compare in UTC too.
        stmt = stmt.where(R.updated_at >= flt.updated_since.astimezone(dt.UTC))
    if after is not None:
        stmt = stmt.where(R.id > after)
    return stmt.order_by(R.id).limit(limit + 1)


async def list_docs(
    db: ReadStore, flt: ResidentFilter, *, after: str | None, limit: int
) -> tuple[list[str], list[str], str | None]:
    """Return ids and documents of up to `limit` residents after key `after`, and the key to continue from."""
    rows = await db.fetch_all(list_query(flt, after=after, limit=limit))
    more = len(rows) > limit
    rows = rows[:limit]
    return [r[0] for r in rows], [r[1] for r in rows], (rows[-1][0] if more else None)
