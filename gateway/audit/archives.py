"""Archives as one chain: every archive given is checked, they continue each other and the store, and
every archive whose manifest the log recorded is present and unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

from gateway.audit.archive import MANIFEST_COMMAND, verify_archive
from gateway.audit.chain import GENESIS
from gateway.audit.findings import Finding, Report


@dataclass(frozen=True, slots=True)
class Archived:
    """One archive file: its range, the chain hashes it starts from and ends at, its digest."""

    path: Path
    from_seq: int
    through_seq: int
    base_chain: str
    closing_chain: str
    sha256: str
    manifests: list[tuple[int, dict[str, Any]]]


def manifests_in(bodies: list[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """Return (seq, manifest) of the archive manifests recorded in these event bodies."""
    out = []
    for body in bodies:
        if b'"archive_sha256"' not in body:
            continue
        doc = orjson.loads(body)
        details = doc.get("details") or {}
        if doc.get("route") == MANIFEST_COMMAND and "archive_sha256" in details:
            out.append((int(doc["seq"]), details))
    return out


def read_archive(path: Path) -> Archived:
    """Read an archive's header, closing checkpoint, digest and the manifests it holds."""
    data = path.read_bytes()
    lines = data.splitlines()
    header = orjson.loads(lines[0])
    signed = orjson.loads(header["checkpoint"]["signed_body"])
    return Archived(
        path=path,
        from_seq=int(header["from_seq"]),
        through_seq=int(header["through_seq"]),
        base_chain=header["base"]["chain_hash"],
        closing_chain=signed["chain_hash"],
        sha256=hashlib.sha256(data).hexdigest(),
        manifests=manifests_in(lines[1:-1]),
    )


def store_manifests(engine: Engine) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
    """Return the store's archive base and the manifests recorded in its events."""
    with engine.connect() as conn:
        base = int(conn.execute(text("SELECT base_seq FROM audit_head WHERE id = 1")).scalar_one())
        bodies = conn.execute(
            text("SELECT body FROM audit_event WHERE route = :r ORDER BY seq"), {"r": MANIFEST_COMMAND}
        ).all()
    return base, manifests_in([bytes(b[0]) for b in bodies])


def verify_archives(
    paths: list[Path], *, store_base: int | None, recorded: list[tuple[int, dict[str, Any]]]
) -> Report:
    """Verify each archive, their continuity from event 1 to the store's base, and every manifest."""
    report = Report(first_seq=1)
    found: list[Archived] = []
    for path in paths:
        single = verify_archive(path)
        if not single.ok:
            report.finding = single.finding
            return report
        report.events += single.events
        found.append(read_archive(path))
    found.sort(key=lambda a: a.from_seq)
    # Manifests first: they name the file that is missing; continuity then catches unrecorded gaps.
    report.finding = _manifests(found, [*recorded, *(m for a in found for m in a.manifests)]) or _continuity(
        found, store_base=store_base
    )
    report.last_seq = found[-1].through_seq if found else 0
    return report


def _continuity(found: list[Archived], *, store_base: int | None) -> Finding | None:
    expected, chain = 1, GENESIS.hex()
    for a in found:
        if a.from_seq > expected:
            return Finding(
                expected,
                "archive-missing",
                f"events {expected}..{a.from_seq - 1} are in none of the archives given "
                f"(the next, {a.path.name}, starts at {a.from_seq}): an archive is missing",
            )
        if a.from_seq < expected or a.base_chain != chain:
            return Finding(
                a.from_seq, "archive", f"{a.path.name} does not continue the chain of the archive before it"
            )
        expected, chain = a.through_seq + 1, a.closing_chain
    if store_base is not None and expected - 1 < store_base:
        return Finding(
            expected,
            "archive-missing",
            f"the store's events start after {store_base}; events {expected}..{store_base} are in none "
            "of the archives given: an archive is missing",
        )
    return None


def _manifests(found: list[Archived], recorded: list[tuple[int, dict[str, Any]]]) -> Finding | None:
    by_range = {(a.from_seq, a.through_seq): a for a in found}
    for seq, m in recorded:
        a = by_range.get((int(m["from_seq"]), int(m["through_seq"])))
        if a is None:
            return Finding(
                int(m["from_seq"]),
                "archive-missing",
                f"archive {m['archive']} (events {m['from_seq']}..{m['through_seq']}, sha256 "
                f"{m['archive_sha256'][:16]}…) recorded in event {seq} is not among those given",
            )
        if a.sha256 != m["archive_sha256"]:
            return Finding(
                a.from_seq,
                "archive-replaced",
                f"{a.path.name} is not the archive recorded in event {seq}: its SHA-256 differs",
            )
    return None


@dataclass(frozen=True, slots=True)
class ArchivedDisclosures:
    """Events in mounted archives that disclosed one record, newest first, and the period they cover."""

    bodies: list[bytes]
    first_time: str | None
    archives: int


def archived_disclosures(directory: Path, record_id: str, *, before_seq: int | None) -> ArchivedDisclosures:
    """Scan the archives in `directory` for answered events that disclosed `record_id`."""
    needle = orjson.dumps(record_id)
    found: list[tuple[int, bytes]] = []
    first_time: str | None = None
    files = sorted(directory.glob("audit-archive-*.jsonl")) if directory.is_dir() else []
    for path in files:
        lines = path.read_bytes().splitlines()[1:-1]  # header and signed trailer aside
        if lines and first_time is None:
            first_time = orjson.loads(lines[0]).get("time")
        for body in lines:
            if needle not in body:
                continue
            doc = orjson.loads(body)
            answered = int(doc.get("status", 500)) < 400
            wanted = before_seq is None or int(doc["seq"]) < before_seq
            if answered and wanted and record_id in (doc.get("record_ids") or []):
                found.append((int(doc["seq"]), body))
    found.sort(reverse=True)
    return ArchivedDisclosures([b for _, b in found], first_time, len(files))
