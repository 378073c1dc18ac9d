"""The store as one command invocation uses it: one engine, disposed when the command ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import Engine

from gateway import migrate
from gateway.settings import get_settings
from store.engines import make_sync_engine

NOT_CURRENT = "the store is not at the current schema: run `gateway db upgrade` first"


@contextmanager
def command_engine(database_url: str | None = None, *, current: bool = False) -> Iterator[Engine]:
    """Yield an engine on `database_url` (default GATEWAY_DATABASE_URL); dispose it however the block ends.

    `current`: exit 2 with a clear message unless the store is at the code's schema.
    """
    engine = make_sync_engine(database_url or get_settings().database_url)
    try:
        if current:
            with engine.connect() as conn:
                if not migrate.is_current(conn):
                    typer.echo(f"error: {NOT_CURRENT}", err=True)
                    raise typer.Exit(2)
        yield engine
    finally:
        engine.dispose()
