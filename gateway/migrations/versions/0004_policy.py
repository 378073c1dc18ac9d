"""policy: sharing requests, grants from approvals, rate-limit counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sharing_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("owner_department", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sharing_request_owner_status_due", "sharing_request", ["owner_department", "status", "due_date"]
    )
    op.create_index("ix_sharing_request_client", "sharing_request", ["client_id", "id"])
    op.create_table(
        "policy_grant",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_grant_request_id", "policy_grant", ["request_id"])
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("win", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "win"),
    )


def downgrade() -> None:
    op.drop_table("rate_counter")
    op.drop_index("ix_policy_grant_request_id", table_name="policy_grant")
    op.drop_table("policy_grant")
    op.drop_index("ix_sharing_request_client", table_name="sharing_request")
    op.drop_index("ix_sharing_request_owner_status_due", table_name="sharing_request")
    op.drop_table("sharing_request")
