"""Enrolment queries: one indexed statement joined to the resident, whose row scopes apply in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select

from gateway.pagination import cut_page, keyset
from gateway.residents.repository import R, _in_subtree, within
from policies.decision import RowScope
from schemas.regions import region_prefix
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import EnrollmentRow, ResidentRow

E = table_of(EnrollmentRow).c


@dataclass(frozen=True, slots=True)
class EnrollmentFilter:
    """Filters of an enrolment listing, and the row scopes of the caller (None: every row)."""

    region: str | None = None
    kind: str | None = None
    status: str | None = None
    resident_id: str | None = None
    enrollment_id: str | None = None
    updated_since: dt.datetime | None = None
    # The enrolments' scopes (an enrolment lies in its resident's region: catalogue `resident_region`)
    # and the residents' (an enrolment is shown only with a readable resident): both test the joined
    # resident row, so each grant's regions bound the rows it gives.
    policy_scopes: tuple[tuple[RowScope, ...] | None, ...] = ()


@dataclass(frozen=True, slots=True)
class EnrollmentPage:
    """One page of enrolments: ids, stored documents, their residents' regions, the key to go on from."""

    ids: list[str]
    docs: list[str]
    regions: list[str | None]
    last: str | None


def list_query(
    flt: EnrollmentFilter, *, after: str | None, limit: int
) -> Select[tuple[str, str, str | None]]:
    """Build the keyset-paginated listing (ordered by the immutable id: no duplicates, no gaps)."""
    stmt = select(E.id, E.doc, R.region_code).join(table_of(ResidentRow), R.id == E.resident_id)
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
    for scopes in dict.fromkeys(flt.policy_scopes):  # equal scopes (the usual [client] grants) once
        stmt = within(stmt, scopes)
    return keyset(stmt, E.id, after=after, limit=limit)


async def list_docs(db: ReadStore, flt: EnrollmentFilter, *, after: str | None, limit: int) -> EnrollmentPage:
    """Return up to `limit` enrolments after `after`, with their residents' regions."""
    rows, last = cut_page(await db.fetch_all(list_query(flt, after=after, limit=limit)), limit)
    return EnrollmentPage(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], last[0] if last else None
    )
