"""The `gateway` command: one Typer app; each area adds its sub-commands from gateway/commands/."""

from __future__ import annotations

import typer

from gateway.commands import db, schemas, serve

app = typer.Typer(
    name="gateway",
    help="Xiangzhi Gateway (乡治): interdepartmental data-sharing API gateway.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.add_typer(db.app, name="db")
app.add_typer(schemas.app, name="schemas")
app.command("serve")(serve.serve)
