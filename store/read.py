"""The read store: SQLAlchemy Core statements, compiled once per shape, run on the raw driver.

Reads are the hot path (architecture budget: <= 150 µs per query). Going through an async ORM
session costs several times that, so reads compile the repository's Core statement once (cached by
SQLAlchemy's own cache key) and execute it directly: on SQLite with one read-only connection used
inline on the event loop (a primary-key read takes microseconds, less than a thread hop), on
PostgreSQL with an asyncpg pool and its prepared-statement cache.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from store.engines import Timeouts

log = logging.getLogger(__name__)

Row = Sequence[Any]


class _Compiled:
    """A compiled statement: SQL text, parameter order and bind processors."""

    __slots__ = ("compiled", "order", "processors", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, cache_key: Any = None) -> None:
        # Compiling with the cache key lets later statements of the same shape reuse this compilation.
        compiled = (
            stmt._compiler(dialect, cache_key=cache_key)
            if cache_key is not None
            else stmt.compile(dialect=dialect)
        )
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        self.sql = compiled.string
        self.order: list[str] = list(compiled.positiontup or [])
        self.processors: dict[str, Any] = dict(compiled._bind_processors)

    def statement(self, params: Mapping[str, Any], extracted: Sequence[Any] | None) -> tuple[str, list[Any]]:
        """Return the SQL and positional arguments for one execution, converted as SQLAlchemy would."""
        if not self.compiled.post_compile_params:
            return self.sql, self.args(params, extracted)
        # IN (...) lists and other late-rendered parameters: expand them for this parameter set.
        values = self.compiled.construct_params(dict(params), extracted_parameters=extracted)
        state = self.compiled.construct_expanded_state(values, escape_names=False)
        out = []
        for name in state.positiontup or []:
            value = state.parameters[name]
            proc = state.processors.get(name)
            out.append(proc(value) if proc is not None and value is not None else value)
        return state.statement, out

    def args(self, params: Mapping[str, Any], extracted: Sequence[Any] | None) -> list[Any]:
        """Return positional arguments for the driver, converted as SQLAlchemy would."""
        values = self.compiled.construct_params(dict(params), extracted_parameters=extracted)
        out = []
        for name in self.order:
            value = values[name]
            proc = self.processors.get(name)
            out.append(proc(value) if proc is not None and value is not None else value)
        return out


class ReadStore(Protocol):
    """Execute read-only statements; rows are tuples in select order."""

    async def fetch_one(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Row | None:
        """Return the first row, or None."""
        ...

    async def fetch_all(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Return every row."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@contextmanager
def _span(tracer: Tracer, system: str, sql: str) -> Iterator[None]:
    with tracer.start_as_current_span(
        sql.split(None, 1)[0], kind=SpanKind.CLIENT, attributes={"db.system": system, "db.query.text": sql}
    ):
        yield


def traced(tracer: Tracer, system: str, sql: str) -> Any:
    """Return a child span for a query when the request's span is recorded, else nothing (cheap)."""
    return _span(tracer, system, sql) if trace.get_current_span().is_recording() else nullcontext()


class _Compiler:
    """Compile-once cache keyed by SQLAlchemy's statement cache key."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._cache: dict[Any, _Compiled] = {}

    def prepare(self, stmt: ClauseElement, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        key = stmt._generate_cache_key()
        if key is None:  # uncacheable construct: compile every time
            return _Compiled(stmt, self.dialect).statement(params or {}, None)
        found = self._cache.get(key.key)
        if found is None:
            if len(self._cache) > 2048:  # bounded: list filters have few shapes
                self._cache.clear()
            found = self._cache[key.key] = _Compiled(stmt, self.dialect, key)
        return found.statement(params or {}, key.bindparams)


class SqliteReadStore:
    """Reads on one read-only SQLite connection, inline on the event loop."""

    def __init__(self, path: str, *, tracer: Tracer, busy_ms: int = 5000) -> None:
        from sqlalchemy.dialects.sqlite import pysqlite

        self._tracer = tracer
        self._compiler = _Compiler(pysqlite.dialect())
        # check_same_thread=False: test clients run the loop in another thread; only one loop uses it.
        # Not mode=ro: a read-only open of a WAL database fails when its -shm file is absent.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA query_only=ON")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")

    async def fetch_one(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Row | None:
        """Return the first row, or None."""
        sql, args = self._compiler.prepare(stmt, params)
        with traced(self._tracer, "sqlite", sql):
            row: Row | None = self._conn.execute(sql, args).fetchone()
        return row

    async def fetch_all(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Return every row."""
        sql, args = self._compiler.prepare(stmt, params)
        with traced(self._tracer, "sqlite", sql):
            return self._conn.execute(sql, args).fetchall()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()


async def _keep_session(_conn: Any) -> None:
    """Release a read connection as it is: it never changes session state."""


class PgReadStore:
    """Reads on an asyncpg pool (prepared statements cached per connection)."""

    def __init__(self, pool: Any, *, tracer: Tracer) -> None:
        from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

        self._tracer = tracer
        self._compiler = _Compiler(pg_asyncpg.dialect())
        self._pool = pool

    @classmethod
    async def open(
        cls, raw_url: str, *, pool_size: int, tracer: Tracer, timeouts: Timeouts | None = None
    ) -> PgReadStore:
        """Open the pool (statement, lock and connect timeouts from `timeouts`)."""
        import asyncpg

        url = make_url(raw_url)
        pool = await asyncpg.create_pool(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            min_size=1,
            max_size=pool_size,
            # The default reset runs a query (RESET ALL, unlisten, unlock) on every release: a second
            # round trip per read. These connections only ever run single autocommit SELECTs.
            reset=_keep_session,
            **(timeouts or Timeouts()).asyncpg_args(),
        )
        return cls(pool, tracer=tracer)

    async def _run(self, method: str, sql: str, args: list[Any]) -> Any:
        import asyncpg

        try:
            return await getattr(self._pool, method)(sql, *args)
        except (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,  # "another operation is in progress" on a connection cut mid-query
            ConnectionError,
        ) as exc:
            # A restart or fail-over broke the pooled connections: replace them all, retry this read once.
            log.warning("read connection broken (%s): reconnecting the pool", type(exc).__name__)
            await self._pool.expire_connections()
            return await getattr(self._pool, method)(sql, *args)

    async def fetch_one(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Row | None:
        """Return the first row, or None."""
        sql, args = self._compiler.prepare(stmt, params)
        with traced(self._tracer, "postgresql", sql):
            row: Row | None = await self._run("fetchrow", sql, args)
        return row

    async def fetch_all(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Return every row."""
        sql, args = self._compiler.prepare(stmt, params)
        with traced(self._tracer, "postgresql", sql):
            return list(await self._run("fetch", sql, args))

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()


async def open_read_store(
    raw_url: str, *, pool_size: int, tracer: Tracer, timeouts: Timeouts | None = None
) -> ReadStore:
    """Open the read store for a database URL."""
    url = make_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("the SQLite store must be a file")
        busy_ms = int((timeouts or Timeouts()).lock * 1000)
        return SqliteReadStore(url.database, tracer=tracer, busy_ms=busy_ms)
    return await PgReadStore.open(raw_url, pool_size=pool_size, tracer=tracer, timeouts=timeouts)
