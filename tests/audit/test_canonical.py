"""The event encoding is RFC 8785 (checked against the rfc8785 package); Merkle roots match RFC 9162."""

from __future__ import annotations

import datetime as dt
import hashlib

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit.events import AuditEvent
from gateway.audit.merkle import Frontier, inclusion_path, leaf_hash, mth, verify_inclusion

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # no lone surrogates: not UTF-8
opt = st.none() | text


@settings(max_examples=300, deadline=None)
@given(
    client=opt,
    purpose=opt,
    reason=opt,
    ids=st.lists(text, max_size=5),
    status=st.integers(100, 599),
    duration=st.integers(0, 2**53 - 1),
    seq=st.integers(1, 2**53 - 1),
    micro=st.integers(0, 999_999),
)
def test_orjson_sorted_equals_rfc8785(
    client: str | None,
    purpose: str | None,
    reason: str | None,
    ids: list[str],
    status: int,
    duration: int,
    seq: int,
    micro: int,
) -> None:
    ev = AuditEvent(
        time=dt.datetime(2026, 11, 28, 8, 0, 0, micro, tzinfo=dt.UTC),
        client_id=client,
        purpose=purpose,
        reason=reason,
        record_ids=ids,
        fields_disclosed=ids[::-1],
        status=status,
        duration_us=duration,
    )
    assert ev.encode(seq=seq) == rfc8785.dumps(ev.document(seq=seq))


def _naive_mth(entries: list[bytes]) -> bytes:
    # RFC 9162 §2.1.1 written out directly.
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + _naive_mth(entries[:k]) + _naive_mth(entries[k:])).digest()


def test_frontier_root_and_paths_match_rfc9162() -> None:
    entries = [f"entry {i}".encode() for i in range(70)]
    leaves = [leaf_hash(e) for e in entries]
    frontier = Frontier()
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        root = _naive_mth(entries[:n])
        assert frontier.root() == root == mth(leaves[:n])
        for m in range(n):
            path = inclusion_path(m, n, lambda a, b, n=n: mth(leaves, a, b))
            assert verify_inclusion(m, n, leaves[m], path, root)
            assert not verify_inclusion(m, n, leaf_hash(b"other"), path, root)
