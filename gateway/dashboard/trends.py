"""The dashboard's trends: the region's counts over the kept monthly snapshots.

Cut from the same kept releases as `GET /v1/stats/series` (and with the same cells: `Released.shown`),
so the page shows for each month exactly what was published that day; hidden counts stay hidden and
break the line. Besides the statistics, the open early-warning items and the residents' requests of
each region (their row totals) are followed too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.dashboard.lines import line_chart
from gateway.stats import repository
from gateway.stats.county import COUNT_TABLES, CountyRelease, from_body
from gateway.stats.models import GroupLevel
from gateway.stats.release import Node
from gateway.stats.report import root_of, view_nodes
from gateway.stats.snapshots import month_end, parse_month, window
from gateway.stats.suppression import Shown
from schemas.time import today_cn

# (table, title); the count tables have one column, the worklist tables end with their row total.
FOLLOWED = (
    *COUNT_TABLES.items(),
    ("alerts", "预警事项(未办结)"),
    ("appeals", "群众诉求"),
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


def _periods(dates: list[dt.date]) -> list[str]:
    """Label points by month; by day where a month holds more than one snapshot."""
    months = [d.strftime("%Y-%m") for d in dates]
    return [m if months.count(m) == 1 else d.isoformat() for m, d in zip(months, dates, strict=True)]


def _shown(rel: CountyRelease, table: str, node: Node) -> Shown | None:
    if table not in rel.tables:
        return None  # a snapshot taken before the table existed
    column = len(rel.columns[table]) if table in rel.columns else 0
    return rel.tables[table].shown((node, column), k=rel.min_cell)


def _trend(
    key: str, title: str, kept: list[tuple[dt.date, CountyRelease]], region: str, level: GroupLevel,
    labels: dict[str, str],
) -> Trend:  # fmt: skip
    found: dict[Node, str] = {}
    for _, rel in kept:
        for node in view_nodes(rel.tree, region, level)[1]:
            found.setdefault(node, labels.get(node[1], rel.names.get(node[1], node[1])))
    rows = [(name, [_shown(rel, key, node) for _, rel in kept]) for node, name in found.items()]
    rows.append((TOTAL_LABEL, [_shown(rel, key, view_nodes(rel.tree, region, level)[0]) for _, rel in kept]))
    periods = _periods([d for d, _ in kept])
    title = f"{title}(按月)"
    return Trend(key, title, periods, rows, line_chart(periods, rows, title=title))


async def build(
    engine: AsyncEngine, *, region: str, level: GroupLevel, labels: dict[str, str]
) -> list[Trend]:
    """Return the trends of a region's view over the last twelve months' kept snapshots."""
    start, end = window(None, None, today=today_cn())
    bodies = await repository.kept_releases(
        engine, root_of(region), start=parse_month(start), end=month_end(parse_month(end))
    )
    kept = [(d, from_body(b)) for d, b in bodies]
    if not kept:
        return []
    return [_trend(key, title, kept, region, level, labels) for key, title in FOLLOWED]
