"""Household queries."""

from __future__ import annotations

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.tables import HouseholdRow, ResidentRow

H = HouseholdRow.__table__.c  # type: ignore[attr-defined]
R = ResidentRow.__table__.c  # type: ignore[attr-defined]


async def get_household(conn: AsyncConnection, household_id: str) -> dict[str, object] | None:
    """Return a household with its members (from their stored documents), or None."""
    row = (await conn.execute(select(H).where(H.id == household_id))).one_or_none()
    if row is None:
        return None
    docs = (await conn.execute(select(R.doc).where(R.household_id == household_id).order_by(R.id))).scalars()
    members = []
    for doc in docs:
        r = orjson.loads(doc)
        members.append(
            {
                "resident_id": r["id"],
                "name": r.get("name"),
                "relation": r.get("relation"),
                "status": r["status"],
            }
        )
    return {
        "id": row.id,
        "household_no": row.household_no,
        "region_code": row.region_code,
        "head_resident_id": row.head_resident_id,
        "members": members,
    }
