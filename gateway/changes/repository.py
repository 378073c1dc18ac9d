"""Change-log queries: rows after a position (pre-filtered by the viewer's resident scopes), the log's
head, and where the residents of enrolment changes lie."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import orjson
from sqlalchemy import ColumnElement, and_, bindparam, false, func, or_, select, true

from gateway.changes.visibility import LoggedChange, Placement
from policies.decision import Decision
from schemas.regions import prefix_range
from store.read import ReadStore
from store.tables import table_of
from store.tables.changes import ChangeRow
from store.tables.records import ResidentRow

C = table_of(ChangeRow).c
R = table_of(ResidentRow).c

_COLUMNS = (
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
_HEAD = select(func.coalesce(func.max(C.seq), 0))
_RESIDENT = select(R.region_code, R.doc).where(R.id == bindparam("rid"))


def _resident_rows(decision: Decision) -> ColumnElement[bool]:
    """Return the condition a resident change lies in the decision's row scopes (tags checked later)."""
    if decision.scopes is None or any(s.prefixes is None for s in decision.scopes):
        return true()
    parts: list[ColumnElement[bool]] = []
    for scope in decision.scopes:
        for prefix in scope.prefixes or ():
            low, high = prefix_range(prefix)
            parts.append(C.regions >= low if high is None else and_(C.regions >= low, C.regions < high))
        if scope.unplaced:
            parts.append(C.regions.is_(None))
    return or_(*parts) if parts else false()


def visible_clause(
    decisions: Mapping[str, Decision], *, events: Collection[str] | None = None, quarantine: bool = False
) -> ColumnElement[bool]:
    """Return a WHERE clause dropping, in SQL, rows a viewer never sees (its rows, resources, events)."""
    kinds: list[ColumnElement[bool]] = []
    resident = decisions.get("resident")
    if resident is not None:
        kinds.append(and_(C.resource == "resident", _resident_rows(resident)))
    if "enrollment" in decisions and resident is not None:
        kinds.append(C.resource == "enrollment")  # placed by its resident's current row, in Python
    if "notice" in decisions:
        kinds.append(C.resource == "notice")
    if "alert" in decisions:
        kinds.append(and_(C.resource == "alert", _resident_rows(decisions["alert"])))
    if quarantine:
        kinds.append(C.resource == "quarantine")  # its source checked in Python (Viewer.show)
    clause = or_(*kinds) if kinds else false()
    if events is not None:
        # Equalities, not IN (list): one statement shape per number of events, compiled once.
        clause = and_(clause, or_(*(C.event == e for e in sorted(events))) if events else false())
    return clause


async def head(db: ReadStore) -> int:
    """Return the last position of the log (0 when empty)."""
    row = await db.fetch_one(_HEAD)
    return int(row[0]) if row else 0


async def changes_after(
    db: ReadStore, *, after: int, upto: int, limit: int, where: ColumnElement[bool]
) -> list[LoggedChange]:
    """Return up to `limit` rows in (after, upto] matching `where`, in log order."""
    stmt = (
        select(*_COLUMNS)
        .where(C.seq > bindparam("after"), C.seq <= bindparam("upto"), where)
        .order_by(C.seq)
        .limit(limit)
    )
    rows = await db.fetch_all(stmt, {"after": after, "upto": upto})
    return [LoggedChange.from_row(r) for r in rows]


async def placements(db: ReadStore, resident_ids: Iterable[str]) -> dict[str, Placement]:
    """Return the region and tags of each resident still stored (one indexed read each)."""
    out: dict[str, Placement] = {}
    for rid in dict.fromkeys(resident_ids):
        row = await db.fetch_one(_RESIDENT, {"rid": rid})
        if row is not None:
            out[rid] = Placement(row[0], tuple(orjson.loads(row[1]).get("tags") or ()))
    return out
