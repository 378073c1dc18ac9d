"""`gateway stats snapshot|list`: keep the statistics release of the day for the series, list the kept ones.

The worker keeps one per county each month by itself (`monthly_loop`); both are audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import typer
from opentelemetry import trace
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.direct import append_event, command_event
from gateway.commands.recorded import record
from gateway.commands.serve import check_migrated
from gateway.settings import Settings, get_settings
from gateway.stats import repository
from gateway.stats.county import CountyRelease
from gateway.stats.snapshots import monthly_snapshots, take_snapshot
from gateway.stats.suppression import Mark
from schemas.time import today_cn
from store.engines import make_async_engine
from store.read import ReadStore, open_read_store

app = typer.Typer(help="Statistics snapshots (村级统计) kept for the series.", no_args_is_help=True)
log = logging.getLogger(__name__)
MONTHLY_CHECK_SECONDS = 3600.0


@asynccontextmanager
async def _stores(settings: Settings) -> AsyncIterator[tuple[ReadStore, AsyncEngine]]:
    engine = make_async_engine(settings.database_url, pool_size=2)
    db = await open_read_store(settings.database_url, pool_size=2, tracer=trace.get_tracer(__name__))
    try:
        yield db, engine
    finally:
        await db.close()
        await engine.dispose()


def _hidden(rel: CountyRelease) -> int:
    return sum(m is not Mark.PUBLISHED for t in rel.tables.values() for m in t.marks.values())


async def _snapshot(settings: Settings, region: str | None) -> list[tuple[str, str, CountyRelease]]:
    today = today_cn()
    async with _stores(settings) as (db, engine):
        roots = [region] if region else await repository.county_codes(engine)
        taken = []
        for root in roots:
            rel = await take_snapshot(db, engine, root, today=today, k=settings.stats_min_cell, by="cli")
            taken.append((root, await repository.region_name(db, root) or root, rel))
        return taken


@app.command()
def snapshot(
    region: str | None = typer.Option(
        None, "--region", help="Only this county (12-digit code); default: every county."
    ),
) -> None:
    """Keep today's statistics release of every county (or one) as a snapshot of the series."""
    settings = get_settings()
    check_migrated(settings.database_url)
    if region is not None and (len(region) != 12 or not region.isdigit() or region[6:] != "000000"):
        typer.echo(f"error: not a county code: {region!r} (12 digits ending in 000000)", err=True)
        raise typer.Exit(2)
    record("stats snapshot", targets=[region] if region else [])
    for root, name, rel in asyncio.run(_snapshot(settings, region)):
        typer.echo(
            f"kept {root} {name} as of {today_cn().isoformat()}: "
            f"{len(rel.tables)} tables, {_hidden(rel)} cells hidden (k={rel.min_cell})"
        )


async def _kept(settings: Settings, region: str | None) -> list[tuple[str, dt.date]]:
    async with _stores(settings) as (_db, engine):
        roots = [region] if region else await repository.county_codes(engine)
        start, end = dt.date(1, 1, 1), dt.date(9999, 12, 31)
        return [
            (root, as_of)
            for root in roots
            for as_of, _ in await repository.kept_releases(engine, root, start=start, end=end)
        ]


@app.command("list")
def list_(region: str | None = typer.Option(None, "--region", help="Only this county.")) -> None:
    """List the kept snapshots (county and day)."""
    settings = get_settings()
    check_migrated(settings.database_url)
    record("stats list", targets=[region] if region else [])
    table = Table(title="statistics snapshots")
    table.add_column("county")
    table.add_column("as of")
    for root, as_of in asyncio.run(_kept(settings, region)):
        table.add_row(root, as_of.isoformat())
    Console().print(table)


async def monthly_pass(settings: Settings) -> list[str]:
    """Take this month's snapshot of every county without one; audit it; return the counties."""
    async with _stores(settings) as (db, engine):
        taken = await monthly_snapshots(db, engine, today=today_cn(), k=settings.stats_min_cell, by="worker")
    if taken:
        event = command_event(settings, command="stats snapshot", targets=taken, extra={"monthly": True})
        await append_event(settings.database_url, event)
    return taken


async def monthly_loop(settings: Settings, *, stop: asyncio.Event, once: bool) -> None:
    """Keep the monthly snapshots until `stop` is set (checking hourly), or once."""
    while not stop.is_set():
        try:
            await monthly_pass(settings)
        except Exception:  # a store hiccup: try again at the next check, keep delivering webhooks
            if once:
                raise
            log.exception("monthly statistics snapshot failed")
        if once:
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=MONTHLY_CHECK_SECONDS)
        except TimeoutError:
            continue
