"""oauth: clients, signing keys, revoked tokens, used client assertions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
# Chain: 0001 -> 0002 (connectors) -> 0003 (oauth) -> 0004 (policy) -> 0005 (audit).
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("subsystem", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("rotated_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_client_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_client_status"), ["status"], unique=False)
    op.create_table(
        "oauth_signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_enc", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.Column("publish_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "oauth_revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("oauth_revoked_token", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_revoked_token_expires", ["expires_at"], unique=False)
    op.create_table(
        "oauth_used_assertion",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti"),
    )
    with op.batch_alter_table("oauth_used_assertion", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_used_assertion_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_used_assertion", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_used_assertion_expires")
    op.drop_table("oauth_used_assertion")
    with op.batch_alter_table("oauth_revoked_token", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_revoked_token_expires")
    op.drop_table("oauth_revoked_token")
    op.drop_table("oauth_signing_key")
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_client_status"))
        batch_op.drop_index(batch_op.f("ix_oauth_client_department"))
    op.drop_table("oauth_client")
