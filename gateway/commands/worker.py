"""`gateway worker`: deliver webhooks (fan-out, signed POSTs, retries, dead letters), outside any request,
and keep each county's monthly statistics snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from gateway.auth.keys import KeyConfigError
from gateway.commands.serve import check_migrated
from gateway.commands.stats import monthly_loop
from gateway.settings import get_settings
from gateway.subscriptions.worker import PassReport, serve


async def _run(*, once: bool) -> PassReport:
    settings = get_settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)  # finish the pass in hand, then exit
    # The monthly statistics snapshot rides along: one task beside the webhook passes.
    snapshots = asyncio.create_task(monthly_loop(settings, stop=stop, once=once))
    try:
        return await serve(settings, once=once, stop=stop)
    finally:
        stop.set()
        await snapshots


def worker(
    once: bool = typer.Option(False, "--once", help="Run one pass (fan out, deliver what is due) and exit."),
) -> None:
    """Deliver webhook subscriptions and keep monthly statistics snapshots until stopped (SIGTERM)."""
    check_migrated(get_settings().database_url)
    try:
        report = asyncio.run(_run(once=once))
    except KeyConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"queued {report.queued}, delivered {report.delivered}, failed {report.failed} (will retry), "
        f"dead {report.dead}"
    )
