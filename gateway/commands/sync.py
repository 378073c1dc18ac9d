"""`gateway sync [SOURCE...]`: pull the department sources into the store, with progress and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from connectors.api import ConfigError, SyncReport, SyncSummary, break_lease, load_config, run_sync
from gateway.audit.direct import record_admin_action
from gateway.commands.recorded import record
from gateway.commands.store import command_engine
from gateway.settings import get_settings
from store.bulk import write_tx


class RichProgress:
    """Draw one progress bar per source (the runner's Progress protocol)."""

    def __init__(self, progress: Progress) -> None:
        """Drive `progress`."""
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def started(self, source: str, *, total: int | None) -> None:
        """Add the source's bar."""
        self.tasks[source] = self.progress.add_task(source, total=total)

    def advanced(self, source: str, *, read: int) -> None:
        """Move the source's bar to `read` records."""
        self.progress.update(self.tasks[source], completed=read)

    def finished(self, summary: SyncSummary) -> None:
        """Close the source's bar."""
        task = self.tasks.get(summary.source)
        if task is not None:
            self.progress.update(task, completed=summary.read, total=summary.read)


def summary_table(report: SyncReport) -> Table:
    """Build the summary table of a sync (reasons and errors are listed under it)."""
    table = Table(title="sync summary", box=box.SIMPLE_HEAD)
    table.add_column("source", no_wrap=True)
    for name in (
        "read",
        "created",
        "updated",
        "unchanged",
        "superseded",
        "withdrawn",
        "quarantined",
        "released",
        "duration",
        "records/s",
    ):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for s in report.sources:
        table.add_row(
            s.source,
            f"{s.read:,}",
            f"{s.created:,}",
            f"{s.updated:,}",
            f"{s.unchanged:,}",
            f"{s.superseded:,}",
            f"{s.withdrawn:,}",
            f"{s.quarantined_total:,}",
            f"{s.released:,}",
            f"{s.duration:.1f} s",
            f"{s.records_per_second:,.0f}",
            "[green]ok[/green]" if s.ok else "[red]failed[/red]",
        )
    return table


def print_report(report: SyncReport, console: Console) -> None:
    """Print the summary table, the quarantine reasons, the failures and the refresh."""
    console.print(summary_table(report))
    for s in report.sources:
        if s.quarantined:
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(s.quarantined.items()))
            console.print(f"  {s.source} quarantined: {reasons}")
    for s in report.sources:
        for note in s.notes:
            console.print(f"  {s.source}: {escape(note)}", highlight=False)
        if s.error:
            console.print(f"  [red]{s.source} failed: {escape(s.error)}[/red]", highlight=False)
    if report.refresh is not None:
        r = report.refresh
        console.print(
            f"residents: {r.residents_created:,} created, {r.residents_updated:,} updated, "
            f"{r.residents_unchanged:,} unchanged, {r.residents_removed:,} removed; "
            f"households updated {r.households_updated:,}, removed {r.households_removed:,} "
            f"({r.duration:.1f} s); total {report.duration:.1f} s"
        )


def _break_lock(engine: Engine, source: str, *, database_url: str, console: Console) -> None:
    """Audit, then remove a source's sync lease (a sync killed on another host holds it until expiry)."""
    with engine.connect() as conn, write_tx(conn) as store:
        rows = store.rows("SELECT holder FROM sync_lock WHERE source = ?", (source,))
    holder = str(rows[0][0]) if rows else None
    record_admin_action(
        database_url, action="sync.break_lock", target=source, reason=f"held by {holder or 'nobody'}"
    )
    with engine.connect() as conn, write_tx(conn) as store:
        break_lease(store, source)
    console.print(f"sync lease of {escape(source)} broken (it was held by {escape(holder or 'nobody')})")


def sync(
    sources: list[str] = typer.Argument(None, help="Sources to sync (default: every configured source)."),
    config: Path | None = typer.Option(
        None, "--config", help="Sources config (default: $GATEWAY_SOURCES_CONFIG, else sources.yaml)."
    ),
    full: bool = typer.Option(False, "--full", help="Ignore watermarks and re-read every record."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Draw progress bars."),
    break_lock: str | None = typer.Option(
        None,
        "--break-lock",
        metavar="SOURCE",
        help="Remove SOURCE's sync lease, whoever holds it (audited), and sync nothing.",
    ),
) -> None:
    """Sync department sources into the store (GATEWAY_DATABASE_URL); exit 1 when any source fails."""
    settings = get_settings()
    console = Console(stderr=True)
    with command_engine(settings.database_url, current=True) as engine:
        if break_lock is not None:
            _break_lock(engine, break_lock, database_url=settings.database_url, console=console)
            return
        try:
            cfg = load_config(config or settings.sources_config)
            with Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                disable=not progress,
                transient=False,
            ) as bars:
                report = run_sync(engine, sources or None, config=cfg, progress=RichProgress(bars), full=full)
        except ConfigError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    record("sync", targets=sources or ["all"], outcome="allow" if report.ok else "error")
    out = Console()
    if not out.is_terminal:  # a log or a pipe: wide enough that no column is cut
        out = Console(width=max(out.width, 120))
    print_report(report, out)
    if not report.ok:
        raise typer.Exit(1)
