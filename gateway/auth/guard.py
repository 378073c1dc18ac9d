"""Bearer token checks on the hot path: verify once, cache by token hash, honour revocation at once.

Staleness bound (documented in docs/keys.md): a revocation or a client disable committed to the store
is refused by every replica for tokens it has not seen yet immediately (a cache miss checks the store),
and for cached tokens within `auth_refresh_seconds` + one refresh query (default ~1 s). If refreshing
fails for longer than `auth_max_staleness_seconds` (default 3 s) every request re-checks the store, so
stale data is never trusted for longer than that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select

from gateway.auth.clients import CLIENTS, ClientStatus
from gateway.auth.keys import KEYS, KeyRing
from gateway.auth.tokens import Principal, TokenRejected, UnknownKey, verify_access_token
from gateway.settings import Settings
from store.read import ReadStore
from store.tables import table_of
from store.tables.auth import OAuthRevokedTokenRow

log = logging.getLogger(__name__)
REVOKED = table_of(OAuthRevokedTokenRow)
MAX_CACHED = 20_000


def _client_stmt() -> Any:
    return select(
        CLIENTS.c.status,
        CLIENTS.c.department,
        CLIENTS.c.subsystem,
        CLIENTS.c.region_code,
        CLIENTS.c.token_generation,
    ).where(CLIENTS.c.client_id == bindparam("cid"))


def token_generation(claims: dict[str, Any]) -> int:
    """Return the client token generation a token was issued under (0 for tokens without one)."""
    gen = claims.get("gen", 0)
    return gen if isinstance(gen, int) and not isinstance(gen, bool) else -1


def _revoked_one_stmt() -> Any:
    return select(REVOKED.c.jti).where(REVOKED.c.jti == bindparam("jti"))


class TokenGuard:
    """Authenticate bearer tokens: a verified-token cache plus revocation and disabled-client sets."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: ReadStore,
        keyring: Callable[[], KeyRing],
        reload_keys: Callable[[], Any],
    ) -> None:
        self._settings = settings
        self._store = store
        self._keyring = keyring
        self._reload_keys = reload_keys
        self._skew = settings.token_clock_skew_seconds
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self.revoked: set[str] = set()
        self.disabled: set[str] = set()
        self.generations: dict[str, int] = {}
        self._last_refresh = 0.0
        self._key_version: tuple[tuple[str, bool], ...] | None = None
        self._client_stmt = _client_stmt()
        self._revoked_stmt = _revoked_one_stmt()
        self._last_key_reload = 0.0

    async def authenticate(self, token: str) -> Principal:
        """Return the principal of a valid token or raise TokenRejected."""
        digest = hashlib.sha256(token.encode()).digest()
        hit = self._cache.get(digest)
        if hit is not None:
            principal, exp = hit
            if time.time() > exp + self._skew:
                self._cache.pop(digest, None)
                raise TokenRejected("expired")
            if principal.token_id in self.revoked or principal.client_id in self.disabled:
                raise TokenRejected("revoked or client disabled")
            # Generations only grow: a newer token than our last refresh was checked at its cache miss.
            if self.generations.get(principal.client_id, 0) > principal.generation:
                raise TokenRejected("issued before the client's secret was rotated or it was disabled")
            if time.monotonic() - self._last_refresh > self._settings.auth_max_staleness_seconds:
                await self._check_store(principal.client_id, principal.token_id, principal.generation)
            return principal
        claims = await self._verify(token)
        principal = await self._principal(claims)
        self._remember(digest, principal, float(claims["exp"]))
        return principal

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            return verify_access_token(token, self._keyring(), settings=self._settings)
        except UnknownKey:
            # A replica may sign with a key rotated in after our last refresh: reload once per second.
            now = time.monotonic()
            if now - self._last_key_reload < 1.0:
                raise
            self._last_key_reload = now
            await asyncio.to_thread(self._reload_keys)
            return verify_access_token(token, self._keyring(), settings=self._settings)

    async def _check_store(self, client_id: str, jti: str, generation: int) -> tuple[Any, ...]:
        row = await self._store.fetch_one(self._client_stmt, {"cid": client_id})
        if row is None or row[0] != ClientStatus.ACTIVE.value:
            self.disabled.add(client_id)
            raise TokenRejected(f"client {client_id} is unknown or disabled")
        if row[4] != generation:
            raise TokenRejected("issued before the client's secret was rotated or it was disabled")
        if await self._store.fetch_one(self._revoked_stmt, {"jti": jti}) is not None:
            self.revoked.add(jti)
            raise TokenRejected("revoked")
        return tuple(row)

    async def _principal(self, claims: dict[str, Any]) -> Principal:
        client_id = str(claims["client_id"])
        jti = str(claims["jti"])
        if jti in self.revoked or client_id in self.disabled:
            raise TokenRejected("revoked or client disabled")
        generation = token_generation(claims)
        _status, department, subsystem, region_code, _gen = await self._check_store(
            client_id, jti, generation
        )
        return Principal(
            client_id=client_id,
            department=department,
            subsystem=subsystem,
            region_code=region_code,
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=jti,
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
            generation=generation,
        )

    def _remember(self, digest: bytes, principal: Principal, exp: float) -> None:
        cache = self._cache
        if len(cache) >= MAX_CACHED:
            now = time.time()
            for key in [k for k, (_, e) in cache.items() if e + self._skew < now]:
                del cache[key]
            if len(cache) >= MAX_CACHED:  # still full of live tokens: drop the oldest tenth (FIFO)
                for key in list(cache)[: MAX_CACHED // 10]:
                    del cache[key]
        cache[digest] = (principal, exp)

    def note_revoked(self, jti: str) -> None:
        """Refuse a token at once on this replica (the store already holds the revocation)."""
        self.revoked.add(jti)

    async def refresh(self) -> None:
        """Re-read revocations, disabled clients and the key table from the store."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self._skew)
        revoked_rows = await self._store.fetch_all(select(REVOKED.c.jti).where(REVOKED.c.expires_at > cutoff))
        disabled_rows = await self._store.fetch_all(
            select(CLIENTS.c.client_id).where(CLIENTS.c.status != ClientStatus.ACTIVE.value)
        )
        generation_rows = await self._store.fetch_all(
            select(CLIENTS.c.client_id, CLIENTS.c.token_generation).where(CLIENTS.c.token_generation != 0)
        )
        key_rows = await self._store.fetch_all(select(KEYS.c.kid, KEYS.c.retired_at))
        self.revoked = {r[0] for r in revoked_rows}
        self.disabled = {r[0] for r in disabled_rows}
        self.generations = {r[0]: int(r[1]) for r in generation_rows}
        version = tuple(sorted((str(r[0]), r[1] is None) for r in key_rows))
        expiry = self._keyring().next_expiry
        if (self._key_version is not None and version != self._key_version) or (
            expiry is not None and time.time() >= expiry
        ):
            await asyncio.to_thread(self._reload_keys)
        self._key_version = version
        self._last_refresh = time.monotonic()

    async def run(self) -> None:
        """Refresh forever every `auth_refresh_seconds` (cancelled by the lifespan)."""
        interval = self._settings.auth_refresh_seconds
        while True:
            try:
                await self.refresh()
            except Exception:  # keep serving; stale data forces per-request store checks
                log.exception("refreshing revocations failed")
            await asyncio.sleep(interval)
