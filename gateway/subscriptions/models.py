"""Webhook subscriptions' contract: what a client asks for, what it gets back, dead letters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.changes.models import EventType
from schemas.models import RegionCode

_SUBSCRIPTION: dict[str, Any] = {
    "id": "SK3Q9M2X4T8A",
    "events": ["resident.deceased"],
    "region": "511599100000",
    "url": "https://hr.county.example/hooks/deaths",
    "purpose": "pension-eligibility",
    "created_at": "2026-11-01T08:00:00Z",
}


class SubscriptionIn(BaseModel):
    """A subscription to create: which events, where, delivered to which allowed URL."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": ["resident.deceased"],
                    "region": "511599100000",
                    "url": "https://hr.county.example/hooks/deaths",
                }
            ]
        },
    )

    events: list[EventType] = Field(
        min_length=1, max_length=len(EventType), description="Event types to deliver."
    )
    region: RegionCode | None = Field(
        default=None, description="Only changes in this region's subtree (a notice: addressed to it)."
    )
    url: str = Field(
        min_length=8,
        max_length=2000,
        description="Where to POST: must start with a prefix the operator allowed "
        "(GATEWAY_WEBHOOK_ALLOWED_URLS); anything else is refused.",
    )


class Subscription(BaseModel):
    """A webhook subscription (its secret is shown only once, when created)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUBSCRIPTION]})

    id: str
    events: list[EventType]
    region: RegionCode | None = None
    url: str
    purpose: str = Field(description="The X-Purpose deliveries are decided for (the policy, as for reads).")
    created_at: dt.datetime


class SubscriptionCreated(Subscription):
    """A new subscription with its signing secret: store it now, it is never shown again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_SUBSCRIPTION, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str = Field(description="HMAC-SHA256 key of webhook-signature (Standard Webhooks `whsec_`).")


class SubscriptionPage(BaseModel):
    """A page of the caller's subscriptions."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUBSCRIPTION], "next": None}]})

    items: list[Subscription]
    next: str | None = Field(default=None, description="Opaque cursor for the next page; null at the end.")


_DEAD: dict[str, Any] = {
    "id": "msg_2kq3vzxm4n5p6r7s8t9u0v1w",
    "event": "resident.deceased",
    "record_id": "R7K3Q9M2X4T8",
    "attempts": 8,
    "last_status": 503,
    "last_error": "HTTP 503",
    "created_at": "2026-11-01T08:00:00Z",
    "payload": {
        "type": "resident.deceased",
        "timestamp": "2026-11-01T08:00:00Z",
        "data": {"resource": "resident", "id": "R7K3Q9M2X4T8", "fields": ["status"], "status": "deceased"},
    },
}


class DeadLetter(BaseModel):
    """A message whose every attempt failed; replay it once the receiver is fixed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DEAD]})

    id: str = Field(description="The webhook-id (idempotency key), unchanged by a replay.")
    event: EventType
    record_id: str
    attempts: int
    last_status: int | None = Field(default=None, description="The receiver's last HTTP status, if any.")
    last_error: str | None = None
    created_at: dt.datetime
    payload: dict[str, Any] = Field(description="The signed body, as it was (and will be) delivered.")


class DeadLetterPage(BaseModel):
    """A page of dead letters, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_DEAD], "next": None}]})

    items: list[DeadLetter]
    next: str | None = Field(default=None, description="Opaque cursor for the next page; null at the end.")


class Replayed(BaseModel):
    """A dead letter queued again for delivery."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": _DEAD["id"], "state": "pending"}]})

    id: str
    state: str = Field(description="`pending`: the worker delivers it on its next pass.")
