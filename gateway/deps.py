"""Dependencies, declared once as Annotated aliases.

Every dependency is `async def`: FastAPI runs a plain `def` dependency in the thread pool, a
thread hop per request that costs more than the whole database read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.pagination import MAX_LIMIT
from gateway.runtime import config_of, runtime_of
from gateway.settings import Settings
from store.read import ReadStore


async def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = config_of(request.app).settings
    return settings


async def get_engine(request: Request) -> AsyncEngine:
    """Return the app's async engine (built in the lifespan)."""
    engine: AsyncEngine = runtime_of(request).engine
    return engine


async def get_read_store(request: Request) -> ReadStore:
    """Return the app's read store (built in the lifespan)."""
    store: ReadStore = runtime_of(request).read_store
    return store


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_only(value: object) -> object:
    # pydantic would read "0.5" as a Unix timestamp; the contract says RFC 3339 date-time.
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-11-01T08:00:00+08:00")
    return value


Rfc3339 = Annotated[dt.datetime, BeforeValidator(_rfc3339_only)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    # pydantic would read the number 0 as 1970-01-01; the contract says an ISO 8601 date string.
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("expected an ISO 8601 date, e.g. 2026-11-01")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]

SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ReadDep = Annotated[ReadStore, Depends(get_read_store)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-500).")]
ResidentQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="Only this resident's."),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque, signed cursor: the previous page's `next`, passed back unchanged. Its "
        "content is not part of the contract; an altered or made-up cursor is 400 invalid-cursor.",
    ),
]
