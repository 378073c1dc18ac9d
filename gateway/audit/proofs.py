"""Inclusion proofs and checkpoint checks served to auditors, computed from the store."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.audit import repository as repo
from gateway.audit.batch import Base
from gateway.audit.chain import link
from gateway.audit.checkpoints import signature_valid
from gateway.audit.merkle import (
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    mth,
    node_hash,
    split_point,
)
from store.read import ReadStore


class ProofUnavailable(Exception):
    """The event or tree size cannot be proven (not covered, archived or unknown)."""


def checkpoint_json(row: tuple[Any, ...]) -> dict[str, Any]:
    """Render a checkpoint row for auditors: the signed body (as text) and its signature."""
    tree_size, _ts, root, chain, key_id, body, signature, _frontier = row
    doc = orjson.loads(bytes(body))
    return {
        "tree_size": int(tree_size),
        "time": doc["time"],
        "root_hash": bytes(root).hex(),
        "chain_hash": bytes(chain).hex(),
        "key_id": key_id,
        "signed_body": bytes(body).decode(),
        "signature": base64.b64encode(bytes(signature)).decode(),
    }


async def inclusion(db: ReadStore, seq: int, *, tree_size: int | None) -> dict[str, Any]:
    """Return an RFC 9162 inclusion proof of event `seq` against a checkpoint (the latest by default)."""
    cp = await repo.checkpoint_at(db, tree_size)
    if cp is None:
        raise ProofUnavailable("no checkpoint of that tree size" if tree_size else "no checkpoint yet")
    size = int(cp[0])
    if seq > size:
        raise ProofUnavailable(f"event {seq} is not yet covered by a checkpoint (latest covers {size})")
    found = await repo.event_body(db, seq)
    if found is None:
        raise ProofUnavailable(f"event {seq} is not in the store (archived or never written)")
    _, base_seq, _, base_frontier = await repo.head(db)
    # Known subtree roots: every checkpoint's frontier and the archive base's; the rest from leaves.
    known: dict[tuple[int, int], bytes] = {}
    start = 0
    sources = [(base_seq, base_frontier), *await repo.frontiers_upto(db, size)]
    for fsize, fjson in sources:
        if fsize < seq:  # a frontier ending at or before the leaf's index can stand in for leaves
            known.update(Frontier.from_hex(fsize, orjson.loads(fjson)).subtrees())
            start = max(start, fsize)
    leaves = [leaf_hash(body) for _, body, _ in await repo.bodies_between(db, start, size)]

    def subtree(a: int, b: int) -> bytes:
        hit = known.get((a, b))
        if hit is not None:
            return hit
        if a >= start:
            return mth(leaves, a - start, b - start)
        if b - a == 1:
            raise ProofUnavailable("the proof needs archived leaves")
        k = split_point(b - a)  # a range straddling the frontier: split down to its peaks
        return node_hash(subtree(a, a + k), subtree(a + k, b))

    path = inclusion_path(seq - 1, size, subtree)
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": leaf_hash(found[0]).hex(),
        "chain_hash": found[1].hex(),
        "audit_path": [p.hex() for p in path],
        "event": orjson.loads(found[0]),
        "checkpoint": checkpoint_json(cp),
    }


async def consistency(db: ReadStore, *, first: int, second: int) -> dict[str, Any]:
    """Return an RFC 9162 consistency proof that checkpoint `second` extends checkpoint `first`."""
    if first > second:
        raise ProofUnavailable(f"first ({first}) must not exceed second ({second})")
    older = await repo.checkpoint_at(db, first)
    newer = await repo.checkpoint_at(db, second)
    if older is None or newer is None:
        raise ProofUnavailable(f"no signed checkpoint of tree size {first if older is None else second}")
    _, base_seq, _, _ = await repo.head(db)
    if base_seq > first:
        raise ProofUnavailable(f"events after {first} are archived up to {base_seq}: use the archives")
    # Every node of the proof left of `first` is a root of first's frontier (its perfect subtrees);
    # the rest are hashed from the stored leaves between the two.
    known = Frontier.from_hex(first, orjson.loads(older[7])).subtrees()
    leaves = [leaf_hash(body) for _, body, _ in await repo.bodies_between(db, first, second)]
    if len(leaves) != second - first:
        raise ProofUnavailable(f"events {first + 1}..{second} are not all in the store")

    def subtree(a: int, b: int) -> bytes:
        hit = known.get((a, b))
        if hit is not None:
            return hit
        if a >= first:
            return mth(leaves, a - first, b - first)
        if b <= first:
            raise ProofUnavailable("the proof needs a node inside the older tree")  # not in RFC 9162's proofs
        k = split_point(b - a)
        return node_hash(subtree(a, a + k), subtree(a + k, b))

    return {
        "first": checkpoint_json(older),
        "second": checkpoint_json(newer),
        "consistency_path": [p.hex() for p in consistency_path(first, second, subtree)],
    }


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    """The result of checking the latest checkpoint against its predecessor and the stored events."""

    checkpoint: dict[str, Any] | None
    signature_ok: bool
    events_ok: bool
    detail: str

    @property
    def ok(self) -> bool:
        """Tell whether every check passed."""
        return self.signature_ok and self.events_ok


async def check_latest(db: ReadStore) -> CheckpointCheck:
    """Verify the latest checkpoint's signature and recompute it from the previous one plus the events."""
    cp = await repo.checkpoint_at(db, None)
    if cp is None:
        return CheckpointCheck(None, False, False, "尚无检查点 (no checkpoint yet)")
    keys = {k: pub for k, pub, _ in await repo.keys(db)}
    sig_ok = cp[4] in keys and signature_valid(bytes(cp[5]), bytes(cp[6]), keys[cp[4]])
    prev = await repo.previous_checkpoint(db, int(cp[0]))
    if prev is not None:
        base = Base.stored(int(prev[0]), bytes(prev[3]), str(prev[7]))
    else:
        _, base_seq, base_hash, base_frontier = await repo.head(db)
        base = Base.stored(base_seq, base_hash, base_frontier)
    frontier = base.frontier.copy()
    chain = base.chain
    expected = base.size + 1
    for seq, body, stored in await repo.bodies_between(db, base.size, int(cp[0])):
        leaf, chain = link(chain, body)
        if seq != expected or chain != stored:
            return CheckpointCheck(checkpoint_json(cp), sig_ok, False, f"事件 {expected} 校验失败")
        frontier.append(leaf)
        expected += 1
    events_ok = frontier.size == int(cp[0]) and frontier.root() == bytes(cp[2]) and chain == bytes(cp[3])
    detail = "通过 (verified)" if events_ok and sig_ok else "未通过 (failed)"
    return CheckpointCheck(checkpoint_json(cp), sig_ok, events_ok, detail)
