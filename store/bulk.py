"""The runner's access to the store: driver-level executemany and bulk IN lookups (SQLite, PostgreSQL).

The sync path writes hundreds of thousands of rows; SQLAlchemy Core's per-row type processing costs
about as much as SQLite itself, so statements go to the driver (qmark SQL, rewritten for psycopg) with
timestamps already in the stored form. Every write transaction takes the store's sync write lock first
(BEGIN IMMEDIATE on SQLite, a transaction-scoped advisory lock on PostgreSQL): linking reads and then
writes, and two syncs of different sources must not both mint a resident for one new citizen ID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from schemas.time import sqlite_text
from store.statements import RowInsert

# pg_advisory_xact_lock key of the sync write lock: any constant the rest of the gateway does not use.
PG_LOCK_KEY = 0x58_5A_53_59_4E_43  # "XZSYNC"
IN_CHUNK = 500


class Store:
    """One connection of the sync, in or out of a write transaction."""

    def __init__(self, conn: Connection) -> None:
        """Wrap a connection (in a transaction begun through it); statements go to its driver cursor."""
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._ts: dict[dt.datetime, str] = {}

    def ts(self, moment: dt.datetime | None) -> Any:
        """Return a timestamp as the store keeps it (SQLite: naive UTC text, as SQLAlchemy writes it)."""
        if moment is None or self.pg:
            return moment
        text = self._ts.get(moment)
        if text is None:
            if len(self._ts) > 100_000:
                self._ts.clear()
            text = self._ts[moment] = sqlite_text(moment)
        return text

    def day(self, value: dt.date | None) -> Any:
        """Return a date as the store keeps it (SQLite: ISO text)."""
        if value is None or self.pg:
            return value
        return value.isoformat()

    def sql(self, text: str) -> str:
        """Rewrite qmark placeholders for the driver."""
        return text.replace("?", "%s") if self.pg else text

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for every row (executemany)."""
        if rows:
            self.cursor.executemany(self.sql(text), rows)

    def run(self, text: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the affected row count."""
        self.cursor.execute(self.sql(text), tuple(params))
        return int(self.cursor.rowcount or 0)

    def rows(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; return its rows as tuples."""
        self.cursor.execute(self.sql(text), tuple(params))
        return list(self.cursor.fetchall())

    def rows_in(
        self, text: str, values: Iterable[Any], *, before: Sequence[Any] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Run a query whose `IN ({in})` takes `values`, in chunks; `before` binds earlier placeholders."""
        items = list(dict.fromkeys(values))
        for start in range(0, len(items), IN_CHUNK):
            chunk = items[start : start + IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            self.cursor.execute(self.sql(text.format(**{"in": marks})), (*before, *chunk))
            yield from self.cursor.fetchall()

    def run_in(self, text: str, values: Iterable[Any], *, before: Sequence[Any] = ()) -> int:
        """Run a statement whose `IN ({in})` takes `values`, in chunks; return the affected row count."""
        items = list(dict.fromkeys(values))
        total = 0
        for start in range(0, len(items), IN_CHUNK):
            chunk = items[start : start + IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            self.cursor.execute(self.sql(text.format(**{"in": marks})), (*before, *chunk))
            total += int(self.cursor.rowcount or 0)
        return total

    def insert(self, statement: RowInsert, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows with a statement built from its table (store/statements.py) for this driver."""
        if rows:
            self.cursor.executemany(statement.sql("psycopg" if self.pg else "sqlite"), statement.rows(rows))

    def insert_one(self, statement: RowInsert, values: Sequence[Any]) -> int:
        """Insert (or upsert) one row with a statement built from its table; return the affected count."""
        self.cursor.execute(statement.sql("psycopg" if self.pg else "sqlite"), tuple(statement.row(values)))
        return int(self.cursor.rowcount or 0)


@contextmanager
def write_tx(conn: Connection) -> Iterator[Store]:
    """Run a block in one write transaction holding the sync write lock; commit on success."""
    if conn.in_transaction():
        conn.commit()
    if conn.dialect.name == "sqlite":
        # Take the write lock up front: a deferred transaction that reads and then writes fails with
        # SQLITE_BUSY_SNAPSHOT when the server's audit writer committed in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
    try:
        yield Store(conn)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def sync_connection(engine: Engine) -> Iterator[Connection]:
    """Open the one connection a sync uses for all its transactions, tuned for bulk writes on SQLite."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # A fixed 64 MiB page cache keeps the hot index pages of a large store in memory (memory
            # stays flat in source size); checkpointing the WAL every 16k pages instead of every 1k
            # turns a flush per few batches into one per many. Both last for this connection only.
            conn.exec_driver_sql("PRAGMA cache_size = -65536")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 16384")
            conn.commit()
        try:
            yield conn
        finally:
            if conn.dialect.name == "sqlite":
                if conn.in_transaction():
                    conn.rollback()
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 1000")  # SQLite's defaults again
                conn.exec_driver_sql("PRAGMA cache_size = -2000")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                conn.commit()
