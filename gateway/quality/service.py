"""Quality feedback to a department (数据质量反馈): what its source sent that the gateway could not use.

Counts by reason and by the day records were first held back, the list of records to correct (in the
department's own record keys, as CSV too), and what was released after correction. A client reaches the
feedback of its own department's sources (the same reach as the quarantine).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.tokens import Principal
from gateway.errors import NotFound
from gateway.quarantine import repository
from gateway.quarantine.service import reach

LIST_LIMIT = 5000  # rows of the list to correct; a source with more has a problem a list will not fix


async def feedback(engine: AsyncEngine, source: str, *, principal: Principal) -> dict[str, Any]:
    """Return the quality report of one source the caller reaches, or raise NotFound."""
    if source not in reach(principal):
        raise NotFound(f"no quality report of {source} for this client")
    by_reason: dict[str, int] = {}
    by_day: dict[str, dict[str, int]] = {}
    released = 0
    for reason, day, resolution, n in await repository.counts(engine, source):
        if resolution is None or resolution == "retry":
            by_reason[reason] = by_reason.get(reason, 0) + n
        elif resolution == "released":
            released += n
        by_day.setdefault(day, {}).setdefault(reason, 0)
        by_day[day][reason] += n
    to_correct = await repository.for_source(engine, source, state="open", limit=LIST_LIMIT)
    fixed = await repository.for_source(engine, source, state="released", limit=LIST_LIMIT)
    return {
        "source": source,
        "open_by_reason": by_reason,
        "held_back_by_day": [{"day": d, "reasons": r} for d, r in sorted(by_day.items())],
        "released_total": released,
        "to_correct": [_line(r) for r in to_correct],
        "released": [_line(r) for r in fixed],
    }


def _line(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "record_key": row["record_key"],
        "reason": row["reason"],
        "message": row["message"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "released_at": row["released_at"],
    }


def to_csv(report: dict[str, Any]) -> str:
    """Return the records to correct as CSV (UTF-8 with BOM, so spreadsheet software reads 中文)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["record_key", "reason", "message", "first_seen", "last_seen"])
    for line in report["to_correct"]:
        writer.writerow(
            [
                _cell(line["record_key"]),
                line["reason"],
                _cell(line["message"]),
                line["first_seen"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                line["last_seen"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
