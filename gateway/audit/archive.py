"""Retention: move events older than a date into a signed archive file, keep the store verifiable.

An archive always ends at a signed checkpoint K; the store keeps K's chain hash and Merkle frontier
as its base (audit_head), so `verify` continues from there. Events are kept at least
GATEWAY_AUDIT_RETENTION_DAYS (default 180; Cybersecurity Law Art. 21: at least six months).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

from gateway.audit.batch import Base
from gateway.audit.chain import link
from gateway.audit.checkpoints import AuditKey, signature_valid
from gateway.audit.merkle import Frontier
from gateway.audit.verify import Finding, Report

FORMAT = "xiangzhi-audit-archive/1"


class ArchiveRefused(ValueError):
    """The archive would break retention or there is nothing signed to archive."""


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What an archive run moved."""

    path: Path
    from_seq: int
    through_seq: int


def _signed_trailer(digest: str, key: AuditKey) -> bytes:
    sig = key.sign(f"{FORMAT}\n{digest}".encode())
    return orjson.dumps({"sha256": digest, "key_id": key.key_id, "signature": base64.b64encode(sig).decode()})


def archive(
    engine: Engine, *, before: dt.datetime, out: Path, key: AuditKey, retention_days: int, now: dt.datetime
) -> ArchiveResult:
    """Write events before `before` (up to the last checkpoint before it) to `out` and delete them."""
    if before > now - dt.timedelta(days=retention_days):
        raise ArchiveRefused(
            f"events must be kept {retention_days} days: --before must be on or before "
            f"{(now - dt.timedelta(days=retention_days)).date()}"
        )
    with engine.connect() as conn:
        base_seq, base_hash, base_frontier = conn.execute(
            text("SELECT base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1")
        ).one()
        first_new = conn.execute(
            text("SELECT min(seq) FROM audit_event WHERE ts >= :b"), {"b": _db_ts(engine, before)}
        ).scalar()
        limit = int(first_new) if first_new is not None else 2**62
        cp = conn.execute(
            text(
                "SELECT tree_size, ts, root_hash, chain_hash, key_id, body, signature, frontier "
                "FROM audit_checkpoint WHERE tree_size < :l AND tree_size > :b "
                "ORDER BY tree_size DESC LIMIT 1"
            ),
            {"l": limit, "b": base_seq},
        ).first()
        if cp is None:
            raise ArchiveRefused("no signed checkpoint before that date covers unarchived events")
        through = int(cp[0])
        keys = conn.execute(text("SELECT key_id, public_key FROM audit_key")).all()
        header: dict[str, Any] = {
            "format": FORMAT,
            "from_seq": int(base_seq) + 1,
            "through_seq": through,
            "base": {"chain_hash": bytes(base_hash).hex(), "frontier": orjson.loads(base_frontier)},
            "checkpoint": {
                "signed_body": bytes(cp[5]).decode(),
                "signature": base64.b64encode(bytes(cp[6])).decode(),
                "frontier": orjson.loads(cp[7]),
            },
            "keys": {k: base64.b64encode(bytes(p)).decode() for k, p in keys},
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with out.open("xb") as fh:
            line = orjson.dumps(header) + b"\n"
            digest.update(line)
            fh.write(line)
            rows = conn.execute(
                text("SELECT body FROM audit_event WHERE seq > :a AND seq <= :t ORDER BY seq"),
                {"a": base_seq, "t": through},
            )
            for (body,) in rows:
                line = bytes(body) + b"\n"
                digest.update(line)
                fh.write(line)
            fh.write(_signed_trailer(digest.hexdigest(), key) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
    found = verify_archive(out)
    if not found.ok:
        out.unlink()
        raise ArchiveRefused(f"the archive did not verify ({found.finding}); nothing was removed")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event_record WHERE seq <= :t"), {"t": through})
        conn.execute(text("DELETE FROM audit_event WHERE seq <= :t"), {"t": through})
        conn.execute(
            text("UPDATE audit_head SET base_seq = :t, base_hash = :h, base_frontier = :f WHERE id = 1"),
            {"t": through, "h": bytes(cp[3]), "f": cp[7]},
        )
    return ArchiveResult(out, int(base_seq) + 1, through)


def _db_ts(engine: Engine, moment: dt.datetime) -> Any:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else moment


def verify_archive(path: Path) -> Report:
    """Verify an archive file: its signature, its chain from its base, and its closing checkpoint."""
    report = Report()
    with path.open("rb") as fh:
        lines = fh.read().splitlines()
    header = orjson.loads(lines[0])
    trailer = orjson.loads(lines[-1])
    keys = {k: base64.b64decode(v) for k, v in header["keys"].items()}
    digest = hashlib.sha256(b"".join(line + b"\n" for line in lines[:-1])).hexdigest()
    first = int(header["from_seq"])
    report.first_seq = first
    pub = keys.get(trailer.get("key_id"))
    sig = base64.b64decode(trailer.get("signature", ""))
    if (
        digest != trailer.get("sha256")
        or pub is None
        or not signature_valid(f"{FORMAT}\n{digest}".encode(), sig, pub)
    ):
        report.finding = Finding(first, "archive", "the archive file's signature does not verify")
        return report
    cp = header["checkpoint"]
    signed = orjson.loads(cp["signed_body"])
    if not signature_valid(
        cp["signed_body"].encode(), base64.b64decode(cp["signature"]), keys.get(signed["key_id"], b"")
    ):
        report.finding = Finding(
            int(header["through_seq"]), "checkpoint", "the closing checkpoint does not verify"
        )
        return report
    base = Base(
        first - 1,
        bytes.fromhex(header["base"]["chain_hash"]),
        Frontier.from_hex(first - 1, header["base"]["frontier"]),
    )
    frontier, prev = base.frontier.copy(), base.chain
    for offset, body in enumerate(lines[1:-1]):
        seq = first + offset
        if orjson.loads(body).get("seq") != seq:
            report.finding = Finding(seq, "modified", f"archived event {seq} is missing or out of order")
            return report
        leaf, prev = link(prev, body)
        frontier.append(leaf)
        report.events += 1
    if (frontier.size, frontier.root().hex(), prev.hex()) != (
        signed["tree_size"],
        signed["root_hash"],
        signed["chain_hash"],
    ):
        report.finding = Finding(
            first, "checkpoint", "archived events do not reproduce the closing checkpoint"
        )
    report.last_seq = first + report.events - 1
    return report
