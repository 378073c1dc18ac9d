"""`gateway keys`: token signing keys (rotate, list)."""

from __future__ import annotations

import json

import typer

from gateway.auth.keys import KeyConfigError, ensure_signing_key, load_keyring, rotate_key
from gateway.commands.recorded import record
from gateway.commands.store import command_engine
from gateway.settings import get_settings

app = typer.Typer(help="Manage token signing keys.", no_args_is_help=True)


@app.command()
def rotate(
    alg: str | None = typer.Option(None, help="RS256, ES256 or EdDSA (default GATEWAY_SIGNING_ALG)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Add a signing key and sign with it; old public keys stay published until their tokens expire."""
    settings = get_settings()
    try:
        with command_engine() as engine:
            kid = rotate_key(engine, settings, alg=alg)
    except KeyConfigError as exc:
        record("keys rotate", outcome="deny", reason=str(exc)[:256])
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    record("keys rotate", targets=[kid])
    typer.echo(json.dumps({"kid": kid}) if as_json else f"signing with {kid} (replicas switch within ~1 s)")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print the published JWKS.")) -> None:
    """Show the signing key and the published public keys."""
    settings = get_settings()
    try:
        with command_engine() as engine:
            ensure_signing_key(engine, settings)
            ring = load_keyring(engine, settings)
    except KeyConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(ring.jwks))
        return
    for kid, (alg, _key) in ring.public.items():
        typer.echo(f"{kid}  {alg}  {'signing' if kid == ring.signer_kid else 'published'}")
