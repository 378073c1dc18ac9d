"""`audit verify` against direct edits of the store: each tampering is caught and named by seq."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Connection, Engine, text

from gateway.audit.verify import verify_store
from tests.audit.support import make_key, run, write_events

N = 300  # events; checkpoints every 100


@pytest.fixture
def log(store_url: str, store_engine: Engine, tmp_path: Path) -> Engine:
    """Return an engine on a store holding N chained, checkpointed events."""
    run(write_events(store_url, N, key=make_key(tmp_path), batch=25, checkpoint_every=100))
    return store_engine


def _body(conn: Connection, seq: int) -> dict:
    return orjson.loads(
        bytes(conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": seq}).scalar_one())
    )


def _put(conn: Connection, seq: int, doc: dict, *, digest: bytes | None = None) -> None:
    body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    params = {"s": seq, "b": body}
    if digest is None:
        conn.execute(text("UPDATE audit_event SET body = :b WHERE seq = :s"), params)
    else:
        conn.execute(
            text("UPDATE audit_event SET body = :b, hash = :h WHERE seq = :s"), {**params, "h": digest}
        )


def _renumber(conn: Connection, *, above: int, by: int) -> None:
    # Two steps so the primary key never collides mid-update on either backend.
    conn.execute(text("UPDATE audit_event SET seq = -seq WHERE seq > :a"), {"a": above})
    conn.execute(text("UPDATE audit_event SET seq = -seq + :b WHERE seq < 0"), {"b": by})
    conn.execute(text("UPDATE audit_event_record SET seq = -seq WHERE seq > :a"), {"a": above})
    conn.execute(text("UPDATE audit_event_record SET seq = -seq + :b WHERE seq < 0"), {"b": by})


def _chain_link(prev: bytes, body: bytes) -> bytes:
    leaf = hashlib.sha256(b"\x00" + body).digest()
    return hashlib.sha256(prev + leaf).digest()


def modify_body(conn: Connection) -> int:
    doc = _body(conn, 123)
    doc["decision"] = "allow" if doc["decision"] == "deny" else "deny"
    _put(conn, 123, doc)
    return 123


def modify_column(conn: Connection) -> int:
    # Hides the event from department filters without touching the hashed body.
    conn.execute(text("UPDATE audit_event SET department = 'elsewhere' WHERE seq = 77"))
    return 77


def _delete_events(conn: Connection, first: int, last: int) -> None:
    """Delete the events first..last with their index rows."""
    bounds = {"first": first, "last": last}
    conn.execute(text("DELETE FROM audit_event_record WHERE seq BETWEEN :first AND :last"), bounds)
    conn.execute(text("DELETE FROM audit_event WHERE seq BETWEEN :first AND :last"), bounds)


def delete_middle(conn: Connection) -> int:
    _delete_events(conn, 150, 150)
    return 150


def delete_renumbered(conn: Connection) -> int:
    _delete_events(conn, 60, 60)
    _renumber(conn, above=60, by=-1)
    return 60


def insert_forged(conn: Connection) -> int:
    # The forger knows the algorithm: the inserted event chains correctly onto event 200.
    prev = bytes(conn.execute(text("SELECT hash FROM audit_event WHERE seq = 200")).scalar_one())
    _renumber(conn, above=200, by=1)
    doc = _body(conn, 200)
    doc.update(seq=201, department="forged", record_ids=[])
    body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    conn.execute(
        text(
            "INSERT INTO audit_event (seq, ts, kind, client_id, department, purpose, end_user, case_id, "
            "method, route, resource, decision, reason, status, trace_id, body, hash) "
            "SELECT 201, ts, kind, client_id, 'forged', purpose, end_user, case_id, method, route, resource, "
            "decision, reason, status, trace_id, :b, :h FROM audit_event WHERE seq = 200"
        ),
        {"b": body, "h": _chain_link(prev, body)},
    )
    return 201


def reorder(conn: Connection) -> int:
    conn.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = 42"))
    conn.execute(text("UPDATE audit_event SET seq = 42 WHERE seq = 43"))
    conn.execute(text("UPDATE audit_event SET seq = 43 WHERE seq = -1"))
    return 42


def delete_tail(conn: Connection) -> int:
    _delete_events(conn, 290, 2**62)  # to the end of the log
    return 290


def unindex(conn: Connection) -> int:
    seq = conn.execute(text("SELECT min(seq) FROM audit_event_record")).scalar_one()
    conn.execute(text("DELETE FROM audit_event_record WHERE seq = :s"), {"s": seq})
    return int(seq)


def rewrite_all(conn: Connection) -> int:
    # The strongest forger rewrites event 130 and recomputes every later hash and the head;
    # only the signed checkpoint at 200 (covering 101..200) can tell.
    doc = _body(conn, 130)
    doc["purpose"] = "forged"
    _put(conn, 130, doc)
    conn.execute(text("UPDATE audit_event SET purpose = 'forged' WHERE seq = 130"))
    prev = bytes(conn.execute(text("SELECT hash FROM audit_event WHERE seq = 129")).scalar_one())
    for seq, body in conn.execute(
        text("SELECT seq, body FROM audit_event WHERE seq >= 130 ORDER BY seq")
    ).all():
        prev = _chain_link(prev, bytes(body))
        conn.execute(text("UPDATE audit_event SET hash = :h WHERE seq = :s"), {"h": prev, "s": seq})
    conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
    return 101


CASES: dict[str, tuple[Callable[[Connection], int], set[str]]] = {
    "modify-body": (modify_body, {"modified"}),
    "modify-column": (modify_column, {"modified"}),
    "delete": (delete_middle, {"deleted"}),
    "delete-renumber": (delete_renumbered, {"reordered", "deleted"}),
    "insert": (insert_forged, {"inserted"}),
    "reorder": (reorder, {"reordered"}),
    "delete-tail": (delete_tail, {"deleted"}),
    "unindex": (unindex, {"index"}),
    "rewrite-chain": (rewrite_all, {"checkpoint"}),
}


@pytest.mark.backends
def test_untouched_log_verifies(log: Engine) -> None:
    report = verify_store(log)
    assert report.ok, report.finding
    assert report.events == N
    assert report.checkpoints >= 3


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_named(log: Engine, case: str) -> None:
    tamper, kinds = CASES[case]
    with log.begin() as conn:
        seq = tamper(conn)
    report = verify_store(log)
    assert report.finding is not None, f"{case} went unnoticed"
    assert report.finding.seq == seq, report.finding
    assert report.finding.kind in kinds, report.finding


@pytest.mark.backends
def test_forged_checkpoint_signature_is_caught(log: Engine) -> None:
    with log.begin() as conn:
        conn.execute(
            text("UPDATE audit_checkpoint SET signature = :s WHERE tree_size = 200"), {"s": b"\x01" * 64}
        )
    report = verify_store(log)
    assert report.finding is not None and report.finding.kind == "checkpoint" and report.finding.seq == 200
