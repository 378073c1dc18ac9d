"""Tables of the audit log: events (canonical body + chain hash), disclosed record ids, checkpoints, keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from store.tables.base import TS


class AuditEventRow(SQLModel, table=True):
    """One audit event; `body` is its canonical JSON (hashed), the other columns are copies for filters."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_ts", "ts", "seq"),
        Index("ix_audit_event_client", "client_id", "seq"),
        Index("ix_audit_event_department", "department", "seq"),
        Index("ix_audit_event_decision", "decision", "seq"),
        Index("ix_audit_event_trace", "trace_id"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    ts: dt.datetime = Field(sa_type=TS)
    kind: str = Field(max_length=16)
    client_id: str | None = Field(default=None, max_length=128)
    department: str | None = Field(default=None, max_length=128)
    purpose: str | None = Field(default=None, max_length=256)
    end_user: str | None = Field(default=None, max_length=128)
    case_id: str | None = Field(default=None, max_length=128)
    method: str | None = Field(default=None, max_length=16)
    route: str | None = Field(default=None, max_length=256)
    resource: str | None = Field(default=None, max_length=64)
    decision: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=256)
    status: int = Field(sa_column=Column(Integer, nullable=False))
    trace_id: str | None = Field(default=None, max_length=32)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class AuditEventRecordRow(SQLModel, table=True):
    """A record disclosed by an event, for a resident's disclosure history (PIPL Art. 45)."""

    __tablename__ = "audit_event_record"
    __table_args__ = (Index("ix_audit_event_record_seq", "seq"),)

    record_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AuditHeadRow(SQLModel, table=True):
    """The chain head (one row): the last sequence number and its chain hash; writers lock it."""

    __tablename__ = "audit_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    # The first sequence number still in the store (events before it were archived) and the chain
    # hash and Merkle frontier just before it, taken from the signed checkpoint the archive ended at.
    base_seq: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    base_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    base_frontier: str = Field(sa_column=Column(Text, nullable=False, server_default="[]"))


class AuditCheckpointRow(SQLModel, table=True):
    """A signed tree head: size, Merkle root, chain hash and time, signed by the audit key."""

    __tablename__ = "audit_checkpoint"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    ts: dt.datetime = Field(sa_type=TS)
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    chain_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    key_id: str = Field(sa_column=Column(String(32), nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False))
    # Roots of the perfect subtrees covering [0, tree_size) (hex, JSON list): lets a checkpoint be
    # extended, and a store verified after an archive, without the earlier leaves.
    frontier: str = Field(sa_column=Column(Text, nullable=False))


class AuditKeyRow(SQLModel, table=True):
    """A published audit public key (Ed25519, raw 32 bytes) by key id."""

    __tablename__ = "audit_key"

    key_id: str = Field(sa_column=Column(String(32), primary_key=True))
    public_key: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    created_at: dt.datetime = Field(sa_type=TS)
