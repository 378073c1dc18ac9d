"""`gateway policy`: validate, explain and test the access policy."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from gateway.settings import get_settings
from policies.decision import Subject
from policies.engine import PolicyEngine
from policies.explain import explain as explain_decision
from policies.explain import render_text
from policies.loader import DEFAULT_DIR, PolicyInvalid
from policies.testing import run_paths

app = typer.Typer(help="Validate, explain and test the access policy.", no_args_is_help=True)
DirOption = typer.Option(
    None, "--dir", help="Policy directory (default: GATEWAY_POLICY_DIR or the packaged one)."
)


def _engine(directory: Path | None) -> PolicyEngine:
    path = directory or get_settings().policy_dir or DEFAULT_DIR
    try:
        return PolicyEngine.load(path)
    except PolicyInvalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@app.command()
def check(directory: Path | None = DirOption) -> None:
    """Validate the policy documents; print every issue with file and line."""
    engine = _engine(directory)
    typer.echo(f"policy {engine.version} in {engine.directory}: valid")


@app.command()
def explain(
    client: str = typer.Option(..., "--client"),
    purpose: str | None = typer.Option(None, "--purpose"),
    resource: str = typer.Option("residents", "--resource"),
    department: str | None = typer.Option(None, "--department", help="Default: the client registry's."),
    region: str | None = typer.Option(None, "--region", help="Default: the client registry's."),
    id: str | None = typer.Option(None, "--id", help="A resident id to check against the rows."),
    as_json: bool = typer.Option(False, "--json"),
    directory: Path | None = DirOption,
) -> None:
    """Say which grant allowed which fields and which rule hid or masked each other field."""
    engine = _engine(directory)
    record = None
    if department is None or id is not None:
        from gateway.auth.clients import get_client
        from gateway.commands.store import command_engine
        from gateway.residents.repository import R

        with command_engine() as store:
            if department is None:
                found = get_client(store, client)
                if found is None:
                    typer.echo(f"no registered client {client}: pass --department and --region", err=True)
                    raise typer.Exit(2)
                department, region = found.department, region or found.region_code
            if id is not None:
                from gateway.commands.recorded import record as audit_record

                audit_record("policy explain", targets=[client, id])  # reads the resident's record
                with store.connect() as conn:
                    raw = conn.execute(
                        R.doc.table.select().with_only_columns(R.doc).where(R.id == id)
                    ).scalar()
                if raw is None:
                    typer.echo(f"no resident {id}", err=True)
                    raise typer.Exit(2)
                record = orjson.loads(raw)
    decision = engine.decide(Subject(client, department, region), resource, purpose)
    out = explain_decision(decision, record=record)
    typer.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() if as_json else render_text(out))


@app.command("test")
def test_(
    paths: list[Path] = typer.Argument(
        None, help="Test files or directories (default: the policy's tests/)."
    ),
    directory: Path | None = DirOption,
) -> None:
    """Run YAML decision tests against the policy."""
    engine = _engine(directory)
    total, failures = run_paths(engine, paths or [engine.directory / "tests"])
    for f in failures:
        typer.echo(str(f), err=True)
    typer.echo(f"{total} case(s), {len(failures)} failure(s), policy {engine.version}")
    raise typer.Exit(1 if failures or total == 0 else 0)
