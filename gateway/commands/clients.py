"""`gateway clients`: the OAuth client registry (create, list, show, disable, enable, rotate-secret) and
staff accounts for the HTML consoles (create-staff, reset-staff)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from sqlalchemy import Engine

from gateway.auth import clients, staff
from gateway.auth.clients import AuthMethod, ClientRecord, ClientStatus, RegistryError
from gateway.auth.staff import StaffSecrets
from gateway.commands.recorded import record
from gateway.commands.store import command_engine

app = typer.Typer(help="Manage OAuth clients (department subsystems).", no_args_is_help=True)

_T = TypeVar("_T")
JSON_OPT = typer.Option(False, "--json", help="Print JSON for scripts.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _change(command: str, targets: list[str], change: Callable[[Engine], _T]) -> _T:
    """Make one registry change; a refusal is recorded as denied and ends the command with its reason."""
    with command_engine() as engine:
        try:
            return change(engine)
        except RegistryError as exc:
            record(command, targets=targets, outcome="deny", reason=str(exc)[:256])
            _fail(str(exc))


def _show(record: ClientRecord, *, as_json: bool, secret: str | None = None) -> None:
    view: dict[str, Any] = record.public_view()
    if secret is not None:
        view["client_secret"] = secret
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
        return
    for key in ("client_id", "name", "department", "subsystem", "region_code", "auth_method", "status"):
        typer.echo(f"{key:12} {view[key] if view[key] is not None else '-'}")
    typer.echo(f"{'scopes':12} {' '.join(view['scopes'])}")
    typer.echo(f"{'created_at':12} {view['created_at']}")
    typer.echo(f"{'rotated_at':12} {view['rotated_at'] or '-'}")
    if secret is not None:
        typer.echo(f"{'secret':12} {secret}")
        typer.echo("store the secret now: it is shown this once and kept only as a hash", err=True)


@app.command()
def create(
    name: str = typer.Option(..., help="Human-readable name, e.g. 民政局低保系统."),
    department: str = typer.Option(..., help="Department code, e.g. civil_affairs."),
    subsystem: str = typer.Option(..., help="The department's subsystem calling us."),
    scope: list[str] = typer.Option(..., "--scope", "-s", help="A granted scope (repeat for more)."),
    region: str | None = typer.Option(None, help="Region code (12 digits) the client belongs to."),
    auth_method: AuthMethod = typer.Option(AuthMethod.CLIENT_SECRET_BASIC, help="Token endpoint auth."),
    jwks_file: Path | None = typer.Option(None, help="Public JWKS file (private_key_jwt)."),
    client_id: str | None = typer.Option(None, help="Choose the client id (policies may grant to it)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Register a client; prints its secret once (with --json: {"client_id", "client_secret", ...})."""
    jwks = json.loads(jwks_file.read_text(encoding="utf-8")) if jwks_file else None
    created, secret = _change(
        "clients create",
        [client_id or name],
        lambda engine: clients.create_client(
            engine,
            name=name,
            department=department,
            subsystem=subsystem,
            scopes=scope,
            auth_method=auth_method,
            region_code=region,
            jwks=jwks,
            client_id=client_id,
        ),
    )
    record("clients create", targets=[created.client_id, *created.scopes])
    _show(created, as_json=as_json, secret=secret)


@app.command("list")
def list_(
    department: str | None = typer.Option(None, help="Only this department's clients."),
    as_json: bool = JSON_OPT,
) -> None:
    """List registered clients (never their secrets)."""
    record("clients list", targets=[department] if department else [])
    with command_engine() as engine:
        found = clients.list_clients(engine, department=department)
    if as_json:
        typer.echo(json.dumps([c.public_view() for c in found], ensure_ascii=False))
        return
    for c in found:
        typer.echo(f"{c.client_id:32} {c.status.value:9} {c.department:16} {' '.join(c.scopes)}")


@app.command()
def show(client_id: str, as_json: bool = JSON_OPT) -> None:
    """Show one client."""
    record("clients show", targets=[client_id])
    with command_engine() as engine:
        found = clients.get_client(engine, client_id)
    if found is None:
        _fail(f"no client {client_id}")
        return
    _show(found, as_json=as_json)


def _set_status(client_id: str, status: ClientStatus, as_json: bool) -> None:
    command = f"clients {'enable' if status is ClientStatus.ACTIVE else 'disable'}"
    changed = _change(
        command, [client_id], lambda engine: clients.set_status(engine, client_id, status=status)
    )
    record(command, targets=[client_id])
    _show(changed, as_json=as_json)


@app.command()
def disable(client_id: str, as_json: bool = JSON_OPT) -> None:
    """Disable a client: its tokens stop working on every replica within the refresh bound (~1 s)."""
    _set_status(client_id, ClientStatus.DISABLED, as_json)


@app.command()
def enable(client_id: str, as_json: bool = JSON_OPT) -> None:
    """Enable a disabled client again."""
    _set_status(client_id, ClientStatus.ACTIVE, as_json)


@app.command("rotate-secret")
def rotate_secret(client_id: str, as_json: bool = JSON_OPT) -> None:
    """Give a client a new secret (printed once); the old one stops working at once."""
    rotated, secret = _change(
        "clients rotate-secret", [client_id], lambda engine: clients.rotate_secret(engine, client_id)
    )
    record("clients rotate-secret", targets=[client_id])
    _show(rotated, as_json=as_json, secret=secret)


@app.command("revoke-tokens")
def revoke_tokens(client_id: str, as_json: bool = JSON_OPT) -> None:
    """Revoke every token a client holds now (its key or secret leaked); it may ask for new ones."""
    revoked = _change(
        "clients revoke-tokens", [client_id], lambda engine: clients.revoke_tokens(engine, client_id)
    )
    record("clients revoke-tokens", targets=[client_id])
    _show(revoked, as_json=as_json)


def _show_staff(record: ClientRecord, issued: StaffSecrets, *, as_json: bool) -> None:
    view: dict[str, Any] = record.public_view() | {
        "password": issued.password,
        "totp_secret": issued.totp_secret,
        "otpauth_uri": issued.otpauth_uri(record.client_id),
    }
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
        return
    _show(record, as_json=False)
    typer.echo(f"{'password':12} {issued.password}")
    typer.echo(f"{'totp secret':12} {issued.totp_secret}")
    typer.echo(f"{'otpauth uri':12} {issued.otpauth_uri(record.client_id)}")
    typer.echo(
        "hand these to the person now (the URI goes into an authenticator app): they are shown this once",
        err=True,
    )


@app.command("create-staff")
def create_staff(
    account: str = typer.Argument(
        ..., help="The sign-in name (2-64 of a-z, 0-9, - and _), e.g. qingshan-li."
    ),
    name: str = typer.Option(..., help="The person and post, e.g. 李敏(青山村村委会)."),
    region: str = typer.Option(..., help="Region code (12 digits): the person sees this region only."),
    department: str = typer.Option("village", help="Department code, e.g. village, township, audit."),
    scope: list[str] = typer.Option(
        ["statistics:read"], "--scope", "-s", help="statistics:read (dashboard) or audit:read (console)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Provision a staff account for the dashboard or the auditor console; prints password and TOTP once."""
    created, issued = _change(
        "clients create-staff",
        [account],
        lambda engine: staff.create_staff(
            engine, client_id=account, name=name, department=department, region_code=region, scopes=scope
        ),
    )
    record("clients create-staff", targets=[created.client_id, *created.scopes])
    _show_staff(created, issued, as_json=as_json)


@app.command("reset-staff")
def reset_staff(account: str, as_json: bool = JSON_OPT) -> None:
    """Give a staff account a new password and TOTP secret (shown once); end its sessions, lift its lock."""
    reset, issued = _change(
        "clients reset-staff", [account], lambda engine: staff.reset_staff(engine, account)
    )
    record("clients reset-staff", targets=[account])
    _show_staff(reset, issued, as_json=as_json)
