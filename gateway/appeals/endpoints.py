"""Residents' requests (诉求) routes: thin; rules in service.py, queries in repository.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Body, Path, Query

from gateway.appeals import repository, service
from gateway.appeals.models import (
    APPEAL_ID_PATTERN,
    Appeal,
    AppealAnswer,
    AppealCategory,
    AppealClose,
    AppealCreate,
    AppealForward,
    AppealState,
)
from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, EngineDep, LimitQuery, ReadDep, ResidentQuery
from gateway.desk import Desk, DeskDep
from gateway.pagination import decode_cursor, encode_cursor
from gateway.policy.deps import PolicyStateDep
from gateway.routing import ACTION_PROBLEMS, ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.models import Page
from schemas.time import today_cn

router = api_router(prefix="/v1/appeals", tags=["appeals"])
AppealId = Annotated[str, Path(pattern=APPEAL_ID_PATTERN, description="The request's reference.")]
READ = [require_scope(Scope.APPEALS_READ)]
WRITE = [require_scope(Scope.APPEALS_WRITE)]


async def _sweep(engine: EngineDep) -> None:
    # Overdue is recorded when first seen past its due date: every read looks first.
    await repository.mark_overdue(engine, today=today_cn(), now=dt.datetime.now(dt.UTC))


@router.post(
    "", **operation("Record a resident's request", *ITEM_PROBLEMS, model=Appeal, guard=WRITE, status_code=201)
)
async def create_appeal(
    desk: DeskDep, db: ReadDep, state: PolicyStateDep, body: Annotated[AppealCreate, Body()]
) -> dict[str, Any]:
    """Record a request on a resident's behalf and route it to the responsible department with a due date.

    A village agent's client must name the resident's consent (`consent_id`, POST /v1/consents).
    """
    principal, engine, record = desk
    bound = state.enabled and state.engine.policy.consent_bound(principal.client_id, principal.department)
    appeal = await service.record(
        engine, db, body, principal=principal, consent_bound=bound, end_user=record.end_user, today=today_cn()
    )
    service.note(record, appeal, reason="appeal recorded")
    return appeal


@router.get("", **operation("List residents' requests", *PAGE_PROBLEMS, model=Page[Appeal], guard=READ))
async def list_appeals(
    desk: DeskDep,
    resident: ResidentQuery = None,
    state: Annotated[AppealState | None, Query()] = None,
    category: Annotated[AppealCategory | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (true) or only on time (false).")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """List the requests the caller recorded or its department handles (in its region), by reference."""
    principal, engine, record = desk
    await _sweep(engine)
    key = decode_cursor(cursor, arity=1)
    filters = {
        "resident_id": resident,
        "state": state.value if state else None,
        "category": category.value if category else None,
        "overdue": overdue,
    }
    items, last = await service.page(
        engine, principal=principal, filters=filters, after=str(key[0]) if key else None, limit=limit
    )
    record.disclose("appeal", [*(a["id"] for a in items), *dict.fromkeys(a["resident_id"] for a in items)])
    return {"items": items, "next": encode_cursor([last]) if last else None}


@router.get(
    "/{appeal_id:segment}",
    **operation("Get a resident's request with its steps", *ITEM_PROBLEMS, model=Appeal, guard=READ),
)
async def get_appeal(desk: DeskDep, appeal_id: AppealId) -> dict[str, Any]:
    """Return one request the caller sees, with every step of its handling."""
    await _sweep(desk.engine)
    appeal = await service.found(desk.engine, appeal_id, principal=desk.principal)
    service.note(desk.record, appeal, reason="appeal read")
    return appeal


async def _step(
    desk: Desk, appeal_id: str, step: Callable[..., Awaitable[dict[str, Any]]], *, reason: str, **args: Any
) -> dict[str, Any]:
    """Take one step of a request's handling as the caller, audited with `reason`."""
    who = {"principal": desk.principal, "end_user": desk.record.end_user}
    appeal = await step(desk.engine, appeal_id, **who, **args)
    service.note(desk.record, appeal, reason=reason)
    return appeal


@router.post(
    "/{appeal_id}:forward",
    **operation("Forward a request to another department", *ACTION_PROBLEMS, model=Appeal, guard=WRITE),
)
async def forward_appeal(
    desk: DeskDep, appeal_id: AppealId, body: Annotated[AppealForward, Body()]
) -> dict[str, Any]:
    """Hand a request the caller's department holds to the department that can answer it (new due date)."""
    to = body.department.value
    reason = f"appeal forwarded to {to}"
    return await _step(
        desk, appeal_id, service.forward, reason=reason, to=to, text=body.note, today=today_cn()
    )


@router.post(
    "/{appeal_id}:answer", **operation("Answer a request", *ACTION_PROBLEMS, model=Appeal, guard=WRITE)
)
async def answer_appeal(
    desk: DeskDep, appeal_id: AppealId, body: Annotated[AppealAnswer, Body()]
) -> dict[str, Any]:
    """Record the handling department's answer to the resident."""
    return await _step(
        desk, appeal_id, service.conclude, reason="appeal answered", text=body.answer, closing=False
    )


@router.post(
    "/{appeal_id}:close",
    **operation("Close an answered request", *ACTION_PROBLEMS, model=Appeal, guard=WRITE),
)
async def close_appeal(
    desk: DeskDep, appeal_id: AppealId, body: Annotated[AppealClose, Body()]
) -> dict[str, Any]:
    """Close a request once the resident has the answer (the recorder or the handling department)."""
    return await _step(
        desk, appeal_id, service.conclude, reason="appeal closed", text=body.note, closing=True
    )
