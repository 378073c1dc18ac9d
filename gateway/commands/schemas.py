"""`gateway schemas`: export the unified schemas as JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import BaseModel

from schemas import models

app = typer.Typer(help="Unified schemas.", no_args_is_help=True)

EXPORTED: tuple[type[BaseModel], ...] = (
    models.Region,
    models.Resident,
    models.ResidentProvenance,
    models.Household,
    models.Enrollment,
    models.Employment,
    models.Migration,
    models.Service,
    models.Notice,
    models.QuarantinedRecord,
)


@app.command("export")
def export(
    directory: Path = typer.Argument(..., help="Directory to write one <Type>.schema.json into."),
) -> None:
    """Write a JSON Schema per unified type into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    for model in EXPORTED:
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        path = directory / f"{model.__name__}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"wrote {path}")
