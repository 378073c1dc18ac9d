"""Store writes of the token server: revoked tokens (RFC 7009) and used client assertions (RFC 7523)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from store.tables import table_of
from store.tables.auth import OAuthRevokedTokenRow, OAuthUsedAssertionRow

REVOKED = table_of(OAuthRevokedTokenRow)
USED = table_of(OAuthUsedAssertionRow)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def revoke(engine: Engine, *, jti: str, client_id: str, expires_at: dt.datetime) -> None:
    """Record a revoked token until its expiry; revoking twice is harmless (RFC 7009 §2.2)."""
    now = _now()
    with engine.begin() as conn:
        conn.execute(delete(REVOKED).where(REVOKED.c.expires_at < now - dt.timedelta(hours=1)))
        if conn.execute(select(REVOKED.c.jti).where(REVOKED.c.jti == jti)).first() is None:
            conn.execute(
                REVOKED.insert().values(jti=jti, client_id=client_id, expires_at=expires_at, revoked_at=now)
            )


def is_revoked(engine: Engine, jti: str) -> bool:
    """Tell whether a token id is revoked (store truth, for introspection)."""
    with engine.connect() as conn:
        return conn.execute(select(REVOKED.c.jti).where(REVOKED.c.jti == jti)).first() is not None


def remember_assertion(engine: Engine, *, client_id: str, jti: str, expires_at: dt.datetime) -> bool:
    """Record a client assertion's jti; False when it was seen before (a replay, RFC 7523 §3 item 7)."""
    now = _now()
    try:
        with engine.begin() as conn:
            # Kept past exp by more than the largest allowed leeway (300 s), so a late replay still fails.
            conn.execute(delete(USED).where(USED.c.expires_at < now - dt.timedelta(minutes=10)))
            conn.execute(USED.insert().values(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True
