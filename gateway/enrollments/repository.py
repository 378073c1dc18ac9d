"""Enrolment queries: one indexed statement joined to the resident, whose row scopes apply in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, false, select

from gateway.pagination import cut_page, keyset
from gateway.residents.repository import R, _in_subtree, policy_clause
from policies.decide import RowScope
from schemas.regions import region_prefix
from store.read import ReadStore
from store.tables.records import EnrollmentRow, ResidentRow

E = EnrollmentRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EnrollmentFilter:
    """Filters of an enrolment listing, and the row scopes of the caller (None: every row)."""

    region: str | None = None
    kind: str | None = None
    status: str | None = None
    resident_id: str | None = None
    enrollment_id: str | None = None
    updated_since: dt.datetime | None = None
    # Both the enrolments' and the residents' scopes: an enrolment is shown only with a readable resident.
    policy_scopes: tuple[tuple[RowScope, ...] | None, ...] = ()


def list_query(flt: EnrollmentFilter, *, after: str | None, limit: int) -> Select[tuple[str, str]]:
    """Build the keyset-paginated listing (ordered by the immutable id: no duplicates, no gaps)."""
    stmt = select(E.id, E.doc).join(ResidentRow.__table__, R.id == E.resident_id)  # type: ignore[attr-defined]
    if flt.region is not None:
        stmt = stmt.where(_in_subtree(region_prefix(flt.region)))
    if flt.kind is not None:
        stmt = stmt.where(E.kind == flt.kind)
    if flt.status is not None:
        stmt = stmt.where(E.status == flt.status)
    if flt.resident_id is not None:
        stmt = stmt.where(E.resident_id == flt.resident_id)
    if flt.enrollment_id is not None:
        stmt = stmt.where(E.id == flt.enrollment_id)
    if flt.updated_since is not None:
        stmt = stmt.where(E.updated_at >= flt.updated_since.astimezone(dt.UTC))
    for scopes in flt.policy_scopes:
        if scopes is None:
            continue
        clause = policy_clause(scopes) if scopes else false()
        if clause is not None:
            stmt = stmt.where(clause)
    return keyset(stmt, E.id, after=after, limit=limit)


async def list_docs(
    db: ReadStore, flt: EnrollmentFilter, *, after: str | None, limit: int
) -> tuple[list[str], list[str], str | None]:
    """Return ids and documents of up to `limit` enrolments after `after`, and the key to continue from."""
    rows, last = cut_page(await db.fetch_all(list_query(flt, after=after, limit=limit)), limit)
    return [r[0] for r in rows], [r[1] for r in rows], (last[0] if last else None)
