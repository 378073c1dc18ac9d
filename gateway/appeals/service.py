"""Residents' requests (诉求): record for a resident, route, forward, answer, close; overdue marked."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.appeals import repository
from gateway.appeals.models import DUE_WORKING_DAYS, ROUTES, AppealCreate
from gateway.auth.tokens import Principal
from gateway.consents import repository as consent_store
from gateway.consents import service as consents
from gateway.context import RequestRecord
from gateway.errors import Conflict, NotFound, or_not_found
from gateway.policy.errors import ConsentRequired
from gateway.policy.sharing_repository import add_working_days
from store.read import ReadStore

OPEN = repository.OPEN_STATES


def new_appeal_id() -> str:
    """Return a fresh, unguessable request reference (Q + 16 hex digits)."""
    return "Q" + secrets.token_hex(8).upper()


def note(record: RequestRecord, appeal: dict[str, Any], *, reason: str) -> None:
    """Audit a step as an action on the resident's behalf; their disclosure report shows it."""
    record.disclose("appeal", [appeal["id"], appeal["resident_id"]])
    record.on_behalf_of = appeal["resident_id"]
    record.consent_id = appeal.get("consent_id")
    record.reason = reason


def _who(principal: Principal, end_user: str | None) -> dict[str, Any]:
    return {"by_client": principal.client_id, "by": end_user}


def where(principal: Principal) -> ColumnElement[bool]:
    """Return which requests the caller sees (recorded by it, or handled by its department in its region)."""
    return repository.visible(
        client_id=principal.client_id, department=principal.department, region=principal.region_code
    )


async def _consent(
    engine: AsyncEngine,
    body: AppealCreate,
    *,
    principal: Principal,
    resident_id: str,
    bound: bool,
    today: dt.date,
) -> str | None:
    if body.consent_id is None:
        if bound:
            # PIPL Art. 13-14: a village agent handles a resident's personal data only with their consent.
            raise ConsentRequired(
                "a village agent records a request only under the resident's consent (consent_id)",
                missing="consent-required",
                purpose=None,
                resource="appeals",
            )
        return None
    held = await consent_store.get(engine, body.consent_id, agent_client_id=principal.client_id)
    purpose = held["purpose"] if held else None
    await consents.check(
        engine,
        body.consent_id,
        client_id=principal.client_id,
        resident_id=resident_id,
        purpose=purpose,
        today=today,
    )
    return body.consent_id


async def record(
    engine: AsyncEngine,
    db: ReadStore,
    body: AppealCreate,
    *,
    principal: Principal,
    consent_bound: bool,
    end_user: str | None,
    today: dt.date,
) -> dict[str, Any]:
    """Record a request for a resident of the caller's region, routed to its department; return it."""
    rid, region = await consents.resident_in_region(
        db, resident_id=body.resident_id, national_id=body.national_id, region=principal.region_code
    )
    consent_id = await _consent(
        engine, body, principal=principal, resident_id=rid, bound=consent_bound, today=today
    )
    now = dt.datetime.now(dt.UTC)
    department = ROUTES[body.category].value
    values = {
        "id": new_appeal_id(),
        "resident_id": rid,
        "region_code": region,
        "category": body.category.value,
        "description": body.description,
        "urgency": body.urgency.value,
        "channel": body.channel.value,
        "consent_id": consent_id,
        "recorded_by_client": principal.client_id,
        "recorded_by": end_user,
        "department": department,
        "due_date": add_working_days(today, DUE_WORKING_DAYS[body.urgency]),
        "state": "accepted",
        "overdue": False,
        "created_at": now,
        "updated_at": now,
    }
    step = {**_who(principal, end_user), "department": department}
    await repository.create(engine, values, step=step)
    return await found(engine, str(values["id"]), principal=principal)


async def found(engine: AsyncEngine, appeal_id: str, *, principal: Principal) -> dict[str, Any]:
    """Return a request the caller sees, with its steps, or raise NotFound."""
    return or_not_found(
        await repository.get(engine, appeal_id, where=where(principal)), f"no request {appeal_id}"
    )


async def page(
    engine: AsyncEngine, *, principal: Principal, filters: dict[str, Any], after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of the requests the caller sees, with their steps, and the key to continue from."""
    ids, last = await repository.page(
        engine, where=where(principal), filters=filters, after=after, limit=limit
    )
    return [await found(engine, i, principal=principal) for i in ids], last


async def _move(
    engine: AsyncEngine,
    appeal_id: str,
    *,
    principal: Principal,
    handler_only: bool,
    states: tuple[str, ...],
    values: dict[str, Any],
    step: dict[str, Any],
) -> dict[str, Any]:
    appeal = await found(engine, appeal_id, principal=principal)
    if handler_only and appeal["department"] != principal.department:
        raise NotFound(f"no request {appeal_id} handled by department {principal.department}")
    now = dt.datetime.now(dt.UTC)
    if not await repository.transition(
        engine, appeal_id, states=states, values={**values, "updated_at": now}, step=step
    ):
        raise Conflict(f"request {appeal_id} is {appeal['state']}: it cannot be {values['state']} now")
    # The step's taker sees the outcome even when it moved the request out of its sight (forwarded).
    moved = await repository.get(engine, appeal_id, where=true())
    assert moved is not None
    return moved


async def forward(
    engine: AsyncEngine,
    appeal_id: str,
    *,
    principal: Principal,
    to: str,
    text: str,
    end_user: str | None,
    today: dt.date,
) -> dict[str, Any]:
    """Forward a request the caller's department handles to another, with a fresh due date."""
    appeal = await found(engine, appeal_id, principal=principal)
    days = DUE_WORKING_DAYS.get(appeal["urgency"], 10)
    values = {
        "state": "forwarded",
        "department": to,
        "due_date": add_working_days(today, days),
        "overdue": False,
    }
    step = {**_who(principal, end_user), "department": to, "note": text}
    return await _move(
        engine, appeal_id, principal=principal, handler_only=True, states=OPEN, values=values, step=step
    )


async def conclude(
    engine: AsyncEngine,
    appeal_id: str,
    *,
    principal: Principal,
    text: str,
    end_user: str | None,
    closing: bool,
) -> dict[str, Any]:
    """Answer an open request (the handling department), or close an answered one (recorder or handler)."""
    step = {**_who(principal, end_user), "department": principal.department, "note": text}
    values = {"state": "closed"} if closing else {"state": "answered", "answer": text}
    states = ("answered",) if closing else OPEN
    return await _move(
        engine,
        appeal_id,
        principal=principal,
        handler_only=not closing,
        states=states,
        values=values,
        step=step,
    )
