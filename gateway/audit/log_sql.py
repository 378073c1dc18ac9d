"""The audit log's statements and checkpoint rule, shared by its SQLite and PostgreSQL sequencers."""

from __future__ import annotations

import datetime as dt

from gateway.audit.batch import COLUMNS
from store.statements import DriverSql, RowInsert
from store.tables import table_of
from store.tables.audit import AuditCheckpointRow, AuditEventRecordRow, AuditEventRow, AuditKeyRow

PROBE_LOCK_MS = 250  # how long a readiness probe waits for the audit locks (appends queue behind it)

EVENT_COLS = ("seq", "ts", *COLUMNS, "body", "hash")
LAST_CP = "SELECT tree_size, chain_hash, frontier, ts FROM audit_checkpoint ORDER BY tree_size DESC LIMIT 1"
HEAD = "SELECT seq, base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1"
# Statements built from the tables once, in each driver's placeholders (store/statements.py).
INSERT_EVENT = RowInsert(table_of(AuditEventRow), EVENT_COLS)
INSERT_CP = RowInsert(
    table_of(AuditCheckpointRow),
    ("tree_size", "ts", "root_hash", "chain_hash", "key_id", "body", "signature", "frontier"),
    skip_on=("tree_size",),
)
INSERT_RECORD = RowInsert(table_of(AuditEventRecordRow), ("record_id", "seq"))
INSERT_KEY = RowInsert(table_of(AuditKeyRow), ("key_id", "public_key", "created_at"), skip_on=("key_id",))
MOVE_HEAD = DriverSql("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", "seq", "hash")
RANGE = DriverSql(
    "SELECT seq, body, hash FROM audit_event WHERE seq > :after AND seq <= :upto ORDER BY seq",
    "after",
    "upto",
)


def due(last: tuple[int, dt.datetime] | None, head: int, *, every: int, seconds: float) -> bool:
    """Tell whether a checkpoint is due at `head` after the last one (`last`: its size and time)."""
    size, when = last or (0, dt.datetime.min.replace(tzinfo=dt.UTC))
    if head <= size:
        return False
    return head - size >= every or (dt.datetime.now(dt.UTC) - when).total_seconds() >= seconds
