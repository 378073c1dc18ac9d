"""Resident queries: every access path is one indexed statement returning stored documents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    literal_column,
    or_,
    select,
)

from gateway.pagination import cut_page, keyset
from policies.decision import RowScope
from schemas.codes import ResidentStatus, Tag
from schemas.regions import prefix_range, region_prefix
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import (
    EmploymentRow,
    MigrationRow,
    ResidentRow,
    ResidentSourceHistoryRow,
    ResidentSourceRow,
    ResidentTagRow,
)

R = table_of(ResidentRow).c
SelectT = TypeVar("SelectT", bound=Select[Any])
T = table_of(ResidentTagRow).c

_BY_ID = select(R.doc).where(R.id == bindparam("rid"))
_BY_NATIONAL_ID = select(R.id, R.doc).where(R.national_id == bindparam("nid"))
S = table_of(ResidentSourceRow).c
_SOURCES = (
    select(S.source, S.record_key, S.source_updated_at, S["values"])
    .where(S.resident_id == bindparam("rid"))
    .order_by(S.source, S.record_key)
)
H = table_of(ResidentSourceHistoryRow).c
_HISTORY = (
    select(H.source, H.record_key, H.source_updated_at, H["values"], H.withdrawn_at)
    .where(H.resident_id == bindparam("rid"))
    .order_by(H.withdrawn_at, H.id)
)


@dataclass(frozen=True, slots=True)
class ResidentFilter:
    """Filters of a resident listing; row restrictions from policy are added to the same query."""

    region: str | None = None
    tag: Tag | None = None
    status: ResidentStatus | None = None
    household_id: str | None = None
    updated_since: dt.datetime | None = None
    # From the access policy: rows outside every scope are never fetched (None: no restriction).
    policy_scopes: tuple[RowScope, ...] | None = None


# Prefixes this short are a county or wider: in a county's store their subtree is (nearly) every row.
_WIDE_PREFIX = 6


def _in_subtree(prefix: str) -> ColumnElement[bool]:
    """Return the condition `region_code` lies in the subtree of `prefix`."""
    low, high = prefix_range(prefix)
    column: ColumnElement[str] = R.region_code
    if len(prefix) <= _WIDE_PREFIX:
        # Walking the id order and filtering beats reading a county-wide subtree through the region
        # index and sorting it; SQLite has no range statistics to see that (bench, 100k residents:
        # 29 ms vs 0.7 ms per page of 50), so keep the index out of reach with a no-op `|| ''`.
        column = R.region_code.concat(literal_column("''"))
    return column >= low if high is None else and_(column >= low, column < high)


def _region_clause(prefixes: tuple[str, ...]) -> ColumnElement[bool]:
    parts = [_in_subtree(prefix) for prefix in prefixes]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _scope_clause(scope: RowScope) -> ColumnElement[bool] | None:
    parts: list[ColumnElement[bool]] = []
    if scope.resident is not None:
        # Assisted access (代办): the one resident of the consent, by primary key.
        parts.append(R.id == scope.resident)
    if scope.prefixes is not None:
        region = _region_clause(scope.prefixes) if scope.prefixes else false()
        parts.append(or_(region, R.region_code.is_(None)) if scope.unplaced else region)
    for tag in scope.tags:
        # Each required tag is an indexed semi-join on resident_tag (ix_resident_tag_tag_id).
        parts.append(R.id.in_(select(T.resident_id).where(T.tag == tag)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else and_(*parts)


@lru_cache(maxsize=1024)
def policy_clause(scopes: tuple[RowScope, ...]) -> ColumnElement[bool] | None:
    """Return the WHERE clause selecting rows inside any of the policy's scopes (None: every row).

    Cached per scopes (a decision's scopes are few and immutable, and so is a clause): building it
    per request cost a list page as much as reading its rows.
    """
    clauses = [_scope_clause(s) for s in scopes]
    if any(c is None for c in clauses):
        return None
    kept = [c for c in clauses if c is not None]
    return kept[0] if len(kept) == 1 else or_(*kept)


def within(stmt: SelectT, scopes: tuple[RowScope, ...] | None) -> SelectT:
    """Keep the rows of `stmt` whose resident row lies in `scopes` (None: every row; (): none)."""
    if scopes is None:
        return stmt
    clause = policy_clause(scopes) if scopes else false()
    return stmt if clause is None else stmt.where(clause)


async def get_doc(db: ReadStore, resident_id: str) -> str | None:
    """Return the stored document of one resident, or None."""
    row = await db.fetch_one(_BY_ID, {"rid": resident_id})
    return row[0] if row else None


async def get_by_national_id(db: ReadStore, national_id: str) -> tuple[str, str] | None:
    """Return (id, document) of the resident holding a citizen ID number, or None."""
    row = await db.fetch_one(_BY_NATIONAL_ID, {"nid": national_id})
    return (row[0], row[1]) if row else None


def list_query(
    flt: ResidentFilter, *, after: str | BindParameter[str] | None, limit: int
) -> Select[tuple[str, str]]:
    """Build the keyset-paginated listing query (ordered by the immutable id: no duplicates, no gaps)."""
    stmt = select(R.id, R.doc)
    if flt.tag is not None:
        stmt = stmt.join(table_of(ResidentTagRow), T.resident_id == R.id).where(T.tag == flt.tag.value)
    if flt.region is not None:
        stmt = stmt.where(_in_subtree(region_prefix(flt.region)))
    if flt.status is not None:
        stmt = stmt.where(R.status == flt.status.value)
    if flt.household_id is not None:
        stmt = stmt.where(R.household_id == flt.household_id)
    if flt.updated_since is not None:
        # Stored in UTC; SQLite keeps no zone, so compare in UTC too.
        stmt = stmt.where(R.updated_at >= flt.updated_since.astimezone(dt.UTC))
    if flt.policy_scopes is not None:
        clause = policy_clause(flt.policy_scopes)
        if clause is not None:
            stmt = stmt.where(clause)
    return keyset(stmt, R.id, after=after, limit=limit)


@lru_cache(maxsize=512)
def _page_query(flt: ResidentFilter, *, paged: bool, limit: int) -> Select[tuple[str, str]]:
    # Built once per filter (the cursor is a parameter): building and keying a statement with the
    # policy clause cost a page as much as reading its rows.
    after: BindParameter[str] = bindparam("after", type_=R.id.type)
    return list_query(flt, after=after if paged else None, limit=limit)


async def list_docs(
    db: ReadStore, flt: ResidentFilter, *, after: str | None, limit: int
) -> tuple[list[str], list[str], str | None]:
    """Return ids and documents of up to `limit` residents after key `after`, and the key to continue from."""
    stmt = _page_query(flt, paged=after is not None, limit=limit)
    rows, last = cut_page(await db.fetch_all(stmt, {"after": after} if after is not None else None), limit)
    return [r[0] for r in rows], [r[1] for r in rows], (last[0] if last else None)


async def source_rows(db: ReadStore, resident_id: str) -> list[tuple[str, str, dt.datetime | None, str]]:
    """Return (source, record_key, source_updated_at, values JSON) of every stored record of a resident."""
    return [(r[0], r[1], r[2], r[3]) for r in await db.fetch_all(_SOURCES, {"rid": resident_id})]


async def history_rows(
    db: ReadStore, resident_id: str
) -> list[tuple[str, str, dt.datetime | None, str, dt.datetime]]:
    """Return (source, record_key, source_updated_at, values JSON, withdrawn_at) of withdrawn records."""
    return [(r[0], r[1], r[2], r[3], r[4]) for r in await db.fetch_all(_HISTORY, {"rid": resident_id})]


_DETAILS = {
    "employment": table_of(EmploymentRow).c,
    "migration": table_of(MigrationRow).c,
}


async def detail_docs(
    db: ReadStore, table: str, resident_id: str, *, scopes: tuple[RowScope, ...] | None
) -> list[tuple[str, str | None]]:
    """Return (document, resident's region) of a resident's employment or migration records (one per
    source) inside `scopes`: the detail's own grant, placed in its resident's region (None: every row)."""
    c = _DETAILS[table]
    stmt = select(c.doc, R.region_code).join(table_of(ResidentRow), R.id == c.resident_id)
    stmt = within(stmt.where(c.resident_id == bindparam("rid")), scopes).order_by(c.source)
    return [(r[0], r[1]) for r in await db.fetch_all(stmt, {"rid": resident_id})]
