"""The policy of one process: loaded in the lifespan, reloaded on file change, SIGHUP or the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.policy.ratelimit import StoreLimiter
from policies.engine import PolicyEngine
from policies.loader import FILES, PolicyInvalid
from policies.models import Grant

log = logging.getLogger(__name__)
_GRANTS = text("SELECT id, doc FROM policy_grant ORDER BY id")
_GRANTS_MARK = text("SELECT count(*), max(id) FROM policy_grant")
_VILLAGES = text("SELECT code, name FROM region WHERE level = 'village'")


@dataclass(slots=True)
class PolicyState:
    """What requests read: the engine, village names for the address mask, the limiter."""

    engine: PolicyEngine
    store: AsyncEngine
    limiter: StoreLimiter
    enabled: bool = True
    village_names: dict[str, str] = field(default_factory=dict)
    last_error: str | None = None
    _mtimes: tuple[float, ...] = ()
    _grants_mark: tuple[object, ...] = ()
    _task: asyncio.Task[None] | None = None

    def reload(self) -> str:
        """Reload the documents; raise PolicyInvalid (running policy kept) or return the new version."""
        try:
            version = self.engine.reload()
        except PolicyInvalid as exc:
            self.last_error = str(exc)
            log.error("policy reload refused, keeping %s:\n%s", self.engine.version, exc)
            raise
        self.last_error = None
        self._mtimes = _mtimes(self.engine.directory)
        log.info("policy %s loaded from %s", version, self.engine.directory)
        return version

    async def refresh_grants(self, *, force: bool = False) -> None:
        """Re-read approval grants when the table changed (one cheap aggregate otherwise)."""
        async with self.store.connect() as conn:
            mark = tuple((await conn.execute(_GRANTS_MARK)).one())
            if mark == self._grants_mark and not force:
                return
            rows = (await conn.execute(_GRANTS)).all()
        self.engine.set_store_grants(Grant.model_validate_json(doc) for _, doc in rows)
        self._grants_mark = mark

    async def load_villages(self) -> None:
        """Read village names from the gazetteer (the address mask shows only these)."""
        async with self.store.connect() as conn:
            self.village_names = {c: n for c, n in (await conn.execute(_VILLAGES)).all()}

    def files_changed(self) -> bool:
        """Tell whether a policy file changed since the last load."""
        return _mtimes(self.engine.directory) != self._mtimes

    async def watch(self, interval: float) -> None:
        """Poll the files and the approval grants; reload on change (errors keep the running policy)."""
        while True:
            await asyncio.sleep(interval)
            try:
                if self.files_changed():
                    with contextlib.suppress(PolicyInvalid):
                        self.reload()
                    self._mtimes = _mtimes(self.engine.directory)  # a broken file is reported once
                await self.refresh_grants()
            except Exception:  # the watcher must outlive a store hiccup
                log.exception("policy refresh failed")


def _mtimes(directory: Path) -> tuple[float, ...]:
    out = []
    for name in FILES:
        try:
            out.append((directory / name).stat().st_mtime_ns)
        except OSError:
            out.append(-1)
    return tuple(out)


async def start_policy(
    *, directory: Path, store: AsyncEngine, refresh_seconds: float, enabled: bool = True
) -> PolicyState:
    """Load the policy (fail fast when invalid), read approval grants and start the watcher."""
    state = PolicyState(
        engine=PolicyEngine.load(directory), store=store, limiter=StoreLimiter(store), enabled=enabled
    )
    state._mtimes = _mtimes(directory)
    await state.refresh_grants(force=True)
    await state.load_villages()
    state._task = asyncio.create_task(state.watch(refresh_seconds), name="policy-watch")
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        # SIGHUP reloads (only possible on the main thread's loop; test clients run elsewhere).
        loop.add_signal_handler(signal.SIGHUP, lambda: _reload_quietly(state))
    return state


def _reload_quietly(state: PolicyState) -> None:
    with contextlib.suppress(PolicyInvalid):
        state.reload()


async def stop_policy(state: PolicyState) -> None:
    """Stop the watcher."""
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
    if state._task is not None:
        state._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state._task
    await state.limiter.close()  # give back reserved, unspent units before the engine goes
