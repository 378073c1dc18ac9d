"""Tables of the worklists: early-warning items (预警), residents' requests (诉求) and their steps."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.tables.base import SEQ, TS


class AlertRow(SQLModel, table=True):
    """One item an early-warning rule raised about one resident, open until closed with an outcome."""

    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_worklist", "department", "purpose", "state", "id"),
        Index("ix_alert_resident", "resident_id"),
    )

    id: str = Field(primary_key=True, max_length=20)
    key: str = Field(unique=True, max_length=255)  # rule:subject: one item per rule and subject, ever
    rule_id: str = Field(max_length=64)
    department: str = Field(max_length=32)
    purpose: str = Field(max_length=64)
    resident_id: str = Field(max_length=16)
    region_code: str | None = Field(default=None, max_length=12)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)  # open | closed
    raised_at: dt.datetime = Field(sa_type=TS)
    closed_at: dt.datetime | None = Field(default=None, sa_type=TS)
    outcome: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, sa_column=Column(Text))
    closed_by_client: str | None = Field(default=None, max_length=64)
    closed_by: str | None = Field(default=None, max_length=128)


class AppealRow(SQLModel, table=True):
    """A resident's request (诉求) recorded on their behalf, routed to a department until answered."""

    __tablename__ = "appeal"
    __table_args__ = (
        Index("ix_appeal_department", "department", "id"),
        Index("ix_appeal_recorder", "recorded_by_client", "id"),
        Index("ix_appeal_resident", "resident_id"),
    )

    id: str = Field(primary_key=True, max_length=20)
    resident_id: str = Field(max_length=16)
    region_code: str | None = Field(default=None, max_length=12)
    category: str = Field(max_length=32)
    description: str = Field(sa_column=Column(Text, nullable=False))
    urgency: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    consent_id: str | None = Field(default=None, max_length=20)
    recorded_by_client: str = Field(max_length=64)
    recorded_by: str | None = Field(default=None, max_length=128)
    department: str = Field(max_length=32)  # responsible now
    due_date: dt.date
    state: str = Field(max_length=16)  # accepted | forwarded | answered | closed
    overdue: bool = False
    answer: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(sa_type=TS)
    updated_at: dt.datetime = Field(sa_type=TS)


class AppealStepRow(SQLModel, table=True):
    """One step of a request's handling: accepted, forwarded, answered, closed or overdue."""

    __tablename__ = "appeal_step"
    __table_args__ = (Index("ix_appeal_step_appeal", "appeal_id", "seq"),)

    seq: int | None = Field(default=None, sa_column=Column(SEQ, primary_key=True, autoincrement=True))
    appeal_id: str = Field(max_length=20)
    step: str = Field(max_length=16)
    at: dt.datetime = Field(sa_type=TS)
    department: str | None = Field(default=None, max_length=32)
    by_client: str | None = Field(default=None, max_length=64)
    by: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, sa_column=Column(Text))
