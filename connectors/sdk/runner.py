"""The shared sync runner: validate, translate, quarantine, link, upsert, checkpoint, lock, refresh.

Entry point: ``run_sync(engine, names, *, config, progress) -> SyncReport``. Each source syncs under its
lease; records are committed in batches at the connector's checkpoints (with the resume state in the
same transaction); after every source ran, one refresh recomputes the residents the batches touched.
A failing source keeps what it committed, does not stop the others, and makes the report not ok.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine

from connectors.sdk.alerts import after_write
from connectors.sdk.config import SourcesConfig
from connectors.sdk.linking.refresh import refresh
from connectors.sdk.registry import resolve
from connectors.sdk.source_sync import AnyConnector, SourceSync
from connectors.sdk.summary import Progress, SyncReport, SyncSummary, _Quiet
from schemas.time import today_cn
from store.bulk import sync_connection

log = logging.getLogger(__name__)


def sync_clock() -> tuple[dt.datetime, dt.date]:
    """Return now (UTC, whole seconds) and the county's date (Beijing time) for a sync run."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now, today_cn(now)


def build_connectors(names: Sequence[str] | None, *, config: SourcesConfig) -> list[AnyConnector]:
    """Instantiate the named (or every configured) source's connector with its validated settings."""
    return [
        cls(config.settings(cls.name, cls.settings_model))
        for cls in resolve(list(names or []), configured=config.names)
    ]


def run_sync(
    engine: Engine,
    names: Sequence[str] | None = None,
    *,
    config: SourcesConfig,
    progress: Progress | None = None,
    full: bool = False,
    today: dt.date | None = None,
) -> SyncReport:
    """Sync the named sources (all configured ones when none), then refresh the served residents."""
    return run_connectors(
        engine, build_connectors(names, config=config), progress=progress, full=full, today=today
    )


def run_connectors(
    engine: Engine,
    connectors: Iterable[AnyConnector],
    *,
    progress: Progress | None = None,
    full: bool = False,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> SyncReport:
    """Sync already built connectors in order, then refresh; `full` ignores saved watermarks."""
    clock_now, clock_today = sync_clock()
    now, today = now or clock_now, today or clock_today
    progress = progress or _Quiet()
    started = time.perf_counter()
    summaries: list[SyncSummary] = []
    with sync_connection(engine) as conn:
        for connector in connectors:
            summary = SourceSync(conn, connector, now=now, progress=progress).run(full=full)
            summaries.append(summary)
            progress.finished(summary)
            log.info(
                "sync %s: read %d, created %d, updated %d, unchanged %d, quarantined %d, %.1f s%s",
                summary.source,
                summary.read,
                summary.created,
                summary.updated,
                summary.unchanged,
                summary.quarantined_total,
                summary.duration,
                f" FAILED: {summary.error}" if summary.error else "",
            )
        refreshed = refresh(conn, now=now, today=today)
        after_write(conn, now=now, today=today)
    return SyncReport(sources=summaries, refresh=refreshed, duration=time.perf_counter() - started)
