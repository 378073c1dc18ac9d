"""Quarantine operations: who reaches which source's held-back records, what they see, what they decide.

A client reaches the quarantine of its own department's sources (quarantine:read). The raw payload is
shown only to that department's data stewards (quarantine:write); other readers see its keys with every
value masked. A steward's decision closes the row (`dismissed`, with the reason) or asks the source's
next sync to translate the raw record again (`retry`, after reference data or a rule was corrected).
An `id_conflict` (重号) is linked (the same person after all: merged at the next sync) or split (another
person: kept out of the resident, never reopened by the clash). For an `ambiguous_village` the steward
names the village (`choose_village`): every later read of that record by its source uses it. Each
decision is a `quarantine.resolved` entry of the change feed, seen by the source's own quarantine readers.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.api import sources_of
from gateway.auth.scopes import Scope
from gateway.auth.tokens import Principal
from gateway.errors import Conflict, ValidationFailed, occurrence, or_not_found
from gateway.quarantine import repository
from schemas.models import RegionCode

MASK = "***"
ID_CONFLICT = "id_conflict"
AMBIGUOUS_VILLAGE = "ambiguous_village"


class ActionNotApplicable(
    ValidationFailed,
    slug="action-not-applicable",
    title="Action not applicable",
    title_zh="处理方式不适用",
    detail_zh="该处理方式与记录被暂扣的原因不符（关联或拆分仅适用于 id_conflict）。",
    example=occurrence("link applies to id_conflict records only; this one is held for invalid_code"),
):
    """The decision does not fit the record's reason (link or split are for id_conflict only)."""


class Action(StrEnum):
    """What a data steward decides about a held-back record."""

    RETRY = "retry"  # translate again at the source's next sync (after a correction)
    DISMISS = "dismiss"  # close it: not to be served (a test record, a known duplicate)
    LINK = "link"  # id_conflict: the same person after all; merged at the next sync
    SPLIT = "split"  # id_conflict: another person; kept out of the resident for good
    CHOOSE_VILLAGE = "choose_village"  # ambiguous_village: the named village, at the next sync


# Actions that fit one reason only; the others fit any reason but id_conflict.
ONLY_FOR = {Action.LINK: ID_CONFLICT, Action.SPLIT: ID_CONFLICT, Action.CHOOSE_VILLAGE: AMBIGUOUS_VILLAGE}
CLOSING = {Action.DISMISS: "dismissed", Action.LINK: "linked", Action.SPLIT: "split"}


class Resolve(BaseModel):
    """A steward's decision about one quarantined record."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "dismiss", "reason": "测试数据"},
                {
                    "action": "choose_village",
                    "village_code": "511599100201",
                    "reason": "电话核实为青山镇青山村",
                },
            ]
        },
    )

    action: Action
    reason: str = Field(
        min_length=1, max_length=500, description="Why (kept in the record and the audit log)."
    )
    village_code: RegionCode | None = Field(
        default=None,
        description="`choose_village` only: the village (12 digits) the record means; it must bear the "
        "village name the record gives.",
    )

    @model_validator(mode="after")
    def _village_with_its_action(self) -> Resolve:
        if (self.village_code is not None) != (self.action is Action.CHOOSE_VILLAGE):
            raise ValueError("village_code goes with action choose_village, and only with it")
        return self


def reach(principal: Principal) -> tuple[str, ...]:
    """Return the sources whose quarantine the caller reaches: those of its own department."""
    return sources_of(principal.department)


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
        "chosen_region": row.get("chosen_region"),
    }


async def found(engine: AsyncEngine, record_id: int, *, principal: Principal) -> dict[str, Any]:
    """Return a row the caller reaches, or raise NotFound (another department's answers the same)."""
    row = await repository.get(engine, record_id, sources=reach(principal))
    return or_not_found(row, f"no quarantined record {record_id}")


async def resolve(
    engine: AsyncEngine, record_id: int, body: Resolve, *, principal: Principal, now: dt.datetime
) -> dict[str, Any]:
    """Apply a steward's decision to an open row; raise Conflict when it is closed already."""
    current = await found(engine, record_id, principal=principal)
    only = ONLY_FOR.get(body.action)
    if (current["reason"] != only) if only is not None else (current["reason"] == ID_CONFLICT):
        raise ActionNotApplicable(
            f"{body.action.value} does not apply to a record held as {current['reason']}"
        )
    note = f" [{body.action.value} by {principal.client_id} {now:%Y-%m-%d}: {body.reason}]"
    values: dict[str, Any] = {"resolution": "retry"}
    if body.action is Action.CHOOSE_VILLAGE:
        assert body.village_code is not None  # the model requires it
        await _check_village(engine, body.village_code, raw=current["raw"])
        values["chosen_region"] = body.village_code
    elif body.action in CLOSING:
        values = {"resolution": CLOSING[body.action], "released_at": now}
    row = await repository.decide(
        engine, record_id, values=values, note=note, action=body.action.value, now=now
    )
    if row is None:
        raise Conflict(f"quarantined record {record_id} is closed already")
    if body.action in (Action.LINK, Action.SPLIT) and row.get("resident_id"):
        await repository.mark_dirty(engine, str(row["resident_id"]))  # the next sync recomputes it
    return row


async def _check_village(engine: AsyncEngine, code: str, *, raw: str) -> None:
    """Refuse a code that is no village, or a village whose name the record does not give."""
    name = await repository.village_name(engine, code)
    if name is None:
        raise ActionNotApplicable(f"{code} is not a village of the gazetteer")
    if name not in _texts(orjson.loads(raw)):
        raise ActionNotApplicable(f"{code} is {name}, a village the record does not name")


def _texts(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_texts(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_texts(v) for v in value)) if value else set()
    return {value.strip()} if isinstance(value, str) else set()
