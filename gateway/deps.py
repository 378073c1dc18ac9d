"""Dependencies, declared once as Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT
from gateway.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    """Return the app's async engine (built in the lifespan)."""
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """Yield a pooled connection for the duration of one request."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ConnDep = Annotated[AsyncConnection, Depends(get_connection)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-500).")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's `next`."),
]
DEFAULT_PAGE = DEFAULT_LIMIT
