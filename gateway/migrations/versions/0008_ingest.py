"""ingest: Idempotency-Key of every push ingest, per client and source

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingest_key",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("idem_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("client_id", "source", "idem_key"),
    )
    op.create_index("ix_ingest_key_created_at", "ingest_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ingest_key_created_at", table_name="ingest_key")
    op.drop_table("ingest_key")
