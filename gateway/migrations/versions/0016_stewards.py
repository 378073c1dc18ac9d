"""stewards: the village a steward chose for a quarantined record, and withdrawn source records kept as history

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("chosen_region", sa.String(length=12), nullable=True))
    op.create_table(
        "resident_source_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("resident_id", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_key", sa.String(length=128), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("values", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resident_source_history_resident_id", "resident_source_history", ["resident_id"])


def downgrade() -> None:
    op.drop_index("ix_resident_source_history_resident_id", table_name="resident_source_history")
    op.drop_table("resident_source_history")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("chosen_region")
