"""Webhook subscription routes: thin; rules live in service.py, queries in repository.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path
from starlette.responses import Response

from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, EngineDep, LimitQuery, SettingsDep
from gateway.errors import BadRequest, InvalidCursor, ValidationFailed
from gateway.openapi import link, links
from gateway.pagination import decode_cursor
from gateway.policy.deps import PolicyStateDep, PurposeHeader, SubjectDep
from gateway.routing import ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from gateway.subscriptions import service
from gateway.subscriptions.models import (
    DeadLetterPage,
    Replayed,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionPage,
)

router = api_router(
    prefix="/v1/subscriptions",
    tags=["subscriptions"],
    dependencies=[require_scope(Scope.SUBSCRIPTIONS_WRITE)],
)

SubscriptionId = Annotated[
    str, Path(min_length=1, max_length=16, pattern=r"^[A-Z0-9]+$", description="Subscription id.")
]
DeliveryId = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^msg_[a-z0-9]+$", description="Message id (webhook-id).")
]


CREATE_DESCRIPTION = """\
Deliver the chosen events from now on to an allowed URL, signed with a secret shown only in this answer.

Deliveries are decided by the caller's policy for the stated X-Purpose, exactly as its reads are: a
death outside its rows, or one whose `status` field it may not read, is never sent. A URL outside the
operator's allow-list (GATEWAY_WEBHOOK_ALLOWED_URLS) is refused with 422 webhook-target-not-allowed.
Each delivery carries Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature:
HMAC-SHA256 over `id.timestamp.body`); failed deliveries are retried with exponential backoff, then
listed under dead-letters for replay.
"""


def _after(cursor: str | None) -> str | None:
    key = decode_cursor(cursor, arity=1)
    return str(key[0]) if key else None


@router.post(
    "",
    **operation(
        "Subscribe to events",
        ValidationFailed,
        model=SubscriptionCreated,
        responses=links(
            201,
            ListDeadLetters=link(
                "get",
                "/v1/subscriptions/{subscription_id}/dead-letters",
                {"subscription_id": "$response.body#/id"},
                "Messages of the new subscription whose every attempt failed.",
            ),
            DeleteSubscription=link(
                "delete",
                "/v1/subscriptions/{subscription_id}",
                {"subscription_id": "$response.body#/id"},
                "Stop the new subscription.",
            ),
        ),
        description=CREATE_DESCRIPTION,
        status_code=201,
    ),
)
async def create_subscription(
    engine: EngineDep,
    settings: SettingsDep,
    state: PolicyStateDep,
    principal: PrincipalDep,
    subject: SubjectDep,
    body: Annotated[SubscriptionIn, Body()],
    purpose: PurposeHeader = None,
) -> SubscriptionCreated:
    """Create a subscription and return it with its secret."""
    created = await service.create(
        engine, body, settings=settings, state=state, principal=principal, subject=subject, purpose=purpose
    )
    return SubscriptionCreated.model_validate(created)


@router.get("", **operation("List subscriptions", *PAGE_PROBLEMS, model=SubscriptionPage))
async def list_subscriptions(
    engine: EngineDep, principal: PrincipalDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> SubscriptionPage:
    """List the caller's own subscriptions (without their secrets)."""
    found = await service.page(engine, principal.client_id, after=_after(cursor), limit=limit)
    return SubscriptionPage.model_validate(found)


@router.delete(
    "/{subscription_id}",
    **operation("Delete a subscription", *ITEM_PROBLEMS, status_code=204, response_class=Response),
)
async def delete_subscription(
    engine: EngineDep, principal: PrincipalDep, subscription_id: SubscriptionId
) -> Response:
    """Stop deliveries of one of the caller's subscriptions; undelivered messages are dropped."""
    await service.delete(engine, subscription_id, client_id=principal.client_id)
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/dead-letters",
    **operation("List dead letters", InvalidCursor, BadRequest, *ITEM_PROBLEMS, model=DeadLetterPage),
)
async def list_dead_letters(
    engine: EngineDep,
    principal: PrincipalDep,
    subscription_id: SubscriptionId,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> DeadLetterPage:
    """List messages whose every delivery attempt failed, with the last error."""
    found = await service.dead_letters(
        engine, subscription_id, client_id=principal.client_id, after=_after(cursor), limit=limit
    )
    return DeadLetterPage.model_validate(found)


@router.post(
    "/{subscription_id}/dead-letters/{delivery_id}:replay",
    **operation("Replay a dead letter", *ITEM_PROBLEMS, model=Replayed, status_code=202),
)
async def replay_dead_letter(
    engine: EngineDep, principal: PrincipalDep, subscription_id: SubscriptionId, delivery_id: DeliveryId
) -> Replayed:
    """Queue a dead letter again; the worker delivers it with the same webhook-id and fresh attempts."""
    found = await service.replay(engine, subscription_id, delivery_id, client_id=principal.client_id)
    return Replayed.model_validate(found)
