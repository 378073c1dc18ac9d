"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from gateway import migrate
from gateway.deps import EngineDep
from gateway.errors import Unavailable
from gateway.openapi import problem_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """Answer while the process is up."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses=problem_responses(503))
async def readyz(engine: EngineDep) -> dict[str, str]:
    """Answer 200 when the store is reachable and its schema current, else 503."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(migrate.is_current)
    except Exception as exc:  # any failure to reach the store means not ready
        raise Unavailable("the store is not reachable") from exc
    if not current:
        raise Unavailable("the store's schema is behind: run `gateway db upgrade`")
    return {"status": "ready"}
