"""Subscriptions: create (allow-listed target, policy-checked purpose, secret shown once), list, delete,
dead letters and their replay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.keys import key_encryption
from gateway.auth.tokens import Principal
from gateway.changes.visibility import decide_all
from gateway.errors import NotFound, ValidationFailed, occurrence
from gateway.pagination import cut_page, encode_cursor
from gateway.policy.errors import GrantMissing, PurposeRequired
from gateway.policy.state import PolicyState
from gateway.settings import Settings
from gateway.subscriptions import repository
from gateway.subscriptions.models import SubscriptionIn
from gateway.subscriptions.signing import new_secret
from gateway.subscriptions.targets import allowed_target, normalise
from policies.decision import Subject
from schemas.time import as_utc
from store.ids import new_id

# The change-log resources an event type is about (an enrolment is read with its resident).
EVENT_RESOURCES = {
    "resident": ("resident",),
    "enrollment": ("resident", "enrollment"),
    "notice": ("notice",),
    "alert": ("alert",),
}


class TargetNotAllowed(
    ValidationFailed,
    slug="webhook-target-not-allowed",
    title="Webhook target not allowed",
    title_zh="不允许的回调地址",
    detail_zh="该 Webhook 地址不在运维人员允许的前缀之下。",
    example=occurrence("https://example.org/hook is not under an allowed webhook prefix"),
):
    """The webhook URL is not under a prefix the operator allowed (GATEWAY_WEBHOOK_ALLOWED_URLS)."""


def public(row: Any) -> dict[str, Any]:
    """Return a subscription row (id, events, region, url, purpose, created_at) as the API shows it."""
    created = row[5]
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    return {
        "id": row[0],
        "events": row[1].split(","),
        "region": row[2],
        "url": row[3],
        "purpose": row[4],
        "created_at": as_utc(created),
    }


def _check_policy(
    state: PolicyState, principal: Principal, subject: Subject, purpose: str | None, events: list[str]
) -> None:
    decisions = decide_all(state.engine, subject, purpose, scopes=principal.scopes, enabled=state.enabled)
    for event in events:
        for resource in EVENT_RESOURCES[event.split(".", 1)[0]]:
            decision = decisions.get(resource)
            if decision is None:
                raise GrantMissing(f"{event} needs a token with read access to {resource} records")
            if not decision.allowed:
                error = PurposeRequired if decision.missing == "purpose-required" else GrantMissing
                raise error(decision.reason, missing=decision.missing, purpose=purpose)


async def create(
    engine: AsyncEngine,
    body: SubscriptionIn,
    *,
    settings: Settings,
    state: PolicyState,
    principal: Principal,
    subject: Subject,
    purpose: str | None,
) -> dict[str, Any]:
    """Create a subscription starting after the current end of the change log; return it with its secret."""
    url = normalise(body.url)
    if url is None or not allowed_target(url, settings.webhook_allowed_urls):
        raise TargetNotAllowed(
            "the URL (normalised: dot-segments resolved, default port dropped) is not under a webhook "
            "prefix the operator allowed; ask them to add it"
        )
    events = list(dict.fromkeys(e.value for e in body.events))
    _check_policy(state, principal, subject, purpose, events)
    secret = new_secret()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sid = new_id("S")
    async with engine.begin() as conn:
        await repository.add(
            conn,
            {
                "id": sid,
                "client_id": principal.client_id,
                "purpose": purpose,
                "events": ",".join(events),
                "region": body.region,
                "url": url,  # the normal form: what was checked is what is called
                "secret_enc": key_encryption(settings).encrypt(secret.encode()).decode(),
                "cursor": await repository.log_position(conn),
                "created_at": now,
            },
        )
    shown = public((sid, ",".join(events), body.region, url, purpose, now))
    return {**shown, "secret": secret}


async def page(engine: AsyncEngine, client_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
    """Return a page of the client's subscriptions."""
    async with engine.connect() as conn:
        found = await repository.list_for_client(conn, client_id, after=after, limit=limit)
    rows, last = cut_page(found, limit)
    return {"items": [public(r) for r in rows], "next": encode_cursor([last[0]]) if last else None}


async def _owned(conn: Any, subscription_id: str, client_id: str) -> None:
    if not await repository.owned(conn, subscription_id, client_id):
        raise NotFound(f"no subscription {subscription_id}")


async def delete(engine: AsyncEngine, subscription_id: str, *, client_id: str) -> None:
    """Delete one of the client's subscriptions and its undelivered messages."""
    async with engine.begin() as conn:
        await _owned(conn, subscription_id, client_id)
        await repository.remove(conn, subscription_id)


async def dead_letters(
    engine: AsyncEngine, subscription_id: str, *, client_id: str, after: str | None, limit: int
) -> dict[str, Any]:
    """Return a page of a subscription's dead letters."""
    async with engine.connect() as conn:
        await _owned(conn, subscription_id, client_id)
        found = await repository.dead_letters(conn, subscription_id, after=after, limit=limit)
    rows, last = cut_page(found, limit)
    items = [
        {
            "id": r[0],
            "event": r[1],
            "record_id": r[2],
            "attempts": r[3],
            "last_status": r[4],
            "last_error": r[5],
            "created_at": r[6],
            "payload": orjson.loads(r[7]),
        }
        for r in rows
    ]
    return {"items": items, "next": encode_cursor([last[0]]) if last else None}


async def replay(
    engine: AsyncEngine, subscription_id: str, delivery_id: str, *, client_id: str
) -> dict[str, str]:
    """Queue a dead letter for delivery again (same webhook-id: receivers deduplicate by it)."""
    async with engine.begin() as conn:
        await _owned(conn, subscription_id, client_id)
        found = await repository.requeue(conn, subscription_id, delivery_id, now=dt.datetime.now(dt.UTC))
    if not found:
        raise NotFound(f"no dead letter {delivery_id}")
    return {"id": delivery_id, "state": "pending"}
