"""Change-log queries: rows after a position, and where the residents of enrolment changes lie."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import bindparam, select

from gateway.changes.visibility import LoggedChange, Placement
from gateway.store import ReadStore
from schemas.tables import ResidentRow
from schemas.tables_changes import ChangeRow

C = ChangeRow.__table__.c  # type: ignore[attr-defined]
R = ResidentRow.__table__.c  # type: ignore[attr-defined]

_AFTER = (
    select(
        C.seq,
        C.resource,
        C.record_id,
        C.change,
        C.event,
        C.fields,
        C.status,
        C.regions,
        C.tags,
        C.resident_id,
        C.changed_at,
    )
    .where(C.seq > bindparam("after"))
    .order_by(C.seq)
)
_RESIDENT = select(R.region_code, R.doc).where(R.id == bindparam("rid"))


async def changes_after(db: ReadStore, *, after: int, limit: int) -> list[LoggedChange]:
    """Return up to `limit` change-log rows after position `after`, in log order."""
    rows = await db.fetch_all(_AFTER.limit(limit), {"after": after})
    return [LoggedChange.from_row(r) for r in rows]


async def placements(db: ReadStore, resident_ids: Iterable[str]) -> dict[str, Placement]:
    """Return the region and tags of each resident still stored (one indexed read each)."""
    out: dict[str, Placement] = {}
    for rid in dict.fromkeys(resident_ids):
        row = await db.fetch_one(_RESIDENT, {"rid": rid})
        if row is not None:
            out[rid] = Placement(row[0], tuple(orjson.loads(row[1]).get("tags") or ()))
    return out
