"""worklists: early-warning items (alert) and residents' requests (appeal, appeal_step)

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_by_client", sa.String(length=64), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_alert_worklist", "alert", ["department", "purpose", "state", "id"])
    op.create_index("ix_alert_resident", "alert", ["resident_id"])
    op.create_table(
        "appeal",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("resident_id", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("consent_id", sa.String(length=20), nullable=True),
        sa.Column("recorded_by_client", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeal_department", "appeal", ["department", "id"])
    op.create_index("ix_appeal_recorder", "appeal", ["recorded_by_client", "id"])
    op.create_index("ix_appeal_resident", "appeal", ["resident_id"])
    op.create_table(
        "appeal_step",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("appeal_id", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("by_client", sa.String(length=64), nullable=True),
        sa.Column("by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_appeal_step_appeal", "appeal_step", ["appeal_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_appeal_step_appeal", table_name="appeal_step")
    op.drop_table("appeal_step")
    for name in ("ix_appeal_resident", "ix_appeal_recorder", "ix_appeal_department"):
        op.drop_index(name, table_name="appeal")
    op.drop_table("appeal")
    op.drop_index("ix_alert_resident", table_name="alert")
    op.drop_index("ix_alert_worklist", table_name="alert")
    op.drop_table("alert")
