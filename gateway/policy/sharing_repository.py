"""Sharing-request queries (有条件共享申请) and the grants approvals create; all on the async engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.models import Grant
from schemas.time import as_utc
from store.tables import table_of
from store.tables.policy import PolicyGrantRow, SharingRequestRow

S = table_of(SharingRequestRow)
G = table_of(PolicyGrantRow)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """Return the date `days` working days (Mon-Fri) after `start`; statutory holidays are not modelled."""
    out = start
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


def _row(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    d["fields"] = orjson.loads(d["fields"])
    for key in ("created_at", "decided_at"):
        if d.get(key) is not None:
            d[key] = as_utc(d[key])  # RFC 3339 needs a zone
    return d


async def create(engine: AsyncEngine, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a request; return it."""
    vals = {**values, "fields": orjson.dumps(values["fields"]).decode()}
    async with engine.begin() as conn:
        rid = (await conn.execute(insert(S).values(**vals).returning(S.c.id))).scalar_one()
        row = (await conn.execute(select(S).where(S.c.id == rid))).one()
    return _row(row)


async def get(engine: AsyncEngine, request_id: int) -> dict[str, Any] | None:
    """Return one request, or None."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(S).where(S.c.id == request_id))).first()
    return _row(row) if row else None


async def list_for(
    engine: AsyncEngine,
    *,
    client_id: str | None,
    owner: str | None,
    status: str | None,
    overdue_on: dt.date | None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """List requests of an applicant or an owning department, optionally only pending ones past due."""
    stmt = select(S)
    if client_id is not None:
        stmt = stmt.where(S.c.client_id == client_id)
    if owner is not None:
        stmt = stmt.where(S.c.owner_department == owner)
    if status is not None:
        stmt = stmt.where(S.c.status == status)
    if overdue_on is not None:
        stmt = stmt.where(S.c.status == "pending", S.c.due_date < overdue_on)
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt.order_by(S.c.id).limit(limit))).all()
    return [_row(r) for r in rows]


async def decide(
    engine: AsyncEngine, request_id: int, *, status: str, reason: str, by: str, grant: Grant | None
) -> bool:
    """Answer a pending request (and store its grant) in one transaction; False if no longer pending."""
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        done = await conn.execute(
            update(S)
            .where(S.c.id == request_id, S.c.status == "pending")
            .values(status=status, reason=reason, decided_by=by, decided_at=now)
        )
        if done.rowcount != 1:
            return False
        if grant is not None:
            await conn.execute(
                insert(G).values(
                    id=grant.id, request_id=request_id, doc=grant.model_dump_json(), created_at=now
                )
            )
    return True
