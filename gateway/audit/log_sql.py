"""The audit log's statements and checkpoint rule, shared by its SQLite and PostgreSQL sequencers."""

from __future__ import annotations

import datetime as dt

from gateway.audit.batch import COLUMNS

PROBE_LOCK_MS = 250  # how long a readiness probe waits for the audit locks (appends queue behind it)

EVENT_COLS = ("seq", "ts", *COLUMNS, "body", "hash")
LAST_CP = "SELECT tree_size, chain_hash, frontier, ts FROM audit_checkpoint ORDER BY tree_size DESC LIMIT 1"
HEAD = "SELECT seq, base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1"
CP_COLS = "tree_size, ts, root_hash, chain_hash, key_id, body, signature, frontier"
# Statements built once from the constant column lists above (no caller input reaches them).
INSERT_EVENT_Q = (
    f"INSERT INTO audit_event ({', '.join(EVENT_COLS)}) VALUES ({', '.join('?' * len(EVENT_COLS))})"  # noqa: S608
)
INSERT_EVENT_N = (
    f"INSERT INTO audit_event ({', '.join(EVENT_COLS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLS) + 1))})"
)
INSERT_CP_Q = f"INSERT OR IGNORE INTO audit_checkpoint ({CP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
INSERT_CP_N = (
    f"INSERT INTO audit_checkpoint ({CP_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "  # noqa: S608
    "ON CONFLICT (tree_size) DO NOTHING"
)


def due(last: tuple[int, dt.datetime] | None, head: int, *, every: int, seconds: float) -> bool:
    """Tell whether a checkpoint is due at `head` after the last one (`last`: its size and time)."""
    size, when = last or (0, dt.datetime.min.replace(tzinfo=dt.UTC))
    if head <= size:
        return False
    return head - size >= every or (dt.datetime.now(dt.UTC) - when).total_seconds() >= seconds
