"""The change feed's contract: event types, one change as a caller sees it, a page of changes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from policies.alerts import ALERT_RAISED
from store import changes as log


class EventType(StrEnum):
    """A business event a change may carry (webhook subscriptions choose among these)."""

    RESIDENT_DECEASED = log.RESIDENT_DECEASED
    RESIDENT_MOVED_OUT = log.RESIDENT_MOVED_OUT
    RESIDENT_MIGRANT_REGISTERED = log.RESIDENT_MIGRANT_REGISTERED
    ENROLLMENT_STARTED = log.ENROLLMENT_STARTED
    ENROLLMENT_STOPPED = log.ENROLLMENT_STOPPED
    NOTICE_PUBLISHED = log.NOTICE_PUBLISHED
    RECORD_WITHDRAWN = log.RECORD_WITHDRAWN  # a source no longer holds a record of the resident
    QUARANTINE_RESOLVED = log.QUARANTINE_RESOLVED  # a steward's decision (quarantine readers only)
    ALERT_RAISED = ALERT_RAISED  # an early-warning item on the department's worklist (GET /v1/alerts)


class ChangeResource(StrEnum):
    """The kind of record a change is about."""

    RESIDENT = "resident"
    ENROLLMENT = "enrollment"
    NOTICE = "notice"
    ALERT = "alert"
    QUARANTINE = "quarantine"


class ChangeKind(StrEnum):
    """What happened to the record."""

    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"


_EXAMPLE: dict[str, Any] = {
    "seq": 1042,
    "resource": "resident",
    "id": "R7K3Q9M2X4T8",
    "change": "updated",
    "event": "resident.deceased",
    "fields": ["status"],
    "status": "deceased",
    "resident_id": "R7K3Q9M2X4T8",
    "changed_at": "2026-11-01T00:00:00Z",
}


class ChangeEntry(BaseModel):
    """One change to a record the caller may read; field names limited to those it is shown."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    seq: int = Field(description="Position in the change log (ascending; gaps are others' changes).")
    resource: ChangeResource
    id: str = Field(description="Id of the changed record (resident, enrolment, notice, alert, quarantine).")
    change: ChangeKind
    event: EventType | None = Field(default=None, description="The business event, where one applies.")
    fields: list[str] = Field(description="Changed fields the caller may read (in clear or masked).")
    status: str | None = Field(default=None, description="The record's new status, when the caller sees it.")
    resident_id: str | None = Field(default=None, description="The resident an enrolment belongs to.")
    changed_at: dt.datetime = Field(description="When the gateway recorded the change (UTC).")


class ChangePage(BaseModel):
    """A page of the change feed: pass `next` as `since` to continue, now or later."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE], "next": "WzEwNDJd", "more": False}]}
    )

    items: list[ChangeEntry]
    next: str = Field(description="Opaque cursor after this page; never null: poll again with it later.")
    more: bool = Field(description="Whether more changes are waiting now (fetch `next` at once).")
