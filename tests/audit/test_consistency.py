"""GET /v1/audit/checkpoints/consistency, checked by an RFC 9162 §2.1.4.2 verifier written here from the RFC.

The verifier below shares no code with gateway/audit/merkle.py: it is the RFC's algorithm step by
step, so a proof the gateway computes wrongly (or a log that did not only grow) fails it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.audit.conftest import Audited


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc9162_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, numbered as in the RFC."""
    if first == second:
        return not path and first_hash == second_hash
    # 1. An empty path fails.
    if not path:
        return False
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    # 3.
    fn, sn = first - 1, second - 1
    # 4. While LSB(fn) is set, right-shift both.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


def _signed(cp: dict, keys: dict[str, bytes]) -> bytes:
    """Check the checkpoint's signature with the published key; return its root hash."""
    Ed25519PublicKey.from_public_bytes(keys[cp["key_id"]]).verify(
        base64.b64decode(cp["signature"]), cp["signed_body"].encode()
    )
    return bytes.fromhex(orjson.loads(cp["signed_body"])["root_hash"])


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_every_pair_of_checkpoints_is_proven_consistent(audited: Audited) -> None:
    reader = audited.as_reader()
    for _ in range(23):  # events of several checkpoint sizes (a checkpoint every 5 events)
        assert reader.get("/v1/regions").status_code == 200
    auditor = audited.as_auditor()
    deadline = time.monotonic() + 10
    while True:  # the writer signs within checkpoint_seconds (0.5 s) of the last event
        items = auditor.get("/v1/audit/checkpoints", params={"limit": 100}).json()["items"]
        if len(items) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    keys = {
        k["key_id"]: base64.b64decode(k["public_key"]) for k in auditor.get("/v1/audit/keys").json()["items"]
    }
    sizes = sorted(cp["tree_size"] for cp in items)
    assert len(sizes) >= 4, sizes
    checked = 0
    for first, second in itertools.combinations_with_replacement(sizes, 2):
        r = auditor.get("/v1/audit/checkpoints/consistency", params={"first": first, "second": second})
        assert r.status_code == 200, r.text
        proof = r.json()
        path = [bytes.fromhex(h) for h in proof["consistency_path"]]
        a, b = _signed(proof["first"], keys), _signed(proof["second"], keys)
        assert rfc9162_verify_consistency(first, second, a, b, path), (first, second)
        if first < second:  # a tampered proof, or a claim about another root, fails
            assert not rfc9162_verify_consistency(first, second, a, b, [bytes(32), *path[1:]])
            assert not rfc9162_verify_consistency(first, second, b, a, path)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_consistency_refuses_unknown_sizes_and_reversed_order(audited: Audited) -> None:
    reader = audited.as_reader()
    for _ in range(6):
        reader.get("/v1/regions")
    auditor = audited.as_auditor()
    r = auditor.get("/v1/audit/checkpoints/consistency", params={"first": 3, "second": 10**6})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    r = auditor.get("/v1/audit/checkpoints/consistency", params={"first": 0, "second": 5})
    assert r.status_code == 422
    r = auditor.get("/v1/audit/checkpoints/consistency", params={"first": 9, "second": 5})
    assert r.status_code == 409 and "must not exceed" in r.json()["detail"]
    r = audited.as_reader().get("/v1/audit/checkpoints/consistency", params={"first": 1, "second": 2})
    assert r.status_code == 403
