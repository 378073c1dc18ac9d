"""`gateway audit`: verify the log, archive old events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import typer

from gateway.audit.archive import ArchiveRefused, archive, verify_archive
from gateway.audit.checkpoints import load_or_create_key
from gateway.audit.verify import Report, verify_store
from gateway.db import make_sync_engine
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


@app.command()
def verify(
    archive_file: Path | None = typer.Option(None, "--archive", help="Verify an archive file instead."),
) -> None:
    """Recompute every hash, Merkle root and signature; name the first event that was tampered with."""
    if archive_file is not None:
        _print(verify_archive(archive_file), str(archive_file))
        return
    engine = make_sync_engine(get_settings().database_url)
    try:
        _print(verify_store(engine), "store")
    finally:
        engine.dispose()


@app.command("archive")
def archive_cmd(
    before: dt.datetime = typer.Option(
        ..., formats=["%Y-%m-%d"], help="Archive events before this day (UTC)."
    ),
    out: Path | None = typer.Option(
        None, help="Archive file (default var/audit-archive-<first>-<last>.jsonl)."
    ),
) -> None:
    """Write a signed archive of events before DATE and remove them from the store."""
    settings = get_settings()
    engine = make_sync_engine(settings.database_url)
    target = out or Path(f"var/audit-archive-before-{before:%Y%m%d}.jsonl")
    try:
        result = archive(
            engine,
            before=before.replace(tzinfo=dt.UTC),
            out=target,
            key=load_or_create_key(settings.audit_key_file),
            retention_days=settings.audit_retention_days,
            now=dt.datetime.now(dt.UTC),
        )
    except ArchiveRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(f"archived events {result.from_seq}..{result.through_seq} to {result.path}")


@app.command("pair")
def pair_cmd(
    asking: str = typer.Argument(..., help="Database URL of the gateway that asked (county A)."),
    answering: str = typer.Argument(..., help="Database URL of the member that answered (county B)."),
) -> None:
    """Pair federated exchanges across two gateways' logs by trace id; print one JSON line per exchange."""
    engines = [make_sync_engine(asking), make_sync_engine(answering)]
    try:
        result = pair_logs(engines[0], engines[1])
    finally:
        for engine in engines:
            engine.dispose()
    for item in result.pairs:
        typer.echo(orjson.dumps(item).decode())
    for item in result.unpaired:
        typer.echo(orjson.dumps({"trace_id": item["trace_id"], "asked": item, "answered": []}).decode())
    typer.echo(f"{len(result.pairs)} paired, {len(result.unpaired)} without the member's side", err=True)
