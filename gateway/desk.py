"""The desk a department's worklist operation works at: who asks, the store and the request's audit record."""

from __future__ import annotations

from typing import Annotated, NamedTuple

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.dependencies import PrincipalDep
from gateway.auth.tokens import Principal
from gateway.context import RecordDep, RequestRecord
from gateway.deps import EngineDep


class Desk(NamedTuple):
    """The caller, the engine and the audit record a worklist route takes (unpacks in that order)."""

    principal: Principal
    engine: AsyncEngine
    record: RequestRecord


async def get_desk(principal: PrincipalDep, engine: EngineDep, record: RecordDep) -> Desk:
    """Return the caller's desk (each part is FastAPI's one per request: the record is the audited one)."""
    return Desk(principal=principal, engine=engine, record=record)


DeskDep = Annotated[Desk, Depends(get_desk)]
