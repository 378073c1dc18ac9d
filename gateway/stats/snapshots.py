"""Snapshots of the statistics (kept releases) and the series cut from them.

A snapshot is a county's release of a day (report.py's `county_release`: the very release that
`GET /v1/stats` serves that day), marked kept. The worker takes one per county each month; the
`gateway stats snapshot` command takes one on demand. A series is one table of one region's view
cut from each kept snapshot, so a month's cells are the cells published that day, and each release
was suppressed with the previous one's fate carried over (release.py, "Over time").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest
from gateway.stats import repository
from gateway.stats.county import CountyRelease, from_body
from gateway.stats.models import GroupLevel, SeriesPoint, StatsSeries, StatsTable
from gateway.stats.report import check_view, county_release, cut_report, root_of
from store.read import ReadStore

MAX_MONTHS = 120


async def take_snapshot(
    db: ReadStore, engine: AsyncEngine, root: str, *, today: dt.date, k: int, by: str
) -> CountyRelease:
    """Keep a county's release of the day (taken now unless it was already served)."""
    rel = await county_release(db, engine, root, today=today, k=k, by=by)
    await repository.keep_release(engine, root=root, as_of=today)
    return rel


async def monthly_snapshots(
    db: ReadStore, engine: AsyncEngine, *, today: dt.date, k: int, by: str
) -> list[str]:
    """Take this month's snapshot of every county that has none yet; return their codes."""
    done = await repository.kept_roots(engine, since=today.replace(day=1))
    taken = []
    for root in await repository.county_codes(engine):
        if root not in done:
            await take_snapshot(db, engine, root, today=today, k=k, by=by)
            taken.append(root)
    return taken


def window(start: str | None, end: str | None, *, today: dt.date) -> tuple[str, str]:
    """Return the months of a series: as asked, by default the twelve months up to this one."""
    end = end or today.strftime("%Y-%m")
    if start is None:
        year, month = divmod(int(end[:4]) * 12 + int(end[5:7]) - 1 - 11, 12)
        start = f"{year:04d}-{month + 1:02d}"
    return start, end


def parse_month(text: str) -> dt.date:
    """Return the first day of a YYYY-MM month."""
    try:
        return dt.date(int(text[:4]), int(text[5:7]), 1)
    except ValueError as exc:
        raise BadRequest(f"not a month: {text!r} (expected YYYY-MM)") from exc


def month_end(first: dt.date) -> dt.date:
    """Return the last day of the month starting on `first`."""
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def months_between(start: dt.date, end: dt.date) -> int:
    """Return how many months from start's to end's, both counted."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


async def build_series(
    db: ReadStore,
    engine: AsyncEngine,
    *,
    table: StatsTable,
    region: str,
    level: GroupLevel,
    start: str,
    end: str,
) -> StatsSeries:
    """Cut one table of a region's view from every kept snapshot of its county in [start, end]."""
    first, last = parse_month(start), parse_month(end)
    if first > last:
        raise BadRequest(f"`from` ({start}) is after `to` ({end})")
    if months_between(first, last) > MAX_MONTHS:
        raise BadRequest(f"a series spans at most {MAX_MONTHS} months")
    region_name = await check_view(db, region=region, level=level)
    points = []
    kept = await repository.kept_releases(engine, root_of(region), start=first, end=month_end(last))
    for as_of, body in kept:
        rel = from_body(body)
        report = cut_report(rel, region=region, region_name=region_name, level=level, today=as_of)
        points.append(
            SeriesPoint(
                period=as_of.strftime("%Y-%m"),
                as_of=as_of,
                min_cell=rel.min_cell,
                table=getattr(report, table.value),
            )
        )
    return StatsSeries(
        table=table, region=region, region_name=region_name, level=level, start=start, end=end, points=points
    )
