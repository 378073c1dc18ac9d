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
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from gateway.audit.batch import COLUMNS, Base, PreparedBatch, extend, prepare
from gateway.audit.checkpoints import AuditKey, Checkpoint
from gateway.audit.events import AuditEvent
from gateway.db import Timeouts
from gateway.resilience import Backoff, StoreUnavailable
from schemas.time import as_utc

PROBE_LOCK_MS = 250  # how long a readiness probe waits for the audit locks (appends queue behind it)
LOCK_KEY = 0x787A_6175  # "xzau": the advisory lock every audit writer of a PostgreSQL store takes

_EVENT_COLS = ("seq", "ts", *COLUMNS, "body", "hash")
_LAST_CP = "SELECT tree_size, chain_hash, frontier, ts FROM audit_checkpoint ORDER BY tree_size DESC LIMIT 1"
_HEAD = "SELECT seq, base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1"
_CP_COLS = "tree_size, ts, root_hash, chain_hash, key_id, body, signature, frontier"
# Statements built once from the constant column lists above (no caller input reaches them).
_INSERT_EVENT_Q = (
    f"INSERT INTO audit_event ({', '.join(_EVENT_COLS)}) VALUES ({', '.join('?' * len(_EVENT_COLS))})"  # noqa: S608
)
_INSERT_EVENT_N = (
    f"INSERT INTO audit_event ({', '.join(_EVENT_COLS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_EVENT_COLS) + 1))})"
)
_INSERT_CP_Q = f"INSERT OR IGNORE INTO audit_checkpoint ({_CP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_INSERT_CP_N = (
    f"INSERT INTO audit_checkpoint ({_CP_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "  # noqa: S608
    "ON CONFLICT (tree_size) DO NOTHING"
)


class Sequencer(Protocol):
    """Append batches atomically and sign checkpoints on one store."""

    async def append(self, events: list[AuditEvent]) -> list[int]:
        """Commit the events in order; return their sequence numbers."""
        ...

    async def checkpoint(self, key: AuditKey, *, every: int, seconds: float) -> Checkpoint | None:
        """Sign a checkpoint when `every` events or `seconds` have passed since the last one."""
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


def _due(last: tuple[int, dt.datetime] | None, head: int, *, every: int, seconds: float) -> bool:
    size, when = last or (0, dt.datetime.min.replace(tzinfo=dt.UTC))
    if head <= size:
        return False
    return head - size >= every or (dt.datetime.now(dt.UTC) - when).total_seconds() >= seconds


def _append_on(conn: sqlite3.Connection, events: list[AuditEvent], *, begun: bool = False) -> list[int]:
    """Assign seq after the head, insert and commit, under the write lock (taken here unless `begun`)."""
    if not begun:
        conn.execute("BEGIN IMMEDIATE")
    try:
        seq, head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        batch = prepare(seq, head, events)
        rows = [(r[0], _sqlite_ts(r[1]), *r[2:]) for r in batch.events]
        conn.executemany(_INSERT_EVENT_Q, rows)
        if batch.records:
            conn.executemany("INSERT INTO audit_event_record (record_id, seq) VALUES (?, ?)", batch.records)
        conn.execute(
            "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (batch.last_seq, batch.last_hash)
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return list(range(batch.first_seq, batch.last_seq + 1))


def _checkpoint_on(conn: sqlite3.Connection, key: AuditKey, every: int, seconds: float) -> Checkpoint | None:
    """Sign and store a checkpoint over the events since the last one, when one is due."""
    head, base_seq, base_hash, base_frontier = conn.execute(_HEAD).fetchone()
    last = conn.execute(_LAST_CP).fetchone()
    prior = (last[0], as_utc(last[3])) if last else None
    if not _due(prior, head, every=every, seconds=seconds):
        return None
    base = Base.stored(*last[:3]) if last else Base.stored(base_seq, base_hash, base_frontier)
    rows = conn.execute(
        "SELECT seq, body, hash FROM audit_event WHERE seq > ? AND seq <= ? ORDER BY seq",
        (base.size, head),
    ).fetchall()
    cp, frontier = extend(base, rows, key=key)
    row = (cp.tree_size, _sqlite_ts(cp.time), cp.root_hash, cp.chain_hash, cp.key_id, cp.body(), cp.signature)
    conn.execute(_INSERT_CP_Q, (*row, frontier))
    return cp


def _open(path: str, *, busy_s: float, autocheckpoint: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_s, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a crash or kill -9 of the gateway (tested), not an OS
    # crash. FULL (fsync per batch) measured 63% of by-id throughput on this machine; deployments
    # needing power-loss durability run PostgreSQL (synchronous_commit=on, 9% measured).
    conn.execute("PRAGMA synchronous=NORMAL")
    # Bounded: a writer stalled on the database lock turns into 503s, not an endless wait.
    conn.execute(f"PRAGMA busy_timeout={int(busy_s * 1000)}")
    if not autocheckpoint:
        # The WAL is copied back (with an fsync) by the thread's connection, never on the event loop.
        conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


class SqliteSequencer:
    """Appends on the event loop when the write lock is free at once, else on a dedicated thread.

    A batch commit in WAL mode with synchronous=NORMAL is a few page writes without an fsync: less
    than the hop to a thread and back, which under load also queues the writer behind the loop for
    the GIL (a long tail on every request waiting for its batch). So a batch is first tried on the
    loop's own connection, which never waits for the lock (busy_timeout 0); when another connection
    holds it, the batch goes to the thread, which waits for the lock as long as the timeouts allow.
    Checkpoints, the WAL's copy-back and probes always run on the thread.
    """

    def __init__(self, path: str, *, timeouts: Timeouts | None = None, inline: bool = True) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._use_inline = inline
        self._busy = (timeouts or Timeouts(lock=30.0)).lock

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = _open(self._path, busy_s=self._busy)
        return self._conn

    async def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            # Reopen on the next call (a replaced file, a full disk freed); the batch was rolled back.
            await asyncio.get_running_loop().run_in_executor(self._pool, self._close_sync)
            self._close_inline()
            raise StoreUnavailable(f"the audit log cannot commit: {exc}") from exc

    def _ping_sync(self) -> None:
        conn = self._connect()
        # The write lock an append needs, waited for briefly: a probe must not delay the appends queued
        # behind it on this thread.
        conn.execute(f"PRAGMA busy_timeout={PROBE_LOCK_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy * 1000)}")

    async def ping(self) -> None:
        """Take and release the write lock through the sequencer's own connection."""
        await self._run(self._ping_sync)

    def _append_sync(self, events: list[AuditEvent]) -> list[int]:
        return _append_on(self._connect(), events)

    def _append_inline(self, events: list[AuditEvent]) -> list[int] | None:
        """Commit on the loop's connection if the write lock is free now; None when another holds it."""
        if self._inline is None:
            self._inline = _open(self._path, busy_s=0, autocheckpoint=False)
        try:
            self._inline.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None  # nothing was written: the thread waits for the lock instead
            raise
        return _append_on(self._inline, events, begun=True)

    def _close_inline(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    async def append(self, events: list[AuditEvent]) -> list[int]:
        """Commit the events in order; return their sequence numbers."""
        if self._use_inline:
            try:
                done = self._append_inline(events)
            except sqlite3.Error as exc:
                self._close_inline()  # reopened on the next batch; this one was rolled back
                raise StoreUnavailable(f"the audit log cannot commit: {exc}") from exc
            if done is not None:
                return done
        result: list[int] = await self._run(self._append_sync, events)
        return result

    def _checkpoint_sync(self, key: AuditKey, every: int, seconds: float) -> Checkpoint | None:
        conn = self._connect()
        if self._use_inline:
            # Copy the WAL back into the database here, off the loop (the loop's connection never does).
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return _checkpoint_on(conn, key, every, seconds)

    async def checkpoint(self, key: AuditKey, *, every: int, seconds: float) -> Checkpoint | None:
        """Sign a checkpoint when `every` events or `seconds` have passed since the last one."""
        result: Checkpoint | None = await self._run(self._checkpoint_sync, key, every, seconds)
        return result

    def _publish_sync(self, key: AuditKey) -> None:
        self._connect().execute(
            "INSERT OR IGNORE INTO audit_key (key_id, public_key, created_at) VALUES (?, ?, ?)",
            (key.key_id, key.public_raw, _sqlite_ts(dt.datetime.now(dt.UTC))),
        )

    async def publish_key(self, key: AuditKey) -> None:
        """Record the public key under its key id (idempotent)."""
        await self._run(self._publish_sync, key)

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """Release the connections and the thread."""
        self._close_inline()
        await self._run(self._close_sync)
        self._pool.shutdown(wait=True)


def _sqlite_ts(moment: dt.datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format (naive UTC), so Core filters compare like with like.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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
            await conn.executemany(_INSERT_EVENT_N, batch.events)
            if batch.records:
                await conn.executemany(
                    "INSERT INTO audit_event_record (record_id, seq) VALUES ($1, $2)", batch.records
                )
            await conn.execute(
                "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", batch.last_seq, batch.last_hash
            )
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
            head, base_seq, base_hash, base_frontier = await conn.fetchrow(_HEAD)
            last = await conn.fetchrow(_LAST_CP)
            if not _due((last[0], last[3]) if last else None, head, every=every, seconds=seconds):
                return None
            base = (
                Base.stored(last[0], bytes(last[1]), last[2])
                if last
                else Base.stored(base_seq, bytes(base_hash), base_frontier)
            )
            rows = await conn.fetch(
                "SELECT seq, body, hash FROM audit_event WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                base.size,
                head,
            )
            cp, frontier = extend(base, [(r[0], r[1], r[2]) for r in rows], key=key)
            await conn.execute(
                _INSERT_CP_N,
                cp.tree_size,
                cp.time,
                cp.root_hash,
                cp.chain_hash,
                cp.key_id,
                cp.body(),
                cp.signature,
                frontier,
            )
        return cp

    async def publish_key(self, key: AuditKey) -> None:
        """Record the public key under its key id (idempotent)."""
        async with self._lock:
            conn = await self._connection()
            await conn.execute(
                "INSERT INTO audit_key (key_id, public_key, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (key_id) DO NOTHING",
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
