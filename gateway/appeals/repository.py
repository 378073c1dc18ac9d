"""Queries of residents' requests (诉求) and their steps, on the async engine (human-paced)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.pagination import cut_page, keyset
from gateway.stats.repository import Scope
from schemas.regions import prefix_range, region_prefix
from schemas.time import as_utc
from store.tables import table_of
from store.tables.alerts import AppealRow, AppealStepRow

Q = table_of(AppealRow)
S = table_of(AppealStepRow)
OPEN_STATES = ("accepted", "forwarded")


def _stamped(r: Any, *keys: str) -> dict[str, Any]:
    d = dict(r._mapping)
    for key in keys:
        if d.get(key) is not None:
            d[key] = as_utc(d[key])
    return d


def within(region: str | None) -> ColumnElement[bool] | None:
    """Return the condition a request's resident lies in `region`'s subtree (None: anywhere)."""
    if region is None:
        return None
    low, high = prefix_range(region_prefix(region))
    return Q.c.region_code >= low if high is None else and_(Q.c.region_code >= low, Q.c.region_code < high)


def visible(*, client_id: str, department: str | None, region: str | None) -> ColumnElement[bool]:
    """Return the rows a caller sees: those it recorded, and those its department handles in its region."""
    mine: ColumnElement[bool] = Q.c.recorded_by_client == client_id
    if department is None:
        return mine
    handled = Q.c.department == department
    place = within(region)
    return or_(mine, handled if place is None else and_(handled, place))


async def add_step(conn: AsyncConnection, appeal_id: str, step: str, *, at: dt.datetime, **who: Any) -> None:
    """Record one step of a request's handling."""
    await conn.execute(insert(S).values(appeal_id=appeal_id, step=step, at=at, **who))


async def create(engine: AsyncEngine, values: dict[str, Any], *, step: dict[str, Any]) -> None:
    """Insert a request with its `accepted` step."""
    async with engine.begin() as conn:
        await conn.execute(insert(Q).values(**values))
        await add_step(conn, values["id"], "accepted", at=values["created_at"], **step)


async def transition(
    engine: AsyncEngine,
    appeal_id: str,
    *,
    states: tuple[str, ...],
    values: dict[str, Any],
    step: dict[str, Any],
) -> bool:
    """Move a request on from one of `states`, recording the step; False when it was in none of them."""
    async with engine.begin() as conn:
        done = await conn.execute(
            update(Q).where(Q.c.id == appeal_id, Q.c.state.in_(states)).values(**values)
        )
        if done.rowcount != 1:
            return False
        await add_step(conn, appeal_id, values["state"], at=values["updated_at"], **step)
    return True


async def mark_overdue(engine: AsyncEngine, *, today: dt.date, now: dt.datetime) -> int:
    """Flag every unanswered request past its due date and record its `overdue` step, once."""
    late = and_(Q.c.state.in_(OPEN_STATES), Q.c.due_date < today, Q.c.overdue.is_(False))
    async with engine.begin() as conn:
        ids = [r[0] for r in (await conn.execute(select(Q.c.id).where(late))).all()]
        if ids:
            await conn.execute(update(Q).where(Q.c.id.in_(ids), late).values(overdue=True))
            await conn.execute(
                insert(S),
                [{"appeal_id": i, "step": "overdue", "at": now, "note": f"due {today}"} for i in ids],
            )
    return len(ids)


async def get(engine: AsyncEngine, appeal_id: str, *, where: ColumnElement[bool]) -> dict[str, Any] | None:
    """Return one visible request with its steps, or None."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(Q).where(Q.c.id == appeal_id, where))).first()
        if row is None:
            return None
        steps = (await conn.execute(select(S).where(S.c.appeal_id == appeal_id).order_by(S.c.seq))).all()
    out = _stamped(row, "created_at", "updated_at")
    out["steps"] = [_stamped(s, "at") for s in steps]
    return out


async def page(
    engine: AsyncEngine, *, where: ColumnElement[bool], filters: dict[str, Any], after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Return the ids of a page of visible requests, ordered by id, and the key to continue from."""
    stmt = select(Q.c.id).where(where, *(Q.c[k] == v for k, v in filters.items() if v is not None))
    async with engine.connect() as conn:
        ids = [r[0] for r in (await conn.execute(keyset(stmt, Q.c.id, after=after, limit=limit))).all()]
    return cut_page(ids, limit)


async def counts(engine: AsyncEngine, *, scope: Scope) -> list[tuple[str | None, str, str, int]]:
    """Count requests per (region of the scope's level, category, state) (the dashboard suppresses them)."""
    key = (scope.key(Q.c.region_code), Q.c.category, Q.c.state)
    stmt = select(*key, func.count()).where(scope.within(Q.c.region_code)).group_by(*key)
    async with engine.connect() as conn:
        return [(r[0], r[1], r[2], int(r[3])) for r in (await conn.execute(stmt)).all()]
