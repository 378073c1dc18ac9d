"""audit: events, disclosed record ids, chain head, signed checkpoints, published keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ZERO = b"\x00" * 32


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("department", sa.String(length=128), nullable=True),
        sa.Column("purpose", sa.String(length=256), nullable=True),
        sa.Column("end_user", sa.String(length=128), nullable=True),
        sa.Column("case_id", sa.String(length=128), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("route", sa.String(length=256), nullable=True),
        sa.Column("resource", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_event_ts", "audit_event", ["ts", "seq"])
    op.create_index("ix_audit_event_client", "audit_event", ["client_id", "seq"])
    op.create_index("ix_audit_event_department", "audit_event", ["department", "seq"])
    op.create_index("ix_audit_event_decision", "audit_event", ["decision", "seq"])
    op.create_index("ix_audit_event_trace", "audit_event", ["trace_id"])
    op.create_table(
        "audit_event_record",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "seq"),
    )
    op.create_index("ix_audit_event_record_seq", "audit_event_record", ["seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("base_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("base_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("base_frontier", sa.Text(), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The empty log: seq 0, the all-zero chain hash (docs/audit-verification.md).
    op.bulk_insert(
        head, [{"id": 1, "seq": 0, "hash": ZERO, "base_seq": 0, "base_hash": ZERO, "base_frontier": "[]"}]
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    op.create_table(
        "audit_key",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )


def downgrade() -> None:
    op.drop_table("audit_key")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_event_record_seq", table_name="audit_event_record")
    op.drop_table("audit_event_record")
    for name in ("ix_audit_event_trace", "ix_audit_event_decision", "ix_audit_event_department",
                 "ix_audit_event_client", "ix_audit_event_ts"):
        op.drop_index(name, table_name="audit_event")
    op.drop_table("audit_event")
