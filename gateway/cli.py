"""The `gateway` command: one Typer app; each area adds its sub-commands from gateway/commands/."""

from __future__ import annotations

import typer

from gateway.commands import (
    audit,
    clients,
    db,
    keys,
    openapi,
    policy,
    quarantine,
    schemas,
    serve,
    stats,
    sync,
    worker,
)

app = typer.Typer(
    name="gateway",
    help="Xiangzhi Gateway (乡治): interdepartmental data-sharing API gateway.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.add_typer(db.app, name="db")
app.add_typer(schemas.app, name="schemas")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(openapi.app, name="openapi")
app.command("serve")(serve.serve)
app.command("sync")(sync.sync)
app.command("worker")(worker.worker)
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(stats.app, name="stats")
