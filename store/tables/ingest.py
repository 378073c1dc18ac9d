"""Tables of push ingest: the Idempotency-Key of every push, per client and source."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class IngestKeyRow(SQLModel, table=True):
    """One push's Idempotency-Key: the body's fingerprint and, once done, the answer a replay gets.

    The primary key is the uniqueness a concurrent second push with the same key runs into (no
    check-then-insert); `locked_until` lets a retry take over a push whose process died mid-way.
    """

    __tablename__ = "ingest_key"

    client_id: str = Field(primary_key=True, max_length=64)
    source: str = Field(primary_key=True, max_length=64)
    idem_key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    state: str = Field(max_length=16)  # processing | done
    status: int | None = Field(default=None)
    response: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(sa_type=TS, index=True)
    locked_until: dt.datetime | None = Field(default=None, sa_type=TS)
