"""What the walk checks the events against: the store's signed checkpoints and the witnessed ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.audit.checkpoints import signature_valid
from gateway.audit.findings import Failed, Finding, Report, failed
from gateway.audit.merkle import Frontier
from gateway.audit.trust import Trust, mismatch, stored_checkpoint_problem, uncovered_of, uncovered_problem
from gateway.audit.witness import WitnessedCheckpoint


@dataclass(slots=True)
class StoredCheckpoints:
    """The store's checkpoint rows and the keys published in the store."""

    rows: list[tuple[Any, ...]]
    keys: dict[str, bytes]

    def stored(self, size: int) -> tuple[Any, ...] | None:
        return next((r for r in self.rows if r[0] == size), None)

    def check_signatures(self, trust: Trust | None) -> None:
        for row in self.rows:
            size, _ts, root, chain, key_id, body, sig, frontier = row
            if trust is not None and trust.pinned:
                if problem := stored_checkpoint_problem(row, trust=trust, store_keys=self.keys):
                    raise failed(problem)
            else:
                pub = self.keys.get(key_id)
                if pub is None or not signature_valid(bytes(body), bytes(sig), pub):
                    raise Failed(Finding(size, "checkpoint", f"checkpoint {size}: signature does not verify"))
            doc = orjson.loads(bytes(body))
            if (doc.get("tree_size"), doc.get("root_hash"), doc.get("chain_hash"), doc.get("key_id")) != (
                size,
                bytes(root).hex(),
                bytes(chain).hex(),
                key_id,
            ):
                raise Failed(
                    Finding(size, "checkpoint", f"checkpoint {size}: columns differ from signed body")
                )
            if Frontier.from_hex(size, orjson.loads(frontier)).root() != bytes(root):
                raise Failed(
                    Finding(size, "checkpoint", f"checkpoint {size}: stored frontier is not its root")
                )


def check_tail(dbapi: Any, report: Report, *, trust: Trust, anchor: int, postgres: bool) -> None:
    first_time = None
    if report.last_seq > anchor:
        cur = dbapi.cursor()
        cur.execute(f"SELECT body FROM audit_event WHERE seq = {int(anchor) + 1}")  # noqa: S608 (an int)
        raw = cur.fetchone()[0]
        first_time = orjson.loads(raw.encode() if isinstance(raw, str) else bytes(raw)).get("time")
        cur.close()
    note, problem = uncovered_problem(
        uncovered_of(anchor=anchor, last_seq=report.last_seq, first_time=first_time), trust=trust
    )
    report.notes.append(note)
    if problem is not None:
        raise failed(problem)


@dataclass(slots=True)
class Marks:
    """Witnessed checkpoints the walk must reproduce, smallest first."""

    cps: StoredCheckpoints
    pending: list[WitnessedCheckpoint]
    matched: int = 0
    last_cp: int = 0

    def check(self, seq: int, *, root: bytes, chain: bytes) -> None:
        while self.pending and self.pending[0].checkpoint.tree_size == seq:
            w = self.pending.pop(0)
            if (w.checkpoint.root_hash, w.checkpoint.chain_hash) != (root, chain):
                raise failed(
                    mismatch(
                        w, stored=self.cps.stored(seq), lowest_unmatched=max(self.matched, self.last_cp) + 1
                    )
                )
            self.matched = seq
