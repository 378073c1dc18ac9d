"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import Request
from sqlalchemy import text

from gateway import migrate
from gateway.deps import EngineDep
from gateway.errors import NotReady
from gateway.routing import api_router, operation
from gateway.runtime import runtime_of

router = api_router(audited=False, tags=["health"])
PROBE_SECONDS = 1.0  # a dependency slower than this is not ready: the balancer should look elsewhere


@router.get("/healthz", **operation("Liveness"))
async def healthz() -> dict[str, str]:
    """Answer while the process is up."""
    return {"status": "ok"}


@router.get("/readyz", **operation("Readiness", NotReady))
async def readyz(request: Request, engine: EngineDep) -> dict[str, str]:
    """Answer 200 when the store, the audit log, the policy and the signing keys can serve, else 503."""
    if getattr(request.app.state, "draining", False):
        raise NotReady("the server is shutting down")
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                current = await conn.run_sync(migrate.is_current)
    except Exception as exc:  # any failure to reach the store in time means not ready
        raise NotReady(f"the store is not reachable: {type(exc).__name__}") from exc
    if not current:
        raise NotReady("the store's schema is behind: run `gateway db upgrade`")
    runtime = runtime_of(request)
    writer = runtime.audit_writer
    if writer is not None and (why := await writer.probe(within=PROBE_SECONDS)):
        raise NotReady(why)
    if runtime.policy.engine.policy is None:
        raise NotReady("the access policy is not loaded")
    if runtime.auth.keyring.signer is None:
        raise NotReady("no signing key is loaded")
    return {"status": "ready"}
