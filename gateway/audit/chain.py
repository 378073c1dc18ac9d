"""The hash chain: each event's hash covers the previous hash and the event's leaf hash."""

from __future__ import annotations

import hashlib

from gateway.audit.merkle import leaf_hash

GENESIS = b"\x00" * 32  # the chain hash "before" event 1


def link(prev: bytes, body: bytes) -> tuple[bytes, bytes]:
    """Return (leaf hash, chain hash) of the event `body` following chain hash `prev`.

    The chain hash is SHA-256(prev || leaf), leaf = SHA-256(0x00 || body) (docs/audit-verification.md §3).
    """
    leaf = leaf_hash(body)
    return leaf, hashlib.sha256(prev + leaf).digest()
