"""Tables of the change feed and webhook subscriptions: the change log, subscriptions, deliveries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tables.base import SEQ, TS


class ChangeRow(SQLModel, table=True):
    """One change to a unified record, written in the same transaction as the record itself."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_event_seq", "event", "seq"),)

    seq: int | None = Field(default=None, sa_column=Column(SEQ, primary_key=True, autoincrement=True))
    resource: str = Field(max_length=16)  # resident | enrollment | notice
    record_id: str = Field(max_length=255)
    change: str = Field(max_length=16)  # created | updated | removed
    event: str | None = Field(default=None, max_length=40)
    fields: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of changed field names
    status: str | None = Field(default=None, max_length=16)
    # Where the record lies (a village; a notice's addressed regions, comma-separated) and the
    # resident's tags (JSON list): the policy's row scopes are checked against these.
    regions: str | None = Field(default=None, sa_column=Column(Text))
    tags: str | None = Field(default=None, sa_column=Column(Text))
    resident_id: str | None = Field(default=None, max_length=16)
    changed_at: dt.datetime = Field(sa_type=TS)


class SubscriptionRow(SQLModel, table=True):
    """A client's webhook subscription: events, region, target URL, signing secret, feed position."""

    __tablename__ = "webhook_subscription"

    id: str = Field(primary_key=True, max_length=16)
    client_id: str = Field(index=True, max_length=64)
    purpose: str = Field(max_length=64)
    events: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated event types
    region: str | None = Field(default=None, max_length=12)
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret_enc: str = Field(sa_column=Column(Text, nullable=False))  # Fernet, key-encryption key
    cursor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # last change seq fanned out
    created_at: dt.datetime = Field(sa_type=TS)


class DeliveryRow(SQLModel, table=True):
    """One message to one subscription: pending (due at next_attempt_at), delivered or dead."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "change_seq", name="uq_webhook_delivery_change"),
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_subscription", "subscription_id", "state", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)  # the webhook-id header: the idempotency key
    subscription_id: str = Field(max_length=16)
    change_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    event: str = Field(max_length=40)
    record_id: str = Field(max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=TS)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(sa_type=TS)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=TS)
