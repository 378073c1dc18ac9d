"""`gateway serve`: run the API server (uvicorn)."""

from __future__ import annotations

from typing import Any

import typer
import uvicorn

from gateway import migrate
from gateway.commands.store import command_engine
from gateway.drain import DrainingServer
from gateway.limits import server_options
from gateway.settings import get_settings


def check_migrated(database_url: str) -> None:
    """Exit with a clear message when the store is unmigrated or behind the code."""
    with command_engine(database_url) as engine, engine.connect() as conn:
        current = migrate.current_revisions(conn)
        ok = migrate.is_current(conn)
    if not ok:
        state = ", ".join(sorted(current)) or "unmigrated"
        typer.echo(
            f"error: the store ({state}) is not at the code's schema; run `gateway db upgrade` first.",
            err=True,
        )
        raise typer.Exit(2)


def serve(
    host: str | None = typer.Option(None, help="Bind address (default GATEWAY_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default GATEWAY_PORT, 8000)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
    access_log: bool = typer.Option(False, help="Write an access log line per request."),
) -> None:
    """Serve the gateway; refuses a store that is not migrated."""
    settings = get_settings()
    check_migrated(settings.database_url)
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": log_level,
        "access_log": access_log,
        "proxy_headers": False,
        "server_header": False,
        **server_options(settings),  # header limits and timeout (gateway/limits.py)
    }
    if workers > 1:  # uvicorn's supervisor builds its own servers: they drain the uvicorn way
        uvicorn.run("gateway.app:create_app", workers=workers, **options)
        return
    server = DrainingServer(
        uvicorn.Config("gateway.app:create_app", **options), grace=settings.drain_grace_seconds
    )
    server.run()
    if not server.started:
        raise typer.Exit(3)
