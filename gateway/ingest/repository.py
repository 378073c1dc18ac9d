"""Idempotency-Key queries, on the runner's store (the completion commits in the push's own transaction).

A key is claimed by inserting its row: the primary key (client, source, key) is what a concurrent push
with the same key runs into, on SQLite and PostgreSQL alike, so two pushes never both proceed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from schemas.time import as_utc
from store.bulk import Store
from store.statements import RowInsert
from store.tables import table_of
from store.tables.ingest import IngestKeyRow

PROCESSING, DONE = "processing", "done"
_CLAIM = RowInsert(
    table_of(IngestKeyRow),
    ("client_id", "source", "idem_key", "fingerprint", "state", "created_at", "locked_until"),
    skip_on=("client_id", "source", "idem_key"),
)


class Claimed(StrEnum):
    """What claiming a key found."""

    NEW = "new"  # the key is ours: process the push
    REPLAY = "replay"  # done before with the same body: answer what was answered
    MISMATCH = "mismatch"  # used before with another body
    IN_FLIGHT = "in_flight"  # another request with this key is being processed


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim, with the stored answer of a replay."""

    outcome: Claimed
    status: int | None = None
    response: str | None = None


@dataclass(frozen=True, slots=True)
class KeyRef:
    """Whose key: client, source and the Idempotency-Key itself."""

    client_id: str
    source: str
    key: str


def claim(store: Store, *, ref: KeyRef, fingerprint: str, now: dt.datetime, lease: dt.timedelta) -> Claim:
    """Claim a key for a push of the body with `fingerprint`, or say why not."""
    inserted = store.insert_one(
        _CLAIM,
        (ref.client_id, ref.source, ref.key, fingerprint, PROCESSING, store.ts(now), store.ts(now + lease)),
    )
    if inserted:
        return Claim(Claimed.NEW)
    rows = store.rows(
        "SELECT fingerprint, state, status, response, locked_until FROM ingest_key "
        "WHERE client_id = ? AND source = ? AND idem_key = ?",
        (ref.client_id, ref.source, ref.key),
    )
    if not rows:  # purged between the two statements: the key is free again
        return claim(store, ref=ref, fingerprint=fingerprint, now=now, lease=lease)
    stored, state, status, response, locked_until = rows[0]
    if stored != fingerprint:
        return Claim(Claimed.MISMATCH)
    if state == DONE:
        return Claim(Claimed.REPLAY, status=status, response=response)
    until = as_utc(locked_until)
    if until is not None and until > now:
        return Claim(Claimed.IN_FLIGHT)
    # The process that claimed it died mid-push (its transaction rolled back): take the key over, once.
    taken = store.run(
        "UPDATE ingest_key SET locked_until = ? WHERE client_id = ? AND source = ? AND idem_key = ? "
        "AND state = ? AND locked_until = ?",
        (store.ts(now + lease), ref.client_id, ref.source, ref.key, PROCESSING, locked_until),
    )
    return Claim(Claimed.NEW if taken else Claimed.IN_FLIGHT)


def complete(store: Store, *, ref: KeyRef, status: int, response: str) -> None:
    """Store the push's answer for replays (in the transaction that commits its records)."""
    store.run(
        "UPDATE ingest_key SET state = ?, status = ?, response = ?, locked_until = NULL "
        "WHERE client_id = ? AND source = ? AND idem_key = ?",
        (DONE, status, response, ref.client_id, ref.source, ref.key),
    )


def release(store: Store, *, ref: KeyRef) -> None:
    """Free a key whose push failed before committing, so the client may retry with it."""
    store.run(
        "DELETE FROM ingest_key WHERE client_id = ? AND source = ? AND idem_key = ? AND state = ?",
        (ref.client_id, ref.source, ref.key, PROCESSING),
    )


def purge(store: Store, *, before: dt.datetime) -> int:
    """Forget answered keys created before `before` (the draft's key expiry); return how many."""
    return store.run("DELETE FROM ingest_key WHERE state = ? AND created_at < ?", (DONE, store.ts(before)))
