"""connectors: linking columns on resident_source, birth_date on resident, sync lock and dirty set

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("resident_source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("household_id", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_resident_source_national_id"), ["national_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resident_source_household_id"), ["household_id"], unique=False)

    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_resident_birth_date"), ["birth_date"], unique=False)

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.alter_column(
            "id", existing_type=sa.String(length=40), type_=sa.String(length=160), existing_nullable=False
        )

    op.create_table(
        "sync_lock",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "sync_dirty",
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("sync_dirty")
    op.drop_table("sync_lock")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.alter_column(
            "id", existing_type=sa.String(length=160), type_=sa.String(length=40), existing_nullable=False
        )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_birth_date"))
        batch_op.drop_column("birth_date")
    with op.batch_alter_table("resident_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_source_household_id"))
        batch_op.drop_index(batch_op.f("ix_resident_source_national_id"))
        batch_op.drop_column("household_id")
        batch_op.drop_column("national_id")
