"""Console sessions in the store: an opaque cookie, 15 idle minutes at most, ended by sign-out or reset.

The cookie holds `<id>.<secret>`; the store keeps the id (the audit events' token_id) and a SHA-256
of the secret, so a copy of the table opens no session. A session ends when it has been idle for
IDLE (MLPS 2.0 level 3: at most 15 minutes), LIFETIME after sign-in, at sign-out, or when its account
is disabled or reset (the client's token generation moved on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.clients import CLIENTS, ClientRecord, ClientStatus
from gateway.auth.tokens import Principal
from schemas.time import as_utc
from store.tables import table_of
from store.tables.auth import WebSessionRow

SESSIONS = table_of(WebSessionRow)
IDLE = dt.timedelta(minutes=15)
LIFETIME = dt.timedelta(hours=10)  # a working day; then sign in again


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(cookie: str | None) -> tuple[str, str] | None:
    sid, _, secret = (cookie or "").partition(".")
    return (sid, secret) if len(sid) == 32 and 20 <= len(secret) <= 64 else None


async def open_session(
    engine: AsyncEngine, *, account: ClientRecord, site: str, address: str, now: dt.datetime
) -> tuple[str, str]:
    """Start a session; return its id and the cookie value."""
    sid, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(
            SESSIONS.insert().values(
                id=sid,
                secret_hash=_digest(secret),
                client_id=account.client_id,
                site=site,
                address=address[:64],
                generation=account.generation,
                created_at=now,
                last_seen_at=now,
            )
        )
    return sid, f"{sid}.{secret}"


async def resume(engine: AsyncEngine, cookie: str | None, *, site: str, now: dt.datetime) -> Principal | None:
    """Return the person of a live session and mark it seen now; None when absent or ended."""
    parts = _split(cookie)
    if parts is None:
        return None
    sid, secret = parts
    c = CLIENTS.c
    stmt = (
        select(SESSIONS, c.department, c.subsystem, c.region_code, c.scopes, c.status, c.token_generation)
        .join(CLIENTS, c.client_id == SESSIONS.c.client_id)
        .where(SESSIONS.c.id == sid, SESSIONS.c.site == site)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return None
    live = (
        row["status"] == ClientStatus.ACTIVE.value
        and int(row["token_generation"]) == int(row["generation"])
        and now - as_utc(row["last_seen_at"]) <= IDLE
        and now - as_utc(row["created_at"]) <= LIFETIME
    )
    async with engine.begin() as conn:
        if not live:
            await conn.execute(delete(SESSIONS).where(SESSIONS.c.id == sid))
            return None
        await conn.execute(update(SESSIONS).where(SESSIONS.c.id == sid).values(last_seen_at=now))
    return Principal(
        client_id=row["client_id"],
        department=row["department"],
        subsystem=row["subsystem"],
        region_code=row["region_code"],
        scopes=frozenset(str(row["scopes"]).split()),
        token_id=sid,
        expires_at=now + IDLE,
        generation=int(row["generation"]),
    )


async def close(engine: AsyncEngine, cookie: str | None) -> tuple[str, str] | None:
    """End the session of a cookie; return its id and account (None when there was none)."""
    parts = _split(cookie)
    if parts is None:
        return None
    where = (SESSIONS.c.id == parts[0], SESSIONS.c.secret_hash == _digest(parts[1]))
    async with engine.begin() as conn:
        account = (await conn.execute(select(SESSIONS.c.client_id).where(*where))).scalar()
        await conn.execute(delete(SESSIONS).where(*where))
    return None if account is None else (parts[0], str(account))
