"""`gateway audit`: verify the log (with a pinned key, witnesses and archives), archive old events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import typer
from cryptography.hazmat.primitives import serialization
from sqlalchemy import make_url

from gateway.audit.archive import ArchiveRefused, NothingDue, archive
from gateway.audit.archives import store_manifests, verify_archives
from gateway.audit.checkpoints import load_or_create_key
from gateway.audit.trust import KeyInvalid, Trust, load_public_key
from gateway.audit.tsa import load_roots
from gateway.audit.verify import Report, verify_store
from gateway.audit.witness import WitnessInvalid, read_witnesses
from gateway.commands.recorded import record
from gateway.commands.store import command_engine
from gateway.federation.pairing import pair_logs
from gateway.settings import get_settings

app = typer.Typer(help="Verify and archive the audit log.", no_args_is_help=True)


def _print(report: Report, what: str) -> None:
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.finding is None:
        typer.echo(
            f"OK: {what}: {report.events} events ({report.first_seq}..{report.last_seq}), "
            f"{report.checkpoints} checkpoints verified in {report.seconds:.2f}s "
            f"({report.rate:,.0f} events/s)"
        )
        return
    f = report.finding
    typer.echo(f"FAIL: event {f.seq} {f.kind}: {f.detail}", err=True)
    raise typer.Exit(1)


def _trust(
    keys: list[str],
    witnesses: list[Path],
    *,
    tsa_roots: list[Path],
    max_events: int | None,
    max_seconds: float | None,
) -> Trust:
    settings = get_settings()
    if not witnesses and settings.audit_witness_dir is not None and settings.audit_witness_dir.is_dir():
        witnesses = [settings.audit_witness_dir]
        typer.echo(f"note: witness {settings.audit_witness_dir} (GATEWAY_AUDIT_WITNESS_DIR)")
    try:
        pinned = dict(load_public_key(k) for k in keys)
        witnessed = read_witnesses(witnesses)
        roots = load_roots(tsa_roots)
    except (KeyInvalid, WitnessInvalid, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return Trust(
        keys=pinned,
        witnessed=witnessed,
        tsa_roots=roots,
        max_uncovered_events=max_events or settings.audit_uncovered_max_events,
        max_uncovered_seconds=max_seconds or settings.audit_uncovered_max_seconds,
    )


@app.command()
def verify(
    archives: list[Path] = typer.Option([], "--archive", help="An archive file (repeat: all are checked)."),
    trusted_key: list[str] = typer.Option(
        [], "--trusted-key", help="Pinned Ed25519 public key: PEM file or base64 (repeat for rotated keys)."
    ),
    witness: list[Path] = typer.Option(
        [], "--witness", help="A witness directory (GATEWAY_AUDIT_WITNESS_DIR)."
    ),
    checkpoint: list[Path] = typer.Option([], "--checkpoint", help="A checkpoint note kept by an auditor."),
    max_uncovered_events: int | None = typer.Option(None, help="Default GATEWAY_AUDIT_UNCOVERED_MAX_EVENTS."),
    max_uncovered_seconds: float | None = typer.Option(
        None, help="Default GATEWAY_AUDIT_UNCOVERED_MAX_SECONDS."
    ),
    tsa_root: list[Path] = typer.Option([], "--tsa-root", help="Root certificate (PEM) of the RFC 3161 TSA."),
    archives_only: bool = typer.Option(False, "--archives-only", help="Check the archives without a store."),
) -> None:
    """Recompute every hash, root and signature; name the first event that was tampered with."""
    trust = _trust(
        trusted_key,
        [*witness, *checkpoint],
        tsa_roots=tsa_root,
        max_events=max_uncovered_events,
        max_seconds=max_uncovered_seconds,
    )
    if archives_only:
        _print(verify_archives(archives, store_base=None, recorded=[]), f"{len(archives)} archives")
        return
    # Appended unsigned: verify must never sign what it is checking.
    record("audit verify", targets=[str(a) for a in archives], sign=False)
    with command_engine() as engine:
        base, recorded = store_manifests(engine)
        if archives or recorded:
            _print(verify_archives(archives, store_base=base, recorded=recorded), f"{len(archives)} archives")
        _print(verify_store(engine, trust=trust), "store")


@app.command("public-key")
def public_key() -> None:
    """Print the audit signing key's public half (PEM): pin it with `verify --trusted-key FILE`."""
    key = load_or_create_key(get_settings().audit_key_file)
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    typer.echo(pem.decode().rstrip())


@app.command("archive")
def archive_cmd(
    before: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Archive events before this day (UTC); default: all that is due."
    ),
    override_retention: str | None = typer.Option(
        None, "--override-retention", help="Archive inside a retention floor; the reason is audited."
    ),
) -> None:
    """Write a signed archive of events past their retention floor, record its manifest, remove them."""
    settings = get_settings()
    try:
        with command_engine() as engine:
            result = archive(
                engine,
                settings=settings,
                key=load_or_create_key(settings.audit_key_file),
                now=dt.datetime.now(dt.UTC),
                before=before.replace(tzinfo=dt.UTC) if before else None,
                override=override_retention,
            )
    except NothingDue as exc:
        typer.echo(str(exc))
        return
    except ArchiveRefused as exc:
        record("audit archive", outcome="deny", reason=str(exc)[:256])
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"archived events {result.from_seq}..{result.through_seq} to {result.path} "
        f"(sha256 {result.sha256}; manifest recorded as event {result.manifest_seq})"
    )


@app.command("pair")
def pair_cmd(
    asking: str = typer.Argument(..., help="Database URL of the gateway that asked (county A)."),
    answering: str = typer.Argument(..., help="Database URL of the member that answered (county B)."),
) -> None:
    """Pair federated exchanges across two gateways' logs by trace id; print one JSON line per exchange."""
    # Reading two logs is an auditor's read: recorded (in our own log), the stores named without passwords.
    record(
        "audit pair", targets=[make_url(u).render_as_string(hide_password=True) for u in (asking, answering)]
    )
    with command_engine(asking) as asked, command_engine(answering) as answered:
        result = pair_logs(asked, answered)
    for item in result.pairs:
        typer.echo(orjson.dumps(item).decode())
    for item in result.unpaired:
        typer.echo(orjson.dumps({"trace_id": item["trace_id"], "asked": item, "answered": []}).decode())
    typer.echo(f"{len(result.pairs)} paired, {len(result.unpaired)} without the member's side", err=True)
