"""Subscription and delivery queries (SQLAlchemy Core on the async engine), for the API and the worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.pagination import keyset
from store.read import Row
from store.tables import table_of
from store.tables.auth import OAuthClientRow
from store.tables.changes import ChangeRow, DeliveryRow, SubscriptionRow

S = table_of(SubscriptionRow).c
D = table_of(DeliveryRow).c
C = table_of(ChangeRow).c
K = table_of(OAuthClientRow).c
_S = table_of(SubscriptionRow)
_D = table_of(DeliveryRow)
_K = table_of(OAuthClientRow)
_PUBLIC = (S.id, S.events, S.region, S.url, S.purpose, S.created_at)
_DEAD = (D.id, D.event, D.record_id, D.attempts, D.last_status, D.last_error, D.created_at, D.body)


async def log_position(conn: AsyncConnection) -> int:
    """Return the last change-log position (0 when empty): a new subscription starts after it."""
    return int((await conn.execute(select(func.coalesce(func.max(C.seq), 0)))).scalar_one())


async def add(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Insert a subscription."""
    await conn.execute(insert(_S).values(**values))


async def list_for_client(
    conn: AsyncConnection, client_id: str, *, after: str | None, limit: int
) -> list[Row]:
    """Return up to limit+1 of a client's subscriptions after id `after`, by id."""
    stmt = select(*_PUBLIC).where(S.client_id == client_id)
    return list((await conn.execute(keyset(stmt, S.id, after=after, limit=limit))).all())


async def owned(conn: AsyncConnection, subscription_id: str, client_id: str) -> bool:
    """Tell whether the subscription exists and belongs to the client."""
    stmt = select(S.id).where(S.id == subscription_id, S.client_id == client_id)
    return (await conn.execute(stmt)).first() is not None


async def remove(conn: AsyncConnection, subscription_id: str) -> None:
    """Delete a subscription and every message not yet delivered to it."""
    await conn.execute(delete(_D).where(D.subscription_id == subscription_id))
    await conn.execute(delete(_S).where(S.id == subscription_id))


async def dead_letters(
    conn: AsyncConnection, subscription_id: str, *, after: str | None, limit: int
) -> list[Row]:
    """Return up to limit+1 dead messages of a subscription after id `after`, by id."""
    stmt = select(*_DEAD).where(D.subscription_id == subscription_id, D.state == "dead")
    return list((await conn.execute(keyset(stmt, D.id, after=after, limit=limit))).all())


async def requeue(conn: AsyncConnection, subscription_id: str, delivery_id: str, *, now: dt.datetime) -> bool:
    """Make a dead message pending again with fresh attempts; tell whether there was one."""
    stmt = (
        update(_D)
        .where(D.id == delivery_id, D.subscription_id == subscription_id, D.state == "dead")
        .values(state="pending", attempts=0, next_attempt_at=now, last_error=None, last_status=None)
    )
    return bool((await conn.execute(stmt)).rowcount)


# The worker's side.


async def subscribers(conn: AsyncConnection) -> list[Row]:
    """Return every subscription with its client's department, region, scopes and status."""
    stmt = (
        select(
            S.id,
            S.client_id,
            S.purpose,
            S.events,
            S.region,
            S.cursor,
            K.department,
            K.region_code,
            K.scopes,
            K.status,
        )
        .join(_K, K.client_id == S.client_id)
        .order_by(S.id)
    )
    return list((await conn.execute(stmt)).all())


async def lock_subscription(conn: AsyncConnection, subscription_id: str) -> int | None:
    """Lock a subscription for its fan-out and return its cursor; None when another worker holds it."""
    # SKIP LOCKED on PostgreSQL: a second worker moves on instead of fanning the same changes out twice.
    # SQLite has no row locks (the clause is left out); its single writer serialises the workers.
    stmt = select(S.cursor).where(S.id == subscription_id).with_for_update(skip_locked=True)
    row = (await conn.execute(stmt)).first()
    return None if row is None else int(row[0])


async def enqueue(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], *, subscription_id: str, start: int, cursor: int
) -> bool:
    """Move a subscription's cursor from `start` to `cursor` and add its messages (False: it moved)."""
    # Compare-and-set on the cursor: on SQLite (no row locks) a second worker that read the same changes
    # finds the cursor moved and queues nothing; on PostgreSQL the row lock already kept it out.
    moved = await conn.execute(
        update(_S).where(S.id == subscription_id, S.cursor == start).values(cursor=cursor)
    )
    if not moved.rowcount:
        return False
    if rows:
        await conn.execute(insert(_D), list(rows))
    return True


async def claim_due(conn: AsyncConnection, *, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Row]:
    """Claim due pending messages (pushing their due time out by `lease`); return the ones this call won."""
    stmt = (
        select(D.id, D.subscription_id, D.body, D.attempts, D.event, D.record_id, D.next_attempt_at)
        .where(D.state == "pending", D.next_attempt_at <= now)
        .order_by(D.next_attempt_at, D.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    won: list[Row] = []
    for row in (await conn.execute(stmt)).all():
        # Compare-and-set on the due time: on SQLite (no row locks) a second worker that read the same
        # rows updates none of them, so it never sends them; the claim lapses after `lease`.
        claim = (
            update(_D)
            .where(D.id == row[0], D.state == "pending", D.next_attempt_at == row[6])
            .values(next_attempt_at=now + lease)
        )
        if (await conn.execute(claim)).rowcount:
            won.append(row)
    return won


async def targets(conn: AsyncConnection, subscription_ids: Sequence[str]) -> dict[str, Row]:
    """Return (id, url, secret_enc, client_id, purpose, department) of subscriptions by id."""
    stmt = (
        select(S.id, S.url, S.secret_enc, S.client_id, S.purpose, K.department)
        .join(_K, K.client_id == S.client_id)
        .where(S.id.in_(list(subscription_ids)))
    )
    return {r[0]: r for r in (await conn.execute(stmt)).all()}


async def finish(conn: AsyncConnection, delivery_id: str, **values: Any) -> None:
    """Record the outcome of one attempt."""
    await conn.execute(update(_D).where(D.id == delivery_id).values(**values))
