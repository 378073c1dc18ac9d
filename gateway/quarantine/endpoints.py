"""Quarantine routes (隔离记录): thin; rules in service.py, queries in repository.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Body, Path, Query

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery
from gateway.desk import DeskDep
from gateway.errors import BadRequest, Forbidden, InvalidCursor, ValidationFailed
from gateway.openapi import first_item, links
from gateway.pagination import decode_cursor, encode_cursor
from gateway.quarantine import repository, service
from gateway.routing import ACTION_PROBLEMS, ITEM_PROBLEMS, api_router, operation
from schemas.models import Page, QuarantinedRecord

router = api_router(prefix="/v1/quarantine", tags=["quarantine"])
READ = [require_scope(Scope.QUARANTINE_READ)]
WRITE = [require_scope(Scope.QUARANTINE_WRITE)]
RecordId = Annotated[int, Path(ge=1, le=2**62, description="Quarantine id.")]


@router.get(
    "",
    **operation(
        "List quarantined records",
        InvalidCursor,
        BadRequest,
        Forbidden,
        ValidationFailed,
        model=Page[QuarantinedRecord],
        guard=READ,
        responses=links(
            200,
            GetQuarantined=first_item(
                "/v1/quarantine/{record_id}", param="record_id", what="held-back record"
            ),
        ),
    ),
)
async def list_quarantine(
    desk: DeskDep,
    source: Annotated[str | None, Query(max_length=64, description="Only this source.")] = None,
    reason: Annotated[str | None, Query(max_length=64, description="Only this reason code.")] = None,
    min_age_days: Annotated[
        int | None, Query(ge=0, le=36500, description="Only records first held back at least this long ago.")
    ] = None,
    state: Annotated[Literal["open", "closed", "all"], Query(description="Open, closed or all.")] = "open",
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """List the held-back records of the caller's department's sources, oldest id first."""
    principal, engine, record = desk
    key = decode_cursor(cursor, arity=1)
    before = None
    if min_age_days is not None:
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=min_age_days)
    flt = repository.QuarantineFilter(
        sources=service.reach(principal), source=source, reason=reason, seen_before=before, state=state
    )
    after = int(key[0]) if key and isinstance(key[0], int) else None
    items, last = await repository.page(engine, flt, after=after, limit=limit)
    record.disclose("quarantine", [str(i["id"]) for i in items])
    return {
        "items": [service.view(i, principal=principal) for i in items],
        "next": encode_cursor([last]) if last is not None else None,
    }


@router.get(
    "/{record_id:segment}",
    **operation("Get a quarantined record", Forbidden, *ITEM_PROBLEMS, model=QuarantinedRecord, guard=READ),
)
async def get_quarantined(desk: DeskDep, record_id: RecordId) -> dict[str, Any]:
    """Return one record (its raw payload only to the owning department's data stewards)."""
    row = await service.found(desk.engine, record_id, principal=desk.principal)
    desk.record.disclose("quarantine", [str(record_id)])
    return service.view(row, principal=desk.principal)


@router.post(
    "/{record_id}:resolve",
    **operation(
        "Resolve a quarantined record", Forbidden, *ACTION_PROBLEMS, model=QuarantinedRecord, guard=WRITE
    ),
)
async def resolve_quarantined(
    desk: DeskDep, record_id: RecordId, body: Annotated[service.Resolve, Body()]
) -> dict[str, Any]:
    """Decide about an open record, effective at its source's next sync, audited and in the change feed.

    `retry` (translate again after a correction), `dismiss`, `link` / `split` (an `id_conflict`), or
    `choose_village` with `village_code` (an `ambiguous_village`).
    """
    principal, engine, record = desk
    row = await service.resolve(engine, record_id, body, principal=principal, now=dt.datetime.now(dt.UTC))
    record.disclose("quarantine", [str(record_id)])
    chosen = f" {body.village_code}" if body.village_code else ""
    record.reason = f"quarantine {body.action.value}{chosen}: {body.reason}"
    return service.view(row, principal=principal)
