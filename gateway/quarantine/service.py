"""Quarantine operations: who reaches which source's held-back records, what they see, what they decide.

A client reaches the quarantine of its own department's sources (quarantine:read). The raw payload is
shown only to that department's data stewards (quarantine:write); other readers see its keys with every
value masked. A steward's decision closes the row (`dismissed`, with the reason) or asks the source's
next sync to translate the raw record again (`retry`, after reference data or a rule was corrected).
An `id_conflict` (重号) is linked (the same person after all: merged at the next sync) or split (another
person: kept out of the resident, never reopened by the clash).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.sdk.registry import available
from gateway.auth.scopes import Scope
from gateway.auth.tokens import Principal
from gateway.errors import Conflict, NotFound, ValidationFailed, occurrence
from gateway.quarantine import repository

MASK = "***"
ID_CONFLICT = "id_conflict"


class ActionNotApplicable(ValidationFailed):
    """The decision does not fit the record's reason (link or split are for id_conflict only)."""

    slug, title = "action-not-applicable", "Action not applicable"
    title_zh, detail_zh = (
        "处理方式不适用",
        "该处理方式与记录被暂扣的原因不符（关联或拆分仅适用于 id_conflict）。",
    )
    example = occurrence("link applies to id_conflict records only; this one is held for invalid_code")


class Action(StrEnum):
    """What a data steward decides about a held-back record."""

    RETRY = "retry"  # translate again at the source's next sync (after a correction)
    DISMISS = "dismiss"  # close it: not to be served (a test record, a known duplicate)
    LINK = "link"  # id_conflict: the same person after all; merged at the next sync
    SPLIT = "split"  # id_conflict: another person; kept out of the resident for good


class Resolve(BaseModel):
    """A steward's decision about one quarantined record."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"action": "dismiss", "reason": "测试数据"}]}
    )

    action: Action
    reason: str = Field(
        min_length=1, max_length=500, description="Why (kept in the record and the audit log)."
    )


def reach(principal: Principal) -> tuple[str, ...]:
    """Return the sources whose quarantine the caller reaches: those of its own department."""
    return tuple(name for name, cls in available().items() if cls.department.value == principal.department)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return None if value is None else MASK


def view(row: dict[str, Any], *, principal: Principal) -> dict[str, Any]:
    """Return a row as the QuarantinedRecord the caller may see (raw masked unless a steward)."""
    raw = orjson.loads(row["raw"])
    steward = principal.has_scope(Scope.QUARANTINE_WRITE.value)
    return {
        "id": row["id"],
        "source": row["source"],
        "record_key": row["record_key"],
        "raw": raw if steward else _masked(raw),
        "reason": row["reason"],
        "message": row["message"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "released_at": row["released_at"],
        "resolution": row.get("resolution"),
    }


async def found(engine: AsyncEngine, record_id: int, *, principal: Principal) -> dict[str, Any]:
    """Return a row the caller reaches, or raise NotFound (another department's answers the same)."""
    row = await repository.get(engine, record_id, sources=reach(principal))
    if row is None:
        raise NotFound(f"no quarantined record {record_id}")
    return row


async def resolve(
    engine: AsyncEngine, record_id: int, body: Resolve, *, principal: Principal, now: dt.datetime
) -> dict[str, Any]:
    """Apply a steward's decision to an open row; raise Conflict when it is closed already."""
    current = await found(engine, record_id, principal=principal)
    identity = body.action in (Action.LINK, Action.SPLIT)
    if identity != (current["reason"] == ID_CONFLICT):
        raise ActionNotApplicable(
            f"{body.action.value} does not apply to a record held as {current['reason']}"
        )
    note = f" [{body.action.value} by {principal.client_id} {now:%Y-%m-%d}: {body.reason}]"
    if body.action is Action.RETRY:
        row = await repository.retry(engine, record_id, note=note)
    else:
        resolution = {Action.DISMISS: "dismissed", Action.LINK: "linked", Action.SPLIT: "split"}[body.action]
        row = await repository.close(engine, record_id, resolution=resolution, note=note, now=now)
        if row is not None and identity and row.get("resident_id"):
            await repository.mark_dirty(engine, str(row["resident_id"]))  # the next sync recomputes it
    if row is None:
        raise Conflict(f"quarantined record {record_id} is closed already")
    return row
