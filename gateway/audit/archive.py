"""Retention: move events older than their floor into a signed archive file, keep the store verifiable.

An archive always ends at a signed checkpoint K; the store keeps K's chain hash and Merkle frontier
as its base (audit_head), so `verify` continues from there. Each archive's manifest (file name,
SHA-256, range, closing root) is appended to the log itself before its events leave the store, so a
deleted or replaced archive is named by `gateway audit verify --archive ...` (gateway/audit/archives.py).
Floors are calendar dates (gateway/audit/retention.py); an override is itself an audit event.
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
from sqlalchemy import Connection, Engine, text

from gateway.audit.batch import Base
from gateway.audit.chain import link
from gateway.audit.checkpoints import AuditKey, signature_valid
from gateway.audit.direct import record_command
from gateway.audit.findings import Finding, Report
from gateway.audit.merkle import Frontier
from gateway.audit.retention import PROVISION_SQL, access_floor, provision_floor
from gateway.settings import Settings
from schemas.time import as_utc, sqlite_text

FORMAT = "xiangzhi-audit-archive/1"
MANIFEST_COMMAND = "audit archive"


class ArchiveRefused(ValueError):
    """The archive would break retention or there is nothing signed to archive."""


class NothingDue(ArchiveRefused):
    """No signed checkpoint covers events old enough to archive (a scheduled run exits 0)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveResult:
    """What an archive run moved, and where its manifest was recorded."""

    path: Path
    from_seq: int
    through_seq: int
    sha256: str
    manifest_seq: int


def _signed_trailer(digest: str, key: AuditKey) -> bytes:
    sig = key.sign(f"{FORMAT}\n{digest}".encode())
    return orjson.dumps({"sha256": digest, "key_id": key.key_id, "signature": base64.b64encode(sig).decode()})


def due_before(engine: Engine, *, now: dt.datetime) -> dt.datetime:
    """Return the latest cut-off that archives nothing younger than its floor (the scheduled default)."""
    cutoff = access_floor(now)
    with engine.connect() as conn:
        young = conn.execute(
            text(f"SELECT min(ts) FROM audit_event WHERE ts >= :p AND {PROVISION_SQL}"),  # noqa: S608
            {"p": _db_ts(engine, provision_floor(now))},
        ).scalar()
    if young is not None:
        cutoff = min(cutoff, as_utc(young))
    return cutoff


_YOUNG_PROVISIONS = (
    "SELECT count(*), max(seq) FROM audit_event WHERE seq > :a AND seq <= :t AND ts > :p AND "  # noqa: S608
    + PROVISION_SQL
)


def _check_floors(
    conn: Connection, engine: Engine, *, before: dt.datetime, base: int, through: int, now: dt.datetime
) -> list[str]:
    """Return why archiving events base+1..through before `before` would break a floor."""
    broken = []
    if before > access_floor(now):
        broken.append(
            "access logs are kept 6 calendar months: "
            f"--before must be on or before {access_floor(now).date()}"
        )
    young = conn.execute(
        text(_YOUNG_PROVISIONS),
        {"a": base, "t": through, "p": _db_ts(engine, provision_floor(now))},
    ).one()
    if young[0]:
        broken.append(
            f"{young[0]} records of providing personal data to other departments (latest event {young[1]}) "
            f"are younger than 3 calendar years (before {provision_floor(now).date()})"
        )
    return broken


def archive(
    engine: Engine,
    *,
    settings: Settings,
    key: AuditKey,
    now: dt.datetime,
    before: dt.datetime | None = None,
    override: str | None = None,
) -> ArchiveResult:
    """Archive events before `before` (default: what is due) up to the last checkpoint before it."""
    cutoff = before or due_before(engine, now=now)
    with engine.connect() as conn:
        base_seq, base_hash, base_frontier = conn.execute(
            text("SELECT base_seq, base_hash, base_frontier FROM audit_head WHERE id = 1")
        ).one()
        base_seq = int(base_seq)
        cp = _last_checkpoint_before(conn, engine, cutoff=cutoff, base=base_seq)
        through = int(cp[0])
        _enforce_floors(
            conn, engine, settings, cutoff=cutoff, base=base_seq, through=through, now=now, override=override
        )
        keys = conn.execute(text("SELECT key_id, public_key FROM audit_key")).all()
        header: dict[str, Any] = {
            "format": FORMAT,
            "from_seq": base_seq + 1,
            "through_seq": through,
            "base": {"chain_hash": bytes(base_hash).hex(), "frontier": orjson.loads(base_frontier)},
            "checkpoint": {
                "signed_body": bytes(cp[5]).decode(),
                "signature": base64.b64encode(bytes(cp[6])).decode(),
                "frontier": orjson.loads(cp[7]),
            },
            "keys": {k: base64.b64encode(bytes(p)).decode() for k, p in keys},
        }
        out = settings.audit_archive_dir / f"audit-archive-{base_seq + 1:012d}-{through:012d}.jsonl"
        _write(conn, out, header=header, key=key)
    found = verify_archive(out)
    if not found.ok:
        out.unlink()
        raise ArchiveRefused(f"the archive did not verify ({found.finding}); nothing was removed")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    manifest = {
        "archive": out.name,
        "archive_sha256": digest,
        "from_seq": base_seq + 1,
        "through_seq": through,
        "root_hash": bytes(cp[2]).hex(),
    }
    # The manifest enters the chain before any event leaves the store.
    seq = record_command(settings, command=MANIFEST_COMMAND, targets=[out.name], extra=manifest)
    _remove_archived(engine, through=through, chain=bytes(cp[3]), frontier=cp[7])
    return ArchiveResult(
        path=out, from_seq=base_seq + 1, through_seq=through, sha256=digest, manifest_seq=seq
    )


def _last_checkpoint_before(conn: Connection, engine: Engine, *, cutoff: dt.datetime, base: int) -> Any:
    """Return the last signed checkpoint after the base that covers only events before `cutoff`."""
    first_new = conn.execute(
        text("SELECT min(seq) FROM audit_event WHERE ts >= :b"), {"b": _db_ts(engine, cutoff)}
    ).scalar()
    limit = int(first_new) if first_new is not None else 2**62
    cp = conn.execute(
        text(
            "SELECT tree_size, ts, root_hash, chain_hash, key_id, body, signature, frontier "
            "FROM audit_checkpoint WHERE tree_size < :l AND tree_size > :b "
            "ORDER BY tree_size DESC LIMIT 1"
        ),
        {"l": limit, "b": base},
    ).first()
    if cp is None:
        raise NothingDue(f"nothing to archive: no signed checkpoint covers events before {cutoff.date()}")
    return cp


def _enforce_floors(
    conn: Connection,
    engine: Engine,
    settings: Settings,
    *,
    cutoff: dt.datetime,
    base: int,
    through: int,
    now: dt.datetime,
    override: str | None,
) -> None:
    """Refuse to break a retention floor, unless overridden with a reason (which is audited)."""
    broken = _check_floors(conn, engine, before=cutoff, base=base, through=through, now=now)
    if broken and not override:
        raise ArchiveRefused("; ".join(broken) + " (an override needs --override-retention REASON)")
    if broken:
        record_command(
            settings,
            command="audit archive override",
            targets=[f"{base + 1}..{through}"],
            reason=override[:256] if override else None,
            extra={"floors_broken": broken},
        )


def _remove_archived(engine: Engine, *, through: int, chain: bytes, frontier: str) -> None:
    """Delete the archived events and move the head's base to the archive's closing checkpoint."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event_record WHERE seq <= :t"), {"t": through})
        conn.execute(text("DELETE FROM audit_event WHERE seq <= :t"), {"t": through})
        conn.execute(
            text("UPDATE audit_head SET base_seq = :t, base_hash = :h, base_frontier = :f WHERE id = 1"),
            {"t": through, "h": chain, "f": frontier},
        )


def _write(conn: Connection, out: Path, *, header: dict[str, Any], key: AuditKey) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with out.open("xb") as fh:
        line = orjson.dumps(header) + b"\n"
        digest.update(line)
        fh.write(line)
        rows = conn.execute(
            text("SELECT body FROM audit_event WHERE seq >= :a AND seq <= :t ORDER BY seq"),
            {"a": header["from_seq"], "t": header["through_seq"]},
        )
        for (body,) in rows:
            line = bytes(body) + b"\n"
            digest.update(line)
            fh.write(line)
        fh.write(_signed_trailer(digest.hexdigest(), key) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _db_ts(engine: Engine, moment: dt.datetime) -> Any:
    return sqlite_text(moment) if engine.dialect.name == "sqlite" else moment.astimezone(dt.UTC)


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
