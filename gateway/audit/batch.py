"""Turning a batch of events into rows once seq and the previous hash are known (shared by all stores)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.audit.chain import link
from gateway.audit.checkpoints import AuditKey, Checkpoint
from gateway.audit.events import AuditEvent
from gateway.audit.merkle import Frontier

# Column widths of audit_event (store/tables/audit.py); values are clipped the same way on
# write and on verify, so an over-long value can never fail a whole batch.
WIDTHS: dict[str, int] = {
    "kind": 16,
    "client_id": 128,
    "department": 128,
    "purpose": 256,
    "end_user": 128,
    "case_id": 128,
    "method": 16,
    "route": 256,
    "resource": 64,
    "decision": 16,
    "reason": 256,
    "trace_id": 32,
}
COLUMNS: tuple[str, ...] = (*WIDTHS, "status")
RECORD_ID_WIDTH = 64


def columns_of(doc: dict[str, Any]) -> tuple[Any, ...]:
    """Return the filter columns of an event document, in COLUMNS order."""
    out: list[Any] = []
    for name, width in WIDTHS.items():
        value = doc.get(name)
        out.append(value[:width] if isinstance(value, str) else value)
    out.append(doc.get("status"))
    return tuple(out)


def index_ids(record_ids: list[str]) -> list[str]:
    """Return the distinct record ids an event indexes (ids longer than the column are not indexed)."""
    return list(dict.fromkeys(r for r in record_ids if len(r) <= RECORD_ID_WIDTH))


@dataclass(slots=True, kw_only=True)
class PreparedBatch:
    """Rows of one batch: events (seq, ts, *columns, body, hash) and record index (record_id, seq)."""

    events: list[tuple[Any, ...]]
    records: list[tuple[str, int]]
    first_seq: int
    last_seq: int
    last_hash: bytes


def prepare(head_seq: int, head_hash: bytes, events: list[AuditEvent]) -> PreparedBatch:
    """Assign sequence numbers after the head and chain each event to the one before."""
    rows: list[tuple[Any, ...]] = []
    records: list[tuple[str, int]] = []
    prev = head_hash
    seq = head_seq
    for ev in events:
        seq += 1
        doc = ev.document(seq=seq)
        body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        _, prev = link(prev, body)
        rows.append((seq, ev.time.astimezone(dt.UTC), *columns_of(doc), body, prev))
        records.extend((rid, seq) for rid in index_ids(ev.record_ids))
    return PreparedBatch(events=rows, records=records, first_seq=head_seq + 1, last_seq=seq, last_hash=prev)


@dataclass(slots=True)
class Base:
    """Where a checkpoint extension starts: size, chain hash and Merkle frontier at that size."""

    size: int
    chain: bytes
    frontier: Frontier

    @classmethod
    def stored(cls, size: int, chain: bytes, frontier_json: str) -> Base:
        """Rebuild a base from a checkpoint's or the head's stored columns."""
        return cls(size, chain, Frontier.from_hex(size, orjson.loads(frontier_json)))


class ChainBroken(RuntimeError):
    """The store's events do not chain; the signer refuses to sign (run `gateway audit verify`)."""


def extend(base: Base, rows: list[tuple[int, bytes, bytes]], *, key: AuditKey) -> tuple[Checkpoint, str]:
    """Check rows (seq, body, hash) continue `base`, and return the signed checkpoint and its frontier."""
    frontier = base.frontier.copy()
    prev = base.chain
    expected = base.size + 1
    for seq, body, stored in rows:
        leaf, prev = link(prev, bytes(body))
        if seq != expected or prev != bytes(stored):
            raise ChainBroken(f"audit chain broken at event {expected}; refusing to sign a checkpoint")
        frontier.append(leaf)
        expected += 1
    cp = Checkpoint(
        tree_size=frontier.size,
        time=dt.datetime.now(dt.UTC),
        root_hash=frontier.root(),
        chain_hash=prev,
        key_id=key.key_id,
    ).signed(key)
    return cp, orjson.dumps(frontier.to_hex()).decode()
