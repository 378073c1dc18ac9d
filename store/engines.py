"""Engines of the store: a sync engine for the CLI and jobs, an async engine for the server."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Fail-fast bounds of a store path, in seconds (docs/operations.md, failure model)."""

    name: str = "xiangzhi"  # application_name: operators see which path a session serves
    connect: float = 5.0
    statement: float = 15.0
    lock: float = 3.0
    idle_in_transaction: float | None = None

    @classmethod
    def of(cls, settings: Any) -> Timeouts:
        """Return the request-path bounds of the settings."""
        return cls(
            connect=settings.db_connect_timeout_seconds,
            statement=settings.db_statement_timeout_seconds,
            lock=settings.db_lock_timeout_seconds,
        )

    @classmethod
    def audit(cls, settings: Any) -> Timeouts:
        """Return the audit commit's bounds: a stalled lock holder becomes 503s within seconds."""
        bound = settings.audit_commit_timeout_seconds
        return cls(
            name="xiangzhi-audit",
            connect=min(bound, settings.db_connect_timeout_seconds),
            statement=bound,
            lock=bound,
            idle_in_transaction=settings.audit_idle_session_timeout_seconds,
        )

    def server_settings(self) -> dict[str, str]:
        """Return PostgreSQL session settings (milliseconds) enforcing these bounds on the server."""
        out = {
            "application_name": self.name,
            "statement_timeout": str(int(self.statement * 1000)),
            "lock_timeout": str(int(self.lock * 1000)),
            # A peer that vanished (frozen host, partition) is noticed by TCP within about 20 s.
            "tcp_keepalives_idle": "10",
            "tcp_keepalives_interval": "5",
            "tcp_keepalives_count": "2",
        }
        if self.idle_in_transaction is not None:
            out["idle_in_transaction_session_timeout"] = str(int(self.idle_in_transaction * 1000))
        return out

    def asyncpg_args(self) -> dict[str, Any]:
        """Return asyncpg connect arguments: connect timeout, client-side command timeout, settings."""
        return {
            "timeout": self.connect,
            # The client gives up shortly after the server should have: a frozen server cannot hold us.
            "command_timeout": self.statement + 1.0,
            "server_settings": self.server_settings(),
        }


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, busy_ms: int = 30000) -> None:
    # WAL lets readers run while a sync or the audit writer writes; NORMAL is durable in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _pragmas(timeouts: Timeouts | None) -> Any:
    busy_ms = int(timeouts.lock * 1000) if timeouts else 30000
    return lambda conn, record: _sqlite_pragmas(conn, record, busy_ms=busy_ms)


def make_sync_engine(raw_url: str, *, pool_size: int = 5, timeouts: Timeouts | None = None) -> Engine:
    """Build the sync engine used by the CLI, migrations and connector syncs (server paths pass timeouts)."""
    url = _url(raw_url, _SYNC_DRIVERS)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": timeouts.lock if timeouts else 30})
        event.listen(engine, "connect", _pragmas(timeouts))
        return engine
    args: dict[str, Any] = {}
    if timeouts is not None:
        options = " ".join(f"-c {k}={v}" for k, v in timeouts.server_settings().items())
        args = {"connect_timeout": max(1, round(timeouts.connect)), "options": options}
    pool_timeout = timeouts.connect if timeouts else 30
    return create_engine(
        url, pool_size=pool_size, pool_pre_ping=True, pool_timeout=pool_timeout, connect_args=args
    )


def make_async_engine(raw_url: str, *, pool_size: int = 16, timeouts: Timeouts | None = None) -> AsyncEngine:
    """Build the async engine the server's requests use (aiosqlite or asyncpg); pre-ping on checkout."""
    url = _url(raw_url, _ASYNC_DRIVERS)
    if url.get_backend_name() == "sqlite":
        busy = timeouts.lock if timeouts else 30
        engine = create_async_engine(url, connect_args={"timeout": busy}, pool_size=pool_size)
        event.listen(engine.sync_engine, "connect", _pragmas(timeouts))
        return engine
    timeouts = timeouts or Timeouts()
    # Pre-ping: a connection broken by a restart or fail-over is replaced before a request meets it.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=timeouts.connect,
        connect_args=timeouts.asyncpg_args(),
    )
