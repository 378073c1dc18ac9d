"""Household queries."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import bindparam, select

from store.read import ReadStore
from store.tables import table_of
from store.tables.records import HouseholdRow, ResidentRow

H = table_of(HouseholdRow).c
R = table_of(ResidentRow).c


_HOUSEHOLD = select(H.id, H.household_no, H.region_code, H.head_resident_id).where(H.id == bindparam("hid"))
_MEMBERS = select(R.doc).where(R.household_id == bindparam("hid")).order_by(R.id)


async def get_household(
    db: ReadStore, household_id: str, *, reaches: Callable[[str | None], bool]
) -> dict[str, object] | None:
    """Return a household with the members whose region `reaches` accepts (the caller's rows), or None."""
    row = await db.fetch_one(_HOUSEHOLD, {"hid": household_id})
    if row is None:
        return None
    members = []
    for (doc,) in await db.fetch_all(_MEMBERS, {"hid": household_id}):
        r = orjson.loads(doc)
        if not reaches(r.get("region_code")):
            continue  # a member outside the caller's rows is not listed (GET /v1/residents/{id}: 404)
        members.append(
            {
                "resident_id": r["id"],
                "name": r.get("name"),
                "relation": r.get("relation"),
                "status": r["status"],
            }
        )
    return {
        "id": row[0],
        "household_no": row[1],
        "region_code": row[2],
        "head_resident_id": row[3],
        "members": members,
    }
