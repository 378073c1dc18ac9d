"""The SQLite sequencer: appends on the event loop when the write lock is free at once, else on a thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.audit.batch import Base, extend, prepare
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
from gateway.resilience import StoreUnavailable
from schemas.time import as_utc
from store.engines import Timeouts


def _append_on(conn: sqlite3.Connection, events: list[AuditEvent], *, begun: bool = False) -> list[int]:
    """Assign seq after the head, insert and commit, under the write lock (taken here unless `begun`)."""
    if not begun:
        conn.execute("BEGIN IMMEDIATE")
    try:
        seq, head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        batch = prepare(seq, head, events)
        rows = [(r[0], _sqlite_ts(r[1]), *r[2:]) for r in batch.events]
        conn.executemany(INSERT_EVENT.sql("sqlite"), INSERT_EVENT.rows(rows))
        if batch.records:
            conn.executemany(INSERT_RECORD.sql("sqlite"), batch.records)
        conn.execute(MOVE_HEAD.sql("sqlite"), (batch.last_seq, batch.last_hash))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return list(range(batch.first_seq, batch.last_seq + 1))


def _checkpoint_on(
    conn: sqlite3.Connection, key: AuditKey, every: int, seconds: float
) -> tuple[Checkpoint | None, int]:
    """Sign and store a checkpoint over the events since the last one, when one is due; return it
    (None when not due) with the size of the latest checkpoint, found or signed."""
    head, base_seq, base_hash, base_frontier = conn.execute(HEAD).fetchone()
    last = conn.execute(LAST_CP).fetchone()
    prior = (last[0], as_utc(last[3])) if last else None
    signed = last[0] if last else base_seq
    if not due(prior, head, every=every, seconds=seconds):
        return None, signed
    base = Base.stored(*last[:3]) if last else Base.stored(base_seq, base_hash, base_frontier)
    rows = conn.execute(RANGE.sql("sqlite"), (base.size, head)).fetchall()
    cp, frontier = extend(base, rows, key=key)
    row = (cp.tree_size, _sqlite_ts(cp.time), cp.root_hash, cp.chain_hash, cp.key_id, cp.body(), cp.signature)
    conn.execute(INSERT_CP.sql("sqlite"), (*row, frontier))
    return cp, cp.tree_size


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
        self._signed = 0

    @property
    def signed_size(self) -> int:
        """Return the tree size of the latest checkpoint the last `checkpoint` call found or signed."""
        return self._signed

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
        cp, self._signed = _checkpoint_on(conn, key, every, seconds)
        return cp

    async def checkpoint(self, key: AuditKey, *, every: int, seconds: float) -> Checkpoint | None:
        """Sign a checkpoint when `every` events or `seconds` have passed since the last one."""
        result: Checkpoint | None = await self._run(self._checkpoint_sync, key, every, seconds)
        return result

    def _publish_sync(self, key: AuditKey) -> None:
        self._connect().execute(
            INSERT_KEY.sql("sqlite"), (key.key_id, key.public_raw, _sqlite_ts(dt.datetime.now(dt.UTC)))
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
