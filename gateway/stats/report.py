"""Build the protected statistics report of a subtree: SQL counts in, suppressed tables out.

Shared by `GET /v1/stats` and the village dashboard, so both publish exactly the same cells.
"""

from __future__ import annotations

import datetime as dt

from gateway.errors import BadRequest, NotFound
from gateway.stats import repository
from gateway.stats.models import (
    CountTable,
    CoverageRow,
    CoverageTable,
    GroupLevel,
    MigrantRow,
    MigrantTable,
    RegionCount,
    StatsReport,
)
from gateway.stats.repository import Scope
from gateway.stats.suppression import Shown, protect_coverage, protect_cross, protect_list
from gateway.store import ReadStore
from schemas.regions import LEVELS, region_level

CHINA = dt.timezone(dt.timedelta(hours=8))
UNKNOWN_PROVINCE_LABEL = "未登记"


def today_in_china() -> dt.date:
    """Return today's date in China (ages are counted on local days)."""
    return dt.datetime.now(CHINA).date()


async def build_report(
    db: ReadStore, *, region: str, level: GroupLevel, min_cell: int, today: dt.date | None = None
) -> StatsReport:
    """Count in SQL, then suppress small cells of every table of the report."""
    if LEVELS.index(region_level(region)) > LEVELS.index(level.value):
        raise BadRequest(f"cannot group a {region_level(region)} by {level.value}: choose a lower level")
    region_name = await repository.region_name(db, region)
    if region_name is None:
        raise NotFound(f"no region {region}")
    today = today or today_in_china()
    scope = Scope(region=region, level=level.value)
    names = await repository.region_names(db, scope)
    living_alone = await repository.elderly_living_alone(db, scope)
    low_income = await repository.low_income_households(db, scope)
    children = await repository.left_behind_children(db, scope)
    migrants = await repository.migrant_workers(db, scope)
    coverage = await repository.insurance_coverage(db, scope, today=today)
    # Every region of the level is a row, zeros included, plus any code the data uses outside the gazetteer.
    codes = sorted(
        set(names)
        | set(living_alone)
        | set(low_income)
        | set(children)
        | {c for c, _ in migrants}
        | set(coverage)
    )
    return StatsReport(
        region=region,
        region_name=region_name,
        level=level,
        min_cell=min_cell,
        as_of=today,
        elderly_living_alone=_count_table("独居老人", codes, names, living_alone, k=min_cell),
        low_income_households=_count_table("低收入家庭(户)", codes, names, low_income, k=min_cell),
        left_behind_children=_count_table("留守儿童", codes, names, children, k=min_cell),
        migrant_workers=_migrant_table(codes, names, migrants, k=min_cell),
        insurance_coverage=_coverage_table(region, region_name, codes, names, coverage, k=min_cell),
    )


def _count_table(
    title: str, codes: list[str], names: dict[str, str], counts: dict[str, int], *, k: int
) -> CountTable:
    res = protect_list([counts.get(c, 0) for c in codes], k=k)
    return CountTable(
        title=title,
        rows=[RegionCount(code=c, name=names.get(c), count=s) for c, s in zip(codes, res.cells, strict=True)],
        total=res.total,
        withheld=res.withheld,
    )


def _migrant_table(
    codes: list[str], names: dict[str, str], counts: dict[tuple[str, str], int], *, k: int
) -> MigrantTable:
    # Known provinces by name; the unregistered column last.
    provinces = sorted({p for _, p in counts}, key=lambda p: (p == repository.UNKNOWN_PROVINCE, p))
    matrix = [[counts.get((c, p), 0) for p in provinces] for c in codes]
    res = protect_cross(matrix, k=k)
    return MigrantTable(
        title="外出务工人员(按务工省份)",
        provinces=[p or UNKNOWN_PROVINCE_LABEL for p in provinces],
        rows=[
            MigrantRow(code=c, name=names.get(c), counts=res.cells[i], total=res.row_totals[i])
            for i, c in enumerate(codes)
        ],
        province_totals=res.column_totals,
        total=res.total,
        withheld=res.withheld,
    )


def _share(part: Shown | None, whole: Shown | None) -> float | None:
    # A share is published only when both counts are: otherwise it would reveal the hidden one.
    if isinstance(part, int) and isinstance(whole, int) and whole > 0:
        return round(part / whole, 3)
    return None


def _coverage_row(code: str, name: str | None, cells: list[Shown | None]) -> CoverageRow:
    adults, pension, pension_gap, medical, medical_gap = cells
    return CoverageRow(
        code=code,
        name=name,
        adults=adults,
        pension=pension,
        pension_uncovered=pension_gap,
        pension_share=_share(pension, adults),
        medical=medical,
        medical_uncovered=medical_gap,
        medical_share=_share(medical, adults),
    )


def _coverage_table(
    region: str,
    region_name: str,
    codes: list[str],
    names: dict[str, str],
    counts: dict[str, tuple[int, int, int]],
    *,
    k: int,
) -> CoverageTable:
    res = protect_coverage([counts.get(c, (0, 0, 0)) for c in codes], k=k)
    columns = (res.adults, res.pension, res.pension_gap, res.medical, res.medical_gap)
    return CoverageTable(
        title="成年人养老、医疗保险参保情况",
        rows=[_coverage_row(c, names.get(c), [col[i] for col in columns]) for i, c in enumerate(codes)],
        total=_coverage_row(region, region_name, list(res.totals.values())),
        withheld=res.withheld,
    )
