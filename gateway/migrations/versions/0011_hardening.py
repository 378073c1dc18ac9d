"""hardening: a per-client token generation (bumping it revokes the client's tokens); consent guardians

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_client") as batch:
        batch.add_column(sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("consent") as batch:
        batch.add_column(sa.Column("guardian", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("guardian")
    with op.batch_alter_table("oauth_client") as batch:
        batch.drop_column("token_generation")
