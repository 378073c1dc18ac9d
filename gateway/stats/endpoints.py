"""Statistics routes (村级统计): aggregated counts with small cells suppressed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.deps import EngineDep, ReadDep, SettingsDep
from gateway.errors import BadRequest, Forbidden
from gateway.routing import ITEM_PROBLEMS, api_router, operation
from gateway.stats.models import GroupLevel, StatsReport, StatsSeries, StatsTable
from gateway.stats.report import build_report
from gateway.stats.snapshots import build_series, window
from schemas.models import RegionCode
from schemas.regions import in_subtree
from schemas.time import today_cn


async def caller_region(principal: PrincipalDep) -> str | None:
    """Return the caller's region (None: a county-wide client with no region of its own)."""
    return principal.region_code


CallerRegion = Annotated[str | None, Depends(caller_region)]
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def own_region(region: str | None, mine: str | None) -> str:
    """Return the region asked for (default: the caller's), refusing one outside the caller's."""
    region = region or mine
    if region is None:
        raise BadRequest("pass `region`: the caller has no region of its own")
    if mine is not None and not in_subtree(region, mine):
        raise Forbidden(f"region {region} is outside the caller's region {mine}")
    return region


router = api_router(
    prefix="/v1/stats", tags=["statistics"], dependencies=[require_scope(Scope.STATISTICS_READ)]
)


@router.get("", **operation("Village statistics", BadRequest, Forbidden, *ITEM_PROBLEMS, model=StatsReport))
async def get_stats(
    db: ReadDep,
    engine: EngineDep,
    settings: SettingsDep,
    record: RecordDep,
    mine: CallerRegion,
    region: Annotated[
        RegionCode | None,
        Query(description="Root of the subtree to count; defaults to the caller's region."),
    ] = None,
    level: Annotated[
        GroupLevel, Query(description="Group rows by village or by township.")
    ] = GroupLevel.VILLAGE,
) -> StatsReport:
    """Count elderly living alone, low-income households, left-behind children, migrant workers and
    insurance coverage per region; counts from 1 to k-1 are shown as "<k" and cells that would reveal
    them are hidden as "*"."""
    region = own_region(region, mine)
    report = await build_report(
        db, engine=engine, region=region, level=level, min_cell=settings.stats_min_cell
    )
    record.disclose("statistics", [])  # aggregates only: no record is disclosed
    return report


@router.get(
    "/series",
    **operation("Village statistics over months", BadRequest, Forbidden, *ITEM_PROBLEMS, model=StatsSeries),
)
async def get_series(
    db: ReadDep,
    engine: EngineDep,
    record: RecordDep,
    mine: CallerRegion,
    table: Annotated[StatsTable, Query(description="The statistics table to follow.")],
    region: Annotated[
        RegionCode | None,
        Query(description="Root of the subtree counted; defaults to the caller's region."),
    ] = None,
    level: Annotated[
        GroupLevel, Query(description="Group rows by village or by township.")
    ] = GroupLevel.VILLAGE,
    start: Annotated[
        str | None, Query(alias="from", pattern=MONTH, description="First month (YYYY-MM).")
    ] = None,
    end: Annotated[str | None, Query(alias="to", pattern=MONTH, description="Last month (YYYY-MM).")] = None,
) -> StatsSeries:
    """One statistics table of a region from every kept snapshot (monthly and on demand) in the months
    asked for (default: the last twelve); each month shows exactly the cells published that day."""
    region = own_region(region, mine)
    start, end = window(start, end, today=today_cn())
    series = await build_series(db, engine, table=table, region=region, level=level, start=start, end=end)
    record.disclose("statistics", [])  # aggregates only: no record is disclosed
    return series
