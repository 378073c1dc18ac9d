"""reconcile: how a quarantined record was closed, and the resident it was linked to when held back

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("resolution", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("resident_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("resident_id")
        batch.drop_column("resolution")
