"""Alembic environment: migrations run on the sync engine built from the gateway's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from gateway.settings import get_settings
from store.engines import make_sync_engine
from store.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    """Run migrations against the configured store (an engine may be passed in by `gateway db`)."""
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        engine = make_sync_engine(config.get_main_option("sqlalchemy.url") or get_settings().database_url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
