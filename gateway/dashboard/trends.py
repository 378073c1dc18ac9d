"""The dashboard's trends: the count tables of the chosen region over the kept monthly snapshots.

Cut by the same `build_series` as `GET /v1/stats/series`, so the page shows exactly the cells the
API publishes for each month (hidden counts stay hidden, and break the line).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.dashboard.lines import line_chart
from gateway.stats.models import CountTable, GroupLevel, StatsSeries, StatsTable
from gateway.stats.report import today_in_china
from gateway.stats.snapshots import build_series, window
from gateway.stats.suppression import Shown
from gateway.store import ReadStore

TABLES = (
    StatsTable.ELDERLY_LIVING_ALONE,
    StatsTable.LOW_INCOME_HOUSEHOLDS,
    StatsTable.LEFT_BEHIND_CHILDREN,
)
TOTAL_LABEL = "合计"


@dataclass(frozen=True, slots=True)
class Trend:
    """One table over the snapshots: a chart and the same numbers as a table."""

    key: str
    title: str
    periods: list[str]
    rows: list[tuple[str, list[Shown | None]]]
    chart: Markup


def _periods(series: StatsSeries) -> list[str]:
    """Label points by month; by day where a month holds more than one snapshot."""
    months = [p.period for p in series.points]
    return [p.period if months.count(p.period) == 1 else p.as_of.isoformat() for p in series.points]


def _trend(series: StatsSeries, labels: dict[str, str]) -> Trend:
    tables = [p.table for p in series.points if isinstance(p.table, CountTable)]
    codes: dict[str, str] = {}
    for t in tables:
        for r in t.rows:
            codes.setdefault(r.code, labels.get(r.code, r.name or r.code))
    rows: list[tuple[str, list[Shown | None]]] = []
    for code, name in codes.items():
        rows.append((name, [next((r.count for r in t.rows if r.code == code), None) for t in tables]))
    rows.append((TOTAL_LABEL, [t.total for t in tables]))
    periods = _periods(series)
    title = f"{series.table.label}(按月)"
    return Trend(series.table.value, title, periods, rows, line_chart(periods, rows, title=title))


async def build(
    db: ReadStore, engine: AsyncEngine, *, region: str, level: GroupLevel, labels: dict[str, str]
) -> list[Trend]:
    """Return the trends of a region's view over the last twelve months' snapshots."""
    start, end = window(None, None, today=today_in_china())
    out = []
    for table in TABLES:
        series = await build_series(db, engine, table=table, region=region, level=level, start=start, end=end)
        if series.points:
            out.append(_trend(series, labels))
    return out
