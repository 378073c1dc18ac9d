"""Early-warning worklist routes (预警): thin; rules in service.py, queries in repository.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path

from gateway.alerts import service
from gateway.alerts.models import ALERT_ID_PATTERN, Alert, AlertClose
from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.deps import CursorQuery, EngineDep, LimitQuery
from gateway.pagination import decode_cursor, encode_cursor
from gateway.policy.deps import ResidentsAccess
from gateway.policy.filters import field_query
from gateway.routing import ACTION_PROBLEMS, ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.models import Page, RegionCode

router = api_router(prefix="/v1/alerts", tags=["alerts"])
AlertId = Annotated[str, Path(pattern=ALERT_ID_PATTERN, description="The item's id.")]
READ = [require_scope(Scope.ALERTS_READ)]
WRITE = [require_scope(Scope.ALERTS_WRITE)]


@router.get(
    "",
    **operation(
        "List the department's early-warning worklist", *PAGE_PROBLEMS, model=Page[Alert], guard=READ
    ),
)
async def list_alerts(
    engine: EngineDep,
    access: ResidentsAccess,
    region: Annotated[
        RegionCode | None, field_query("region_code", description="Only residents of this region's subtree.")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """List the items raised for the caller's department by rules read under `X-Purpose`.

    Rows and fields follow the caller's grant on residents for that purpose, as for `/v1/residents`.
    """
    key = decode_cursor(cursor, arity=1)
    items, last = await service.page(
        engine,
        access,
        region=region,
        after=str(key[0]) if key else None,
        limit=limit,
    )
    return {"items": items, "next": encode_cursor([last]) if last else None}


@router.get(
    "/{alert_id:segment}", **operation("Get an early-warning item", *ITEM_PROBLEMS, model=Alert, guard=READ)
)
async def get_alert(engine: EngineDep, access: ResidentsAccess, alert_id: AlertId) -> dict[str, Any]:
    """Return one item of the caller's worklist (another department's answers 404)."""
    return await service.found(engine, access, alert_id)


@router.post(
    "/{alert_id}:close",
    **operation("Close an early-warning item with its outcome", *ACTION_PROBLEMS, model=Alert, guard=WRITE),
)
async def close_alert(
    engine: EngineDep,
    access: ResidentsAccess,
    record: RecordDep,
    alert_id: AlertId,
    body: Annotated[AlertClose, Body()],
) -> dict[str, Any]:
    """Close an item: what was done (outcome and note), by whom (X-End-User); audited."""
    item = await service.close(
        engine, access, alert_id, outcome=body.outcome.value, note=body.note, by=record.end_user
    )
    record.reason = f"alert closed: {body.outcome.value}"
    return item
