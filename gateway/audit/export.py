"""Streaming exports of audit events: JSON Lines (the hashed bytes verbatim) and CSV (for spreadsheets)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Protocol

import orjson
from starlette.responses import StreamingResponse

from gateway.audit import repository as repo
from store.read import ReadStore

PAGE = 1000


class Quota(Protocol):
    """A record quota spent page by page (gateway.policy.throttle.RecordQuota)."""

    remaining: int

    async def spend(self, n: int) -> int:
        """Count `n` records about to be sent; return how many the quota allows."""
        ...


CSV_FIELDS = (
    "seq",
    "time",
    "kind",
    "client_id",
    "department",
    "purpose",
    "end_user",
    "case_id",
    "on_behalf_of",
    "consent_id",
    "method",
    "route",
    "resource",
    "record_ids",
    "fields_disclosed",
    "fields_masked",
    "decision",
    "reason",
    "policy_version",
    "status",
    "trace_id",
    "duration_us",
    "source",
    "token_id",
)


async def _pages(db: ReadStore, flt: repo.EventFilter, quota: Quota | None) -> AsyncIterator[list[bytes]]:
    after: int | None = 0
    while True:
        rows = await repo.list_bodies(db, flt, after=after, limit=PAGE, ascending=True)
        if not rows:
            return
        page = [b for _, b in rows]
        if quota is not None:
            allowed = await quota.spend(len(page))
            if allowed < len(page):  # the auditor's daily record quota ends the export here
                yield page[:allowed]
                return
        yield page
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


async def _jsonl(db: ReadStore, flt: repo.EventFilter, quota: Quota | None) -> AsyncIterator[bytes]:
    async for page in _pages(db, flt, quota):
        if page:
            yield b"\n".join(page) + b"\n"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    text = str(value)
    # A leading = + - @ makes spreadsheets run a formula (CSV injection); quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def _csv(db: ReadStore, flt: repo.EventFilter, quota: Quota | None) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    # The BOM lets the spreadsheet programs used in county offices read UTF-8 Chinese text.
    yield ("\ufeff" + buf.getvalue()).encode()
    async for page in _pages(db, flt, quota):
        buf.seek(0)
        buf.truncate()
        for body in page:
            doc = orjson.loads(body)
            writer.writerow([_cell(doc.get(f)) for f in CSV_FIELDS])
        yield buf.getvalue().encode()


def streaming(
    db: ReadStore, flt: repo.EventFilter, *, fmt: str, quota: Quota | None = None
) -> StreamingResponse:
    """Return a streaming export in `fmt` (csv or jsonl), ending where the record quota does."""
    # The most events this export may hold: fewer rows than this means the log had no more.
    limit = {"X-Export-Limit": str(quota.remaining)} if quota is not None else {}
    if fmt == "csv":
        return StreamingResponse(
            _csv(db, flt, quota),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-events.csv"', **limit},
        )
    return StreamingResponse(
        _jsonl(db, flt, quota),
        media_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="audit-events.jsonl"', **limit},
    )
