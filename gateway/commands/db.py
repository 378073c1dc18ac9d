"""`gateway db`: schema migrations."""

from __future__ import annotations

import typer

from gateway import migrate
from gateway.commands.recorded import record
from gateway.commands.store import command_engine

app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the store (GATEWAY_DATABASE_URL) to the latest schema."""
    with command_engine() as engine:
        migrate.upgrade(engine, revision=revision)
        with engine.connect() as conn:
            revisions = sorted(migrate.current_revisions(conn))
    if revision in ("head", "heads"):
        record("db upgrade", targets=revisions)  # at head the audit tables exist
    typer.echo(f"store at revision {', '.join(revisions)}")


@app.command()
def current() -> None:
    """Print the store's revision and whether it is current."""
    with command_engine() as engine:
        with engine.connect() as conn:
            cur = sorted(migrate.current_revisions(conn))
            ok = migrate.is_current(conn)
        typer.echo(f"{', '.join(cur) or '(unmigrated)'}{'' if ok else ' (behind: run gateway db upgrade)'}")
        raise typer.Exit(0 if ok else 1)
