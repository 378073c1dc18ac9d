"""Sinks write one committed batch of translated records into the store, with counts and dirty marks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from store.bulk import Store
from store.statements import RowInsert
from store.tables import table_of
from store.tables.records import SyncDirtyRow

MARK_DIRTY = RowInsert(table_of(SyncDirtyRow), ("key",), skip_on=("key",))


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """A record the batch holds back: its key, raw payload, reason code and message."""

    key: str
    payload: dict[str, Any]
    reason: str
    message: str
    kind: str


@dataclass
class BatchContext:
    """What every sink of one batch shares: the transaction, the source, the clock and the tallies."""

    store: Store
    source: str
    department: str
    now: dt.datetime
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0  # older copies of a record replaced by a later one (same key) in the batch or store
    held: list[Held] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)  # keys written or confirmed, to release from quarantine
    dirty: set[str] = field(default_factory=set)  # 'H…' households and 'R…' residents to recompute
    # Keys of the source's records open in quarantine (the runner's set, kept current by the sinks).
    held_keys: set[str] = field(default_factory=set)

    @property
    def now_ts(self) -> Any:
        """Return `now` as the store keeps timestamps."""
        return self.store.ts(self.now)

    def hold(self, key: str, payload: dict[str, Any], *, reason: str, message: str, kind: str) -> None:
        """Hold one record back for quarantine."""
        self.held.append(Held(key=key, payload=payload, reason=reason, message=message, kind=kind))

    def flush_dirty(self) -> None:
        """Record the dirty marks of the batch in the store (they survive a crash until refreshed)."""
        if self.dirty:
            self.store.insert(MARK_DIRTY, [(k,) for k in sorted(self.dirty)])
