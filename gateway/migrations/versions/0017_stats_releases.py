"""stats releases: one suppressed statistics release per county and day; kept ones form the series

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_release",
        sa.Column("root", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("min_cell", sa.Integer(), nullable=False),
        sa.Column("kept", sa.Boolean(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("root", "as_of"),
    )
    op.create_index("ix_stats_release_kept", "stats_release", ["root", "kept", "as_of"])


def downgrade() -> None:
    op.drop_index("ix_stats_release_kept", table_name="stats_release")
    op.drop_table("stats_release")
