"""Statistics routes (村级统计): aggregated counts with small cells suppressed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.deps import ReadDep, SettingsDep
from gateway.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from gateway.openapi import problem_responses
from gateway.routing import api_router
from gateway.stats.models import GroupLevel, StatsReport
from gateway.stats.report import build_report
from schemas.models import RegionCode
from schemas.regions import in_subtree


async def caller_region(principal: PrincipalDep) -> str | None:
    """Return the caller's region (None: a county-wide client with no region of its own)."""
    return principal.region_code


CallerRegion = Annotated[str | None, Depends(caller_region)]

router = api_router(
    prefix="/v1/stats", tags=["statistics"], dependencies=[require_scope(Scope.STATISTICS_READ)]
)


@router.get(
    "",
    summary="Village statistics",
    response_model=StatsReport,
    responses=problem_responses(BadRequest, Forbidden, NotFound, ValidationFailed),
)
async def get_stats(
    db: ReadDep,
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
    region = region or mine
    if region is None:
        raise BadRequest("pass `region`: the caller has no region of its own")
    if mine is not None and not in_subtree(region, mine):
        raise Forbidden(f"region {region} is outside the caller's region {mine}")
    report = await build_report(db, region=region, level=level, min_cell=settings.stats_min_cell)
    record.disclose("statistics", [])  # aggregates only: no record is disclosed
    return report
