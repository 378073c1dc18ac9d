"""Engines of the store: a sync engine for the CLI and jobs, an async engine for the server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def _url(raw: str, drivers: dict[str, str]) -> URL:
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    url = url.set(drivername=drivers[backend])
    if backend == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run while a sync or the audit writer writes; NORMAL is durable in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def is_sqlite(raw_url: str) -> bool:
    """Tell whether a URL names an SQLite store."""
    return make_url(raw_url).get_backend_name() == "sqlite"


def make_sync_engine(raw_url: str, *, pool_size: int = 5) -> Engine:
    """Build the sync engine used by the CLI, migrations and connector syncs."""
    url = _url(raw_url, _SYNC_DRIVERS)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=pool_size, pool_pre_ping=True)


def make_async_engine(raw_url: str, *, pool_size: int = 16) -> AsyncEngine:
    """Build the async engine the server's requests use (aiosqlite or asyncpg)."""
    url = _url(raw_url, _ASYNC_DRIVERS)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=pool_size)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)


def as_utc(value: dt.datetime | str) -> dt.datetime:
    """Return a stored timestamp as an aware UTC datetime (SQLite returns it without a zone)."""
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
