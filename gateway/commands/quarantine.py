"""`gateway quarantine list|show`: the source records a sync held back, and why."""

from __future__ import annotations

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from gateway.commands.recorded import record as audit_record
from gateway.commands.store import command_engine
from schemas.models import QuarantinedRecord
from store.tables import table_of
from store.tables.records import QuarantineRow

app = typer.Typer(help="Inspect records held back by the connectors.", no_args_is_help=True)
Q = table_of(QuarantineRow).c


@app.command("list")
def list_(
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    reason: str | None = typer.Option(None, "--reason", help="Only this reason code."),
    released: bool = typer.Option(False, "--released", help="Also list records since released."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many rows."),
) -> None:
    """List quarantined records (open ones unless --released), newest first, with counts by reason."""
    with command_engine(current=True) as engine:
        audit_record("quarantine list", targets=[t for t in (source, reason) if t])
        where = []
        if source:
            where.append(Q.source == source)
        if reason:
            where.append(Q.reason == reason)
        if not released:
            where.append(Q.released_at.is_(None))
        with engine.connect() as conn:
            counts = conn.execute(
                select(Q.source, Q.reason, func.count()).where(*where).group_by(Q.source, Q.reason)
            ).all()
            rows = conn.execute(
                select(Q.id, Q.source, Q.record_key, Q.reason, Q.message, Q.last_seen, Q.released_at)
                .where(*where)
                .order_by(Q.last_seen.desc(), Q.id.desc())
                .limit(limit)
            ).all()
    console = Console()
    table = Table(title="quarantine")
    for name in ("id", "source", "record", "reason", "message", "last seen", "released"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            str(row.id),
            row.source,
            row.record_key,
            row.reason,
            row.message[:80],
            str(row.last_seen)[:19],
            str(row.released_at)[:19] if row.released_at else "",
        )
    console.print(table)
    console.print(", ".join(f"{s}/{r}: {n}" for s, r, n in counts) or "nothing held back")


@app.command()
def show(
    record_id: int = typer.Argument(..., help="Quarantine id (from `gateway quarantine list`)."),
) -> None:
    """Print one quarantined record with its raw payload as JSON."""
    with command_engine(current=True) as engine:
        audit_record("quarantine show", targets=[str(record_id)])  # its raw payload holds citizen IDs
        with engine.connect() as conn:
            row = conn.execute(select(*Q).where(Q.id == record_id)).first()
    if row is None:
        typer.echo(f"no quarantined record {record_id}", err=True)
        raise typer.Exit(1)
    record = QuarantinedRecord(
        id=row.id,
        source=row.source,
        record_key=row.record_key,
        raw=orjson.loads(row.raw),
        reason=row.reason,
        message=row.message,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        released_at=row.released_at,
    )
    typer.echo(orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
