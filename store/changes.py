"""The change log: every write of a unified record adds a row in the same transaction (the change feed).

Rows are appended by the sinks and the refresh, inside the runner's write transactions. Those hold the
store's sync write lock (store/bulk.py), so change rows commit in `seq` order and a reader
that resumes after the last `seq` it saw never skips a row committed later with a smaller one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from store.bulk import Store
from store.statements import RowInsert
from store.tables import table_of
from store.tables.changes import ChangeRow

# Event types (webhook subscriptions and the feed's `event`): part of the public contract.
RESIDENT_DECEASED = "resident.deceased"
RESIDENT_MOVED_OUT = "resident.moved_out"
RESIDENT_MIGRANT_REGISTERED = "resident.migrant_registered"
ENROLLMENT_STARTED = "enrollment.started"
ENROLLMENT_STOPPED = "enrollment.stopped"
NOTICE_PUBLISHED = "notice.published"
# A full sync (or a source's key listing) found a person record its source no longer holds: the
# resident's values are recomputed from what remains (a `removed` entry follows when nothing does).
RECORD_WITHDRAWN = "record.withdrawn"
# A data steward decided about a held-back record (POST /v1/quarantine/{id}:resolve).
QUARANTINE_RESOLVED = "quarantine.resolved"
_STATUS_EVENTS = {"deceased": RESIDENT_DECEASED, "moved_out": RESIDENT_MOVED_OUT}
# Bookkeeping that moves with every source edit (timestamps, where a value came from): listing it would
# name a change in every entry; a change of only these is no change to report.
_IGNORED = frozenset({"updated_at", "provenance"})

_INSERT = RowInsert(
    table_of(ChangeRow),
    [
        "resource",
        "record_id",
        "change",
        "event",
        "fields",
        "status",
        "regions",
        "tags",
        "resident_id",
        "changed_at",
    ],
)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to append to the log."""

    resource: str
    record_id: str
    change: str
    fields: tuple[str, ...]
    event: str | None = None
    status: str | None = None
    regions: tuple[str, ...] = ()
    tags: tuple[str, ...] | None = None
    resident_id: str | None = None


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the names of the fields whose values differ (every non-null field for a new record)."""
    if old is None:
        return tuple(k for k, v in new.items() if k not in _IGNORED and v not in (None, [], {}))
    names = dict.fromkeys([*new, *old])
    return tuple(k for k in names if k not in _IGNORED and old.get(k) != new.get(k))


def resident_change(rid: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Change | None:
    """Return the change of a resident document (None when nothing served changed)."""
    fields = changed_fields(old, new)
    if not fields:
        return None
    status = new.get("status")
    before = old.get("status") if old is not None else None
    event = _STATUS_EVENTS.get(str(status)) if old is not None and status != before else None
    region = new.get("region_code")
    return Change(
        "resident",
        rid,
        "created" if old is None else "updated",
        fields,
        event=event,
        status=status,
        regions=(region,) if region else (),
        tags=tuple(new.get("tags") or ()),
        resident_id=rid,
    )


def enrollment_event(old_status: str | None, new_status: str | None) -> str | None:
    """Return enrollment.started / .stopped for a status transition (None: neither)."""
    if new_status == "active" and old_status != "active":
        return ENROLLMENT_STARTED
    if old_status == "active" and new_status != "active":
        return ENROLLMENT_STOPPED
    return None


def append(store: Store, changes: Iterable[Change], *, now: dt.datetime) -> None:
    """Append changes to the log in the store's current write transaction."""
    stamp = store.ts(now)
    store.insert(
        _INSERT,
        [
            (
                c.resource,
                c.record_id,
                c.change,
                c.event,
                orjson.dumps(c.fields).decode(),
                c.status,
                ",".join(c.regions) or None,
                None if c.tags is None else orjson.dumps(c.tags).decode(),
                c.resident_id,
                stamp,
            )
            for c in changes
        ],
    )


def enrollment_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    """Return the changes between stored enrolment documents and their replacements, by id."""
    out: list[Change] = []
    for eid in dict.fromkeys([*new, *old]):
        before = orjson.loads(old[eid]) if eid in old else None
        after = orjson.loads(new[eid]) if eid in new else None
        if after is None:
            assert before is not None
            event = enrollment_event(before.get("status"), None)
            out.append(
                Change("enrollment", eid, "removed", (), event=event, resident_id=before.get("resident_id"))
            )
            continue
        fields = changed_fields(before, after)
        if not fields:
            continue
        out.append(
            Change(
                "enrollment",
                eid,
                "created" if before is None else "updated",
                fields,
                event=enrollment_event(before.get("status") if before else None, after.get("status")),
                status=after.get("status"),
                resident_id=after.get("resident_id"),
            )
        )
    return out
