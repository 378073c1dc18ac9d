"""Worklist queries: a department's items under one purpose, rows limited in SQL by the read policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.pagination import cut_page, keyset
from gateway.residents.repository import R, policy_clause
from gateway.stats.repository import Scope
from policies.decision import RowScope
from schemas.regions import prefix_range, region_prefix
from schemas.time import as_utc
from store.tables import table_of
from store.tables.alerts import AlertRow
from store.tables.records import ResidentRow

A = table_of(AlertRow).c
_RESIDENT = table_of(ResidentRow)


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    for key in ("raised_at", "closed_at"):
        if d.get(key) is not None:
            d[key] = as_utc(d[key])
    return d


def _in_region(region: str) -> ColumnElement[bool]:
    low, high = prefix_range(region_prefix(region))
    return A.region_code >= low if high is None else (A.region_code >= low) & (A.region_code < high)


def _worklist(*, department: str, purpose: str, scopes: tuple[RowScope, ...] | None) -> Any:
    """Return the base query: the department's items under the purpose, joined to readable residents."""
    stmt = (
        select(*A, R.doc)
        .select_from(table_of(AlertRow).join(_RESIDENT, R.id == A.resident_id))
        .where(A.department == department, A.purpose == purpose)
    )
    clause = policy_clause(scopes) if scopes is not None else None
    return stmt.where(clause) if clause is not None else stmt


async def page(
    engine: AsyncEngine,
    *,
    department: str,
    purpose: str,
    scopes: tuple[RowScope, ...] | None,
    region: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[tuple[dict[str, Any], str]], str | None]:
    """Return a page of (item, resident document) ordered by id, and the key to continue from."""
    stmt = _worklist(department=department, purpose=purpose, scopes=scopes)
    if region is not None:
        stmt = stmt.where(_in_region(region))
    async with engine.connect() as conn:
        found = (await conn.execute(keyset(stmt, A.id, after=after, limit=limit))).all()
    rows, last = cut_page(found, limit)
    items = [(_row(r), r.doc) for r in rows]
    return items, (items[-1][0]["id"] if last else None)


async def get(
    engine: AsyncEngine, alert_id: str, *, department: str, purpose: str, scopes: tuple[RowScope, ...] | None
) -> tuple[dict[str, Any], str] | None:
    """Return one item with its resident's document, or None when the caller may not read it."""
    stmt = _worklist(department=department, purpose=purpose, scopes=scopes).where(A.id == alert_id)
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    return (_row(row), row.doc) if row is not None else None


async def close(
    engine: AsyncEngine, alert_id: str, *, outcome: str, note: str, client_id: str, by: str | None
) -> bool:
    """Close an open item now; False when it was already closed."""
    async with engine.begin() as conn:
        done = await conn.execute(
            update(table_of(AlertRow))
            .where(A.id == alert_id, A.state == "open")
            .values(
                state="closed",
                closed_at=dt.datetime.now(dt.UTC),
                outcome=outcome,
                note=note,
                closed_by_client=client_id,
                closed_by=by,
            )
        )
    return bool(done.rowcount == 1)


async def open_counts(engine: AsyncEngine, *, scope: Scope) -> list[tuple[str | None, str, int]]:
    """Count open items per (region of the scope's level, rule) (the dashboard suppresses small cells)."""
    key = scope.key(A.region_code)
    stmt = (
        select(key, A.rule_id, func.count())
        .where(A.state == "open", scope.within(A.region_code))
        .group_by(key, A.rule_id)
    )
    async with engine.connect() as conn:
        return [(r[0], r[1], int(r[2])) for r in (await conn.execute(stmt)).all()]
