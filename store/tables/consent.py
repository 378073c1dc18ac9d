"""Tables of assisted access (代办): the consents residents give a village agent to act for them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class ConsentRow(SQLModel, table=True):
    """A resident's consent for one agent client, one purpose and one period (PIPL Art. 14)."""

    __tablename__ = "consent"
    __table_args__ = (
        Index("ix_consent_agent_id", "agent_client_id", "id"),
        Index("ix_consent_resident", "resident_id"),
    )

    id: str = Field(primary_key=True, max_length=20)
    resident_id: str = Field(max_length=16)
    purpose: str = Field(max_length=64)
    valid_from: dt.date
    valid_until: dt.date
    method: str = Field(max_length=16)  # paper_form | fingerprint | verbal
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON: how consent was given
    guardian: str | None = Field(default=None, sa_column=Column(Text))  # JSON: under 14 (PIPL Art. 31)
    agent_client_id: str = Field(max_length=64)
    agent_department: str | None = Field(default=None, max_length=32)
    recorded_by: str | None = Field(default=None, max_length=128)  # X-End-User: the staff at the counter
    created_at: dt.datetime = Field(sa_type=TS)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=TS)
    revoked_by: str | None = Field(default=None, max_length=128)
    revoked_reason: str | None = Field(default=None, sa_column=Column(Text))
