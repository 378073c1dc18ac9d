"""Merkle tree hashing in the style of RFC 9162 §2.1: leaf/node hashes, roots and inclusion proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()


def leaf_hash(entry: bytes) -> bytes:
    """Return SHA-256(0x00 || entry) (RFC 9162 §2.1.1)."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """Return the largest power of two strictly less than n (n >= 2), RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees covering leaves [0, size), largest first (a compact range).

    Appending a leaf merges equal-sized subtrees like binary carry; folding the roots from the right
    gives exactly RFC 9162's MTH, because MTH splits at the largest power of two below n and the
    left part is then the first perfect subtree.
    """

    __slots__ = ("roots", "size")

    def __init__(self, size: int = 0, roots: list[bytes] | None = None) -> None:
        self.size = size
        self.roots: list[bytes] = list(roots or [])
        if len(self.roots) != size.bit_count():
            raise ValueError("frontier does not match its size")

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        roots = self.roots
        n = self.size
        node = leaf
        while n & 1:
            node = node_hash(roots.pop(), node)
            n >>= 1
        roots.append(node)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaf hashes (append() in a loop, without a call and a bound lookup per leaf)."""
        roots = self.roots
        pop, push, sha256 = roots.pop, roots.append, _sha256
        n = self.size
        for leaf in leaves:
            node, m = leaf, n
            while m & 1:
                node = sha256(b"\x01" + pop() + node).digest()  # node_hash() inlined
                m >>= 1
            push(node)
            n += 1
        self.size = n

    def root(self) -> bytes:
        """Return MTH of the leaves appended so far."""
        if not self.roots:
            return EMPTY_ROOT
        acc = self.roots[-1]
        for left in reversed(self.roots[:-1]):
            acc = node_hash(left, acc)
        return acc

    def subtrees(self) -> dict[tuple[int, int], bytes]:
        """Return {(start, end): root} for each perfect subtree of the frontier."""
        out: dict[tuple[int, int], bytes] = {}
        start = 0
        for bit, root in zip(_bits_high_to_low(self.size), self.roots, strict=True):
            out[(start, start + bit)] = root
            start += bit
        return out

    def to_hex(self) -> list[str]:
        """Return the roots as hex strings (the stored form)."""
        return [r.hex() for r in self.roots]

    @classmethod
    def from_hex(cls, size: int, roots: list[str]) -> Frontier:
        """Rebuild a frontier from its stored form."""
        return cls(size, [bytes.fromhex(r) for r in roots])

    def copy(self) -> Frontier:
        """Return an independent copy."""
        return Frontier(self.size, list(self.roots))


def _bits_high_to_low(n: int) -> list[int]:
    return [1 << i for i in range(n.bit_length() - 1, -1, -1) if n >> i & 1]


SubtreeHash = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """Return RFC 9162 §2.1.3.1 PATH(index, D[0:size]), asking `subtree(a, b)` for MTH(D[a:b])."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    path: list[bytes] = []
    lo, hi = 0, size
    # Walk down from the root; siblings are collected top-down, then reversed (leaf first).
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_path(first: int, second: int, subtree: SubtreeHash) -> list[bytes]:
    """Return RFC 9162 §2.1.4.1 PROOF(first, D[0:second]), asking `subtree(a, b)` for MTH(D[a:b])."""
    if not 0 < first <= second:
        raise ValueError("a consistency proof needs 0 < first <= second")

    def sub(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        # SUBPROOF(m, D[lo:hi], b): the recursion of §2.1.4.1, in leaf offsets.
        if m == hi - lo:
            return [] if complete else [subtree(lo, hi)]
        k = split_point(hi - lo)
        if m <= k:
            return [*sub(m, lo, lo + k, complete), subtree(lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), subtree(lo, lo + k)]

    return sub(first, 0, second, True)


def mth(leaves: list[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """Return MTH of leaf hashes leaves[lo:hi] (RFC 9162 §2.1.1), recursively."""
    hi = len(leaves) if hi is None else hi
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = split_point(n)
    return node_hash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi))


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """Check an inclusion proof by RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
