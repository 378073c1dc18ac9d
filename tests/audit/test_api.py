"""The auditor API: filters, cursors, exports, summaries, proofs checked by an independent verifier."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.audit.conftest import Audited
from tests.support import factories


# --- an independent RFC 9162 §2.1.3.2 verifier: deliberately not importing gateway.audit ------------
def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc9162_verify(index: int, size: int, entry: bytes, path: list[bytes], root: bytes) -> bool:
    """Verify an inclusion proof of `entry` at leaf `index` in a tree of `size` leaves."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, _h(b"\x00" + entry)
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def _jcs(doc: dict) -> bytes:
    import rfc8785

    return rfc8785.dumps(doc)


def _traffic(audited: Audited) -> list[str]:
    ids = [factories.add_resident(audited.engine, region_code="511599100201").id for _ in range(3)]
    tc = audited.as_reader()
    for rid in ids:
        assert tc.get(f"/v1/residents/{rid}").status_code == 200
    assert tc.get(f"/v1/residents/{ids[0]}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert tc.get("/v1/residents", params={"region": "511599100201"}).status_code == 200
    return ids


@pytest.mark.backends
def test_filters_cursor_and_auditor_queries_are_audited(audited: Audited) -> None:
    ids = _traffic(audited)
    tc = audited.as_auditor()
    r = tc.get("/v1/audit/events", params={"resident": ids[0]})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 2 and all(ids[0] in e["record_ids"] for e in items)  # by id + the list
    assert items[0]["seq"] > items[1]["seq"]  # newest first
    denied = tc.get("/v1/audit/events", params={"decision": "deny", "status": 401}).json()["items"]
    assert len(denied) == 1 and denied[0]["reason"]
    seen: list[int] = []
    cursor = None
    while True:
        page = tc.get(
            "/v1/audit/events",
            params={"limit": 2, "kind": "access", **({"cursor": cursor} if cursor else {})},
        )
        seen += [e["seq"] for e in page.json()["items"]]
        cursor = page.json()["next"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 5 and seen == sorted(seen, reverse=True)
    dept = tc.get("/v1/audit/events", params={"department": "civil_affairs", "kind": "access"}).json()[
        "items"
    ]
    assert {e["department"] for e in dept} == {"civil_affairs"} and len(dept) == 4
    window = tc.get(
        "/v1/audit/events", params={"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}
    )
    assert window.json()["items"] == []
    # The auditor's own queries are events too.
    mine = tc.get("/v1/audit/events", params={"kind": "audit", "client": items[0]["client_id"]}).json()[
        "items"
    ]
    assert mine == []
    audits = tc.get("/v1/audit/events", params={"kind": "audit"}).json()["items"]
    assert len(audits) >= 6 and all(e["department"] == "county_audit" for e in audits)


def test_reader_cannot_read_the_audit_log(audited: Audited) -> None:
    r = audited.as_reader().get("/v1/audit/events")
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_exports_stream_csv_and_jsonl(audited: Audited) -> None:
    _traffic(audited)
    tc = audited.as_auditor()
    jl = tc.get("/v1/audit/events/export", params={"format": "jsonl", "kind": "access"})
    assert jl.status_code == 200 and jl.headers["content-type"].startswith("application/jsonl")
    lines = jl.content.splitlines()
    assert len(lines) == 5
    for line in lines:  # each line is the hashed canonical form, byte for byte
        assert _jcs(orjson.loads(line)) == line
    c = tc.get("/v1/audit/events/export", params={"format": "csv", "kind": "access"})
    assert c.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert [int(r["seq"]) for r in rows] == [orjson.loads(x)["seq"] for x in lines]


@pytest.mark.backends
def test_summaries(audited: Audited) -> None:
    _traffic(audited)
    tc = audited.as_auditor()
    days = tc.get("/v1/audit/summary/accesses").json()
    assert sum(d["allowed"] for d in days) == 4 and sum(d["denied"] for d in days) == 1
    assert len(days[0]["day"]) == 10
    reasons = tc.get("/v1/audit/summary/denials").json()
    assert sum(r["count"] for r in reasons) >= 1


@pytest.mark.backends
def test_resident_disclosures(audited: Audited) -> None:
    ids = _traffic(audited)
    tc = audited.as_reader()
    assert tc.get(f"/v1/residents/{ids[1]}/disclosures").status_code == 403
    tc.headers.clear()
    tc.headers.update(audited.counter_headers)
    r = tc.get(f"/v1/residents/{ids[1]}/disclosures")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2  # the by-id read and the list
    assert {i["department"] for i in items} == {"civil_affairs"}
    assert all(i["purpose"] == "social-assistance-review" and i["time"] for i in items)
    assert "trace_id" not in items[0] and "source" not in items[0]


def test_inclusion_proof_verifies_independently(audited: Audited) -> None:
    _traffic(audited)
    tc = audited.as_auditor()
    deadline = time.monotonic() + 10
    while True:  # checkpoints come every 5 events or 0.5 s
        cps = tc.get("/v1/audit/checkpoints").json()["items"]
        if cps and cps[0]["tree_size"] >= 8:
            break
        assert time.monotonic() < deadline, cps
        time.sleep(0.1)
    keys = {k["key_id"]: k["public_key"] for k in tc.get("/v1/audit/keys").json()["items"]}
    size = cps[0]["tree_size"]
    for seq in range(1, size + 1):
        proof = tc.get(f"/v1/audit/events/{seq}/proof").json()
        cp = proof["checkpoint"]
        Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[cp["key_id"]])).verify(
            base64.b64decode(cp["signature"]), cp["signed_body"].encode()
        )
        signed = orjson.loads(cp["signed_body"])
        entry = _jcs(proof["event"])  # the auditor re-canonicalises what it was served
        path = [bytes.fromhex(p) for p in proof["audit_path"]]
        assert rfc9162_verify(seq - 1, signed["tree_size"], entry, path, bytes.fromhex(signed["root_hash"]))
        tampered = orjson.loads(entry)
        tampered["status"] = 999
        assert not rfc9162_verify(
            seq - 1, signed["tree_size"], _jcs(tampered), path, bytes.fromhex(signed["root_hash"])
        )
    older = cps[-1]["tree_size"]
    p = tc.get("/v1/audit/events/1/proof", params={"tree_size": older}).json()
    assert p["tree_size"] == older
    assert rfc9162_verify(
        0,
        older,
        _jcs(p["event"]),
        [bytes.fromhex(x) for x in p["audit_path"]],
        bytes.fromhex(p["checkpoint"]["root_hash"]),
    )
    assert tc.get(f"/v1/audit/events/{size + 1000}/proof").status_code == 409
