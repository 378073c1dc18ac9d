"""Audit queries (SQLAlchemy Core, run on the read store): events by filter, summaries, checkpoints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from gateway.audit.events import REFUSALS
from schemas.time import CHINA_UTC_OFFSET_HOURS, CHINA_ZONE_NAME, as_utc
from store.read import ReadStore
from store.tables import table_of
from store.tables.audit import (
    AuditCheckpointRow,
    AuditEventRecordRow,
    AuditEventRow,
    AuditHeadRow,
    AuditKeyRow,
)
from store.tables.auth import OAuthClientRow

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")  # any select over audit_event
E = table_of(AuditEventRow).c
RECORDS = table_of(AuditEventRecordRow)
R = RECORDS.c
C = table_of(AuditCheckpointRow).c
K = table_of(AuditKeyRow).c
H = table_of(AuditHeadRow).c
CLIENTS = table_of(OAuthClientRow)


class local_day(FunctionElement[str]):
    """The calendar day of a timestamp in China Standard Time (UTC+8, no daylight saving)."""

    type = String()
    inherit_cache = True


@compiles(local_day, "sqlite")
def _day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+{CHINA_UTC_OFFSET_HOURS} hours')"


@compiles(local_day, "postgresql")
def _day_pg(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE '{CHINA_ZONE_NAME}', 'YYYY-MM-DD')"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    """What an auditor filters events by; every field is optional."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    client: str | None = None
    department: str | None = None
    resident: str | None = None
    purpose: str | None = None
    decision: str | None = None
    status: int | None = None
    kind: str | None = None
    hide_routes: str | None = None  # a route prefix left out (the console's own page views)

    def where(self, stmt: S) -> S:
        """Apply the filter to a statement over audit_event."""
        conds = []
        if self.since is not None:
            conds.append(E.ts >= as_utc(self.since))
        if self.until is not None:
            conds.append(E.ts < as_utc(self.until))
        for col, value in (
            (E.client_id, self.client),
            (E.department, self.department),
            (E.purpose, self.purpose),
            (E.decision, self.decision),
            (E.status, self.status),
            (E.kind, self.kind),
        ):
            if value is not None:
                conds.append(col == value)
        if self.hide_routes is not None:
            conds.append(or_(E.route.is_(None), E.route.notlike(self.hide_routes + "%")))
        if self.resident is not None:
            stmt = stmt.join(RECORDS, and_(R.seq == E.seq, R.record_id == self.resident))
        return stmt.where(*conds) if conds else stmt


async def list_bodies(
    db: ReadStore, flt: EventFilter, *, after: int | None, limit: int, ascending: bool = False
) -> list[tuple[int, bytes]]:
    """Return (seq, canonical body) of a page of matching events, in seq order."""
    stmt = flt.where(select(E.seq, E.body))
    if after is not None:
        stmt = stmt.where(E.seq > after if ascending else E.seq < after)
    stmt = stmt.order_by(E.seq.asc() if ascending else E.seq.desc()).limit(limit)
    return [(int(r[0]), bytes(r[1])) for r in await db.fetch_all(stmt)]


async def event_body(db: ReadStore, seq: int) -> tuple[bytes, bytes] | None:
    """Return (body, chain hash) of one event, or None."""
    row = await db.fetch_one(select(E.body, E.hash).where(E.seq == seq))
    return (bytes(row[0]), bytes(row[1])) if row else None


async def disclosures(db: ReadStore, record_id: str, *, after: int | None, limit: int) -> list[bytes]:
    """Return bodies of answered events that disclosed `record_id`, newest first."""
    stmt = select(E.body).join(RECORDS, and_(R.seq == E.seq, R.record_id == record_id)).where(E.status < 400)
    if after is not None:
        stmt = stmt.where(E.seq < after)
    stmt = stmt.order_by(E.seq.desc()).limit(limit)
    return [bytes(r[0]) for r in await db.fetch_all(stmt)]


async def store_period(db: ReadStore) -> tuple[dt.datetime | None, int]:
    """Return the time of the oldest event in the store and the archive base (events up to it archived)."""
    row = await db.fetch_one(select(func.min(E.ts)))
    _, base_seq, _, _ = await head(db)
    return (row[0] if row else None), base_seq


async def accesses_per_day(db: ReadStore, flt: EventFilter) -> list[tuple[str, str, int, int]]:
    """Return (day, department, allowed, denied) for access events, by day then department."""
    day = local_day(E.ts)
    dept = func.coalesce(E.department, "")
    stmt = (
        flt.where(
            select(
                day,
                dept,
                func.sum(case((E.decision == "allow", 1), else_=0)),
                func.sum(case((or_(*(E.decision == d for d in REFUSALS)), 1), else_=0)),
            ).where(E.kind == "access")
        )
        .group_by(day, dept)
        .order_by(day, dept)
    )
    return [(str(r[0]), str(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in await db.fetch_all(stmt)]


async def denials_by_reason(db: ReadStore, flt: EventFilter) -> list[tuple[str, int]]:
    """Return (reason, count) of denied decisions, most frequent first."""
    reason = func.coalesce(E.reason, "")
    stmt = flt.where(select(reason, func.count()).where(or_(*(E.decision == d for d in REFUSALS))))
    stmt = stmt.group_by(reason).order_by(func.count().desc(), reason)
    return [(str(r[0]), int(r[1])) for r in await db.fetch_all(stmt)]


CP_COLUMNS = (C.tree_size, C.ts, C.root_hash, C.chain_hash, C.key_id, C.body, C.signature, C.frontier)


async def checkpoints(db: ReadStore, *, before: int | None, limit: int) -> list[tuple[Any, ...]]:
    """Return checkpoint rows, newest first."""
    stmt = select(*CP_COLUMNS)
    if before is not None:
        stmt = stmt.where(C.tree_size < before)
    return [tuple(r) for r in await db.fetch_all(stmt.order_by(C.tree_size.desc()).limit(limit))]


async def checkpoint_at(db: ReadStore, size: int | None) -> tuple[Any, ...] | None:
    """Return the checkpoint of a tree size (the latest when None)."""
    stmt = select(*CP_COLUMNS)
    stmt = stmt.where(C.tree_size == size) if size is not None else stmt.order_by(C.tree_size.desc()).limit(1)
    row = await db.fetch_one(stmt)
    return tuple(row) if row else None


async def previous_checkpoint(db: ReadStore, size: int) -> tuple[Any, ...] | None:
    """Return the checkpoint just before `size`."""
    row = await db.fetch_one(
        select(*CP_COLUMNS).where(C.tree_size < size).order_by(C.tree_size.desc()).limit(1)
    )
    return tuple(row) if row else None


async def frontiers_upto(db: ReadStore, size: int) -> list[tuple[int, str]]:
    """Return (tree_size, frontier) of every checkpoint at or below `size`."""
    rows = await db.fetch_all(select(C.tree_size, C.frontier).where(C.tree_size <= size))
    return [(int(r[0]), str(r[1])) for r in rows]


async def head(db: ReadStore) -> tuple[int, int, bytes, str]:
    """Return (head seq, base seq, base chain hash, base frontier)."""
    row = await db.fetch_one(select(H.seq, H.base_seq, H.base_hash, H.base_frontier).where(H.id == 1))
    assert row is not None  # created by migration 0005
    return int(row[0]), int(row[1]), bytes(row[2]), str(row[3])


async def bodies_between(db: ReadStore, lo: int, hi: int) -> list[tuple[int, bytes, bytes]]:
    """Return (seq, body, hash) for lo < seq <= hi in order."""
    rows = await db.fetch_all(
        select(E.seq, E.body, E.hash).where(E.seq > lo, E.seq <= hi).order_by(E.seq.asc())
    )
    return [(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


async def keys(db: ReadStore) -> list[tuple[str, bytes, dt.datetime]]:
    """Return published audit keys."""
    rows = await db.fetch_all(select(K.key_id, K.public_key, K.created_at).order_by(K.created_at))
    return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]


async def client_names(db: ReadStore) -> dict[str, str]:
    """Return client id -> registered name, for the console's labels."""
    rows = await db.fetch_all(select(CLIENTS.c.client_id, CLIENTS.c.name))
    return {str(r[0]): str(r[1]) for r in rows}
