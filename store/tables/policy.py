"""Tables of the access policy: sharing requests, grants created by approvals, rate-limit counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class SharingRequestRow(SQLModel, table=True):
    """An application for conditional fields (有条件共享申请), answered by the owning department."""

    __tablename__ = "sharing_request"
    __table_args__ = (
        Index("ix_sharing_request_owner_status_due", "owner_department", "status", "due_date"),
        Index("ix_sharing_request_client", "client_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    department: str | None = Field(default=None, max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    owner_department: str = Field(max_length=32)
    resource: str = Field(max_length=64)
    fields: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    purpose: str = Field(max_length=64)
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: dt.date
    valid_until: dt.date
    status: str = Field(max_length=16)  # pending | approved | refused
    due_date: dt.date
    reason: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: dt.datetime | None = Field(default=None, sa_type=TS)
    created_at: dt.datetime = Field(sa_type=TS)


class PolicyGrantRow(SQLModel, table=True):
    """A grant created by an approval; merged with the YAML grants at decision time."""

    __tablename__ = "policy_grant"

    id: str = Field(primary_key=True, max_length=64)
    request_id: int = Field(index=True)
    doc: str = Field(sa_column=Column(Text, nullable=False))  # a policies.models.Grant as JSON
    created_at: dt.datetime = Field(sa_type=TS)


class RateCounterRow(SQLModel, table=True):
    """A fixed-window counter shared by every process (upserted atomically)."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=128)
    win: int = Field(primary_key=True, sa_type=BigInteger)  # window number ("window" is reserved in SQL)
    count: int = Field(default=0, sa_type=BigInteger)
