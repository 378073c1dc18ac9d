"""The keys one pass of a source saw, kept in a temporary table of the sync's connection.

A full pass (or a source that lists its keys) withdraws the stored records the source no longer holds:
the stored keys of a kind less the keys the pass saw. Holding the seen keys in Python sets cost ~430
bytes a resident, so the sync's peak memory grew with the county (686 MB at 1M residents against 297 MB
at 100k, bench/results/2026-12-02-sync-1m.md); kept in a temporary table, appended in batches and
indexed once at the end, they cost the store a sort instead.

A source the store holds nothing of (its first sync: no stored record, nothing open in quarantine) has
nothing to withdraw: every record stored or held back during the pass was seen by it, so the ledger
notes nothing then.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from store.bulk import Store, write_tx

# Keys noted between writes: bounds the memory of a pass while keeping each executemany large.
PENDING = 20_000
_TABLE = "xz_sync_seen"
# The stored keys of each reconciled kind, as `key` (the statements below read them by this name).
STORED_SQL = {
    "person": "SELECT record_key AS key FROM resident_source WHERE source = ?",
    "enrollment": "SELECT record_key AS key FROM enrollment WHERE source = ?",
    # Services are stored as 'source:key': the ledger keeps the source's own key.
    "service": "SELECT substr(id, ?) AS key FROM service WHERE id >= ? AND id < ?",
}


def _stored_binds(kind: str, source: str) -> tuple[object, ...]:
    return (len(source) + 2, f"{source}:", f"{source};") if kind == "service" else (source,)


class SeenKeys:
    """The keys a pass saw (and its listings), per kind, in a temporary table; off until `start`."""

    def __init__(self, conn: Connection) -> None:
        """Bind the ledger to the sync's connection (a temporary table lives as long as its session)."""
        self.conn = conn
        self.active = False
        self.listed: set[str] = set()  # kinds the source listed completely this pass
        self._pending: list[tuple[str, str]] = []

    def start(self, store: Store, *, source: str, open_keys: set[str]) -> None:
        """Start noting, unless the store holds nothing of the source yet (then nothing can be withdrawn)."""
        self.active = bool(open_keys) or any(
            store.rows(f"{STORED_SQL[kind]} LIMIT 1", _stored_binds(kind, source)) for kind in STORED_SQL
        )
        if self.active:  # afresh: a table left by a failed pass may carry its index (slower appends)
            store.run(f"DROP TABLE IF EXISTS {_TABLE}")
            store.run(f"CREATE TEMPORARY TABLE {_TABLE} (kind TEXT NOT NULL, key TEXT NOT NULL)")

    def note(self, kind: str, keys: Iterable[str]) -> None:
        """Note keys of a kind the pass saw; write them out once enough are waiting."""
        if not self.active:
            return
        self._pending.extend((kind, key) for key in keys)
        if len(self._pending) >= PENDING and not self.conn.in_transaction():
            with write_tx(self.conn) as store:
                self.write(store)

    def write(self, store: Store) -> None:
        """Write the waiting keys to the temporary table (in the caller's transaction)."""
        if self._pending:
            store.many(f"INSERT INTO {_TABLE} (kind, key) VALUES (?, ?)", self._pending)  # noqa: S608
            self._pending = []

    def index(self, store: Store) -> None:
        """Write what waits and index the table once, for the anti-joins that follow."""
        self.write(store)
        store.run(f"CREATE INDEX IF NOT EXISTS {_TABLE}_key ON {_TABLE} (key, kind)")

    def missing(self, store: Store, kind: str, *, source: str) -> list[str]:
        """Return the stored keys of a kind the pass did not see, sorted."""
        sql = (
            f"SELECT stored.key FROM ({STORED_SQL[kind]}) stored WHERE NOT EXISTS "  # noqa: S608 - constants
            f"(SELECT 1 FROM {_TABLE} s WHERE s.kind = ? AND s.key = stored.key) ORDER BY stored.key"
        )
        return [k for (k,) in store.rows(sql, (*_stored_binds(kind, source), kind))]

    def unseen(self, store: Store, keys: Iterable[str]) -> list[str]:
        """Return those of `keys` the pass saw under no kind, sorted."""
        items = sorted(set(keys))
        seen = {k for (k,) in store.rows_in(f"SELECT key FROM {_TABLE} WHERE key IN ({{in}})", items)}  # noqa: S608
        return [k for k in items if k not in seen]

    def drop(self, store: Store) -> None:
        """Drop the temporary table (a pooled PostgreSQL session would otherwise keep it)."""
        if self.active:
            store.run(f"DROP TABLE IF EXISTS {_TABLE}")
        self.active = False
        self._pending = []
