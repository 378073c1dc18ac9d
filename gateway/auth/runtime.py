"""The auth state of one process, built in the app's lifespan (keys are never loaded at import)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from sqlalchemy import Engine

from gateway.auth.guard import TokenGuard
from gateway.auth.keys import KeyRing, ensure_signing_key, load_keyring
from gateway.auth.server import GatewayAuthorizationServer
from gateway.settings import Settings
from store.engines import Timeouts, make_sync_engine
from store.read import ReadStore


@dataclass(slots=True)
class AuthState:
    """Keys, token server and guard of this process; `keyring` is swapped whole on reload."""

    settings: Settings
    engine: Engine
    keyring: KeyRing
    guard: TokenGuard = field(init=False)
    server: GatewayAuthorizationServer = field(init=False)
    task: asyncio.Task[None] | None = None

    def current_keys(self) -> KeyRing:
        """Return the key ring in force."""
        return self.keyring

    def reload_keys(self) -> None:
        """Re-read keys from the store (after a rotation by another process)."""
        self.keyring = load_keyring(self.engine, self.settings)


async def start_auth(settings: Settings, *, store: ReadStore) -> AuthState:
    """Load keys (creating the first one if the store has none) and start the revocation refresher."""
    engine = make_sync_engine(settings.database_url, pool_size=4, timeouts=Timeouts.of(settings))
    await asyncio.to_thread(ensure_signing_key, engine, settings)
    keyring = await asyncio.to_thread(load_keyring, engine, settings)
    state = AuthState(settings=settings, engine=engine, keyring=keyring)
    state.guard = TokenGuard(
        settings=settings, store=store, keyring=state.current_keys, reload_keys=state.reload_keys
    )
    state.server = GatewayAuthorizationServer(
        engine=engine, settings=settings, keyring=state.current_keys, on_revoked=state.guard.note_revoked
    )
    await state.guard.refresh()
    state.task = asyncio.create_task(state.guard.run(), name="auth-refresh")
    return state


async def stop_auth(state: AuthState) -> None:
    """Stop the refresher and release the engine."""
    if state.task is not None:
        state.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.task
    state.engine.dispose()
