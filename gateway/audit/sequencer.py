"""Serialised appends for one or many gateway processes: one linear sequence, no gaps, no forks.

PostgreSQL: each batch takes `pg_advisory_xact_lock`, reads the head row, inserts, moves the head and
commits. SQLite: `BEGIN IMMEDIATE` takes the database write lock before the head is read, which
serialises processes the same way. Either way seq and the previous hash are assigned inside the
lock, so two processes can never chain onto the same head.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from gateway.audit.batch import Base, PreparedBatch, extend, prepare
from gateway.audit.checkpoints import AuditKey, Checkpoint
from gateway.audit.events import AuditEvent
from gateway.audit.log_sql import (
    HEAD,
    INSERT_CP,
    INSERT_EVENT,
    INSERT_KEY,
    INSERT_RECORD,
    LAST_CP,
    MOVE_HEAD,
    PROBE_LOCK_MS,
    RANGE,
    due,
)
from gateway.audit.sqlite_sequencer import SqliteSequencer
from gateway.resilience import Backoff, StoreUnavailable
from store.engines import Timeouts

LOCK_KEY = 0x787A_6175  # "xzau": the advisory lock every audit writer of a PostgreSQL store takes


class Sequencer(Protocol):
    """Append batches atomically and sign checkpoints on one store."""

    async def append(self, events: list[AuditEvent]) -> list[int]:
        """Commit the events in order; return their sequence numbers."""
        ...

    async def checkpoint(self, key: AuditKey, *, every: int, seconds: float) -> Checkpoint | None:
        """Sign a checkpoint when `every` events or `seconds` have passed since the last one."""
        ...

    @property
    def signed_size(self) -> int:
        """Return the tree size of the latest checkpoint the last `checkpoint` call found or signed."""
        ...

    async def publish_key(self, key: AuditKey) -> None:
        """Record the public key under its key id (idempotent)."""
        ...

    async def ping(self) -> None:
        """Take the locks an append takes, through the sequencer's own connection (reconnecting)."""
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...


class PgSequencer:
    """Appends through one asyncpg connection; the advisory lock orders every process's batches.

    The connection is reopened (with bounded back-off) when it breaks: a restart, a fail-over, a
    proxy's idle timeout or `pg_terminate_backend`. A batch that met a broken connection is retried
    once on the new one; if the break came during COMMIT, the head tells whether it landed (the
    chain hash of its last event is deterministic), so nothing is written twice.
    """

    def __init__(self, raw_url: str, *, timeouts: Timeouts | None = None) -> None:
        url = make_url(raw_url)
        self._params: dict[str, Any] = {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "user": url.username,
            "password": url.password,
            "database": url.database,
            **(timeouts or Timeouts()).asyncpg_args(),
        }
        self._conn: Any = None
        self._lock = asyncio.Lock()  # one statement stream per connection
        self._backoff = Backoff()
        self._signed = 0

    @property
    def signed_size(self) -> int:
        """Return the tree size of the latest checkpoint the last `checkpoint` call found or signed."""
        return self._signed

    @classmethod
    async def open(cls, raw_url: str, *, timeouts: Timeouts | None = None) -> PgSequencer:
        """Connect to the store (fails at start when it is unreachable)."""
        seq = cls(raw_url, timeouts=timeouts)
        await seq._connection()
        return seq

    async def _connection(self) -> Any:
        import asyncpg

        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        if not self._backoff.ready():
            raise StoreUnavailable(
                "the audit log is reconnecting to the store",
                retry_after=max(1, math.ceil(self._backoff.wait())),
            )
        try:
            self._conn = await asyncpg.connect(**self._params)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._backoff.failed()
            raise StoreUnavailable(f"the audit log cannot reach the store: {type(exc).__name__}") from exc
        self._backoff.succeeded()
        return self._conn

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    def _broken(self, exc: BaseException) -> bool:
        """Tell whether the connection is unusable after `exc` (timeouts on the server leave it usable)."""
        import asyncpg

        if isinstance(exc, asyncpg.QueryCanceledError | asyncpg.LockNotAvailableError):
            return False
        return self._conn is None or self._conn.is_closed() or not isinstance(exc, asyncpg.PostgresError)

    async def _append_on(self, conn: Any, events: list[AuditEvent], tried: list[PreparedBatch]) -> list[int]:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            head = await conn.fetchrow("SELECT seq, hash FROM audit_head WHERE id = 1")
            batch = prepare(head[0], bytes(head[1]), events)
            tried.append(batch)
            await conn.executemany(INSERT_EVENT.sql("asyncpg"), INSERT_EVENT.rows(batch.events))
            if batch.records:
                await conn.executemany(INSERT_RECORD.sql("asyncpg"), batch.records)
            await conn.execute(MOVE_HEAD.sql("asyncpg"), batch.last_seq, batch.last_hash)
        return list(range(batch.first_seq, batch.last_seq + 1))

    async def _landed(self, conn: Any, batch: PreparedBatch) -> bool:
        stored = await conn.fetchval("SELECT hash FROM audit_event WHERE seq = $1", batch.last_seq)
        return stored is not None and bytes(stored) == batch.last_hash

    async def append(self, events: list[AuditEvent]) -> list[int]:
        """Commit the events in order; return their sequence numbers."""
        tried: list[PreparedBatch] = []
        async with self._lock:
            for attempt in (1, 2):
                conn = await self._connection()
                try:
                    if tried and await self._landed(conn, tried[-1]):
                        return list(range(tried[-1].first_seq, tried[-1].last_seq + 1))
                    return await self._append_on(conn, events, tried)
                except Exception as exc:
                    if not self._broken(exc):
                        raise StoreUnavailable(
                            f"the audit log could not commit in time: {type(exc).__name__}"
                        ) from exc
                    self._discard()
                    if attempt == 2:
                        raise StoreUnavailable(
                            f"the audit log lost its connection: {type(exc).__name__}"
                        ) from exc
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        """Take the audit locks through the sequencer's own connection (reconnecting if it broke)."""
        async with self._lock:
            conn = await self._connection()
            try:
                # What an append takes, released at once: a stalled holder makes this wait, then fail.
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL lock_timeout = {PROBE_LOCK_MS}")
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                    await conn.fetchval("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
            except Exception as exc:
                if self._broken(exc):
                    self._discard()
                raise StoreUnavailable(f"the audit log cannot read its head: {type(exc).__name__}") from exc

    async def checkpoint(self, key: AuditKey, *, every: int, seconds: float) -> Checkpoint | None:
        """Sign a checkpoint when `every` events or `seconds` have passed since the last one."""
        async with self._lock:
            conn = await self._connection()
            head, base_seq, base_hash, base_frontier = await conn.fetchrow(HEAD)
            last = await conn.fetchrow(LAST_CP)
            self._signed = last[0] if last else base_seq
            if not due((last[0], last[3]) if last else None, head, every=every, seconds=seconds):
                return None
            base = (
                Base.stored(last[0], bytes(last[1]), last[2])
                if last
                else Base.stored(base_seq, bytes(base_hash), base_frontier)
            )
            rows = await conn.fetch(RANGE.sql("asyncpg"), base.size, head)
            cp, frontier = extend(base, [(r[0], r[1], r[2]) for r in rows], key=key)
            await conn.execute(
                INSERT_CP.sql("asyncpg"),
                cp.tree_size,
                cp.time,
                cp.root_hash,
                cp.chain_hash,
                cp.key_id,
                cp.body(),
                cp.signature,
                frontier,
            )
            self._signed = cp.tree_size
        return cp

    async def publish_key(self, key: AuditKey) -> None:
        """Record the public key under its key id (idempotent)."""
        async with self._lock:
            conn = await self._connection()
            await conn.execute(
                INSERT_KEY.sql("asyncpg"),
                key.key_id,
                key.public_raw,
                dt.datetime.now(dt.UTC),
            )

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None


async def open_sequencer(raw_url: str, *, timeouts: Timeouts | None = None) -> Sequencer:
    """Open the sequencer for a store URL (timeouts bound every commit; None: the CLI's patient ones)."""
    url = make_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("the audit log needs a file-backed SQLite store")
        return SqliteSequencer(url.database, timeouts=timeouts)
    return await PgSequencer.open(raw_url, timeouts=timeouts)
