"""consents: residents' consents for assisted access (代办) by village agents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("resident_id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("agent_client_id", sa.String(length=64), nullable=False),
        sa.Column("agent_department", sa.String(length=32), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_agent_id", "consent", ["agent_client_id", "id"])
    op.create_index("ix_consent_resident", "consent", ["resident_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_resident", table_name="consent")
    op.drop_index("ix_consent_agent_id", table_name="consent")
    op.drop_table("consent")
