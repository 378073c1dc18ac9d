"""`gateway openapi export FILE`: write the OpenAPI document the server would serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="The OpenAPI contract.", no_args_is_help=True)


def build_document() -> dict[str, Any]:
    """Return the complete OpenAPI document of the gateway (no store is opened: routes only)."""
    from gateway.app import create_app
    from gateway.settings import get_settings

    return create_app(get_settings()).openapi()


@app.command("export")
def export(
    file: Path = typer.Argument(..., help="File to write the OpenAPI document (JSON) into; - for stdout."),
) -> None:
    """Write the OpenAPI document (JSON, UTF-8) into FILE."""
    text = json.dumps(build_document(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {file}", err=True)
