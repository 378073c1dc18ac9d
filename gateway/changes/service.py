"""Read the change log as one viewer sees it: the feed's pages and the webhook worker's fan-out."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from gateway.changes import repository
from gateway.changes.visibility import LoggedChange, Viewer, in_region
from store.read import ReadStore

BATCH = 500
# Rows one call may read past without finding a visible one: a township reader of a busy county log
# gets an empty page and a cursor further on rather than one request reading the whole log.
SCAN_MAX = 5000


@dataclass(frozen=True, slots=True)
class Seen:
    """What one read of the log found: visible changes, the position reached, whether more waits."""

    items: list[tuple[LoggedChange, dict[str, Any]]]
    position: int
    more: bool


async def read_visible(
    db: ReadStore,
    viewer: Viewer,
    *,
    after: int,
    limit: int,
    region: str | None = None,
    events: Collection[str] | None = None,
    scan: int = SCAN_MAX,
) -> Seen:
    """Return up to `limit` changes after `after` that `viewer` sees (in `region`, of `events` when given)."""
    items: list[tuple[LoggedChange, dict[str, Any]]] = []
    # Bounded by the head read first: rows the filter skips up to it need never be read again. Log rows
    # commit in seq order (store/changes.py), so none at or below the head can still appear.
    upto = await repository.head(db)
    where = repository.visible_clause(
        viewer.decisions, events=events, quarantine=bool(viewer.quarantine_sources)
    )
    position, scanned = after, 0
    while scanned < scan:
        want = min(BATCH, scan - scanned)
        batch = await repository.changes_after(db, after=position, upto=upto, limit=want, where=where)
        places = await repository.placements(
            db, [c.resident_id for c in batch if c.resource == "enrollment" and c.resident_id]
        )
        for change in batch:
            position = change.seq
            scanned += 1
            resident = places.get(change.resident_id or "")
            if events is not None and change.event not in events:
                continue
            if region is not None and not in_region(change, region, resident=resident):
                continue
            shown = viewer.show(change, resident=resident)
            if shown is None or (events is not None and shown["event"] is None):
                continue
            items.append((change, shown))
            if len(items) >= limit:
                return Seen(items, position, position < upto)
        if len(batch) < want:
            return Seen(items, max(position, upto), False)
    return Seen(items, position, True)
