"""Build the protected statistics report of a subtree: cut from the county's release of the day.

Shared by `GET /v1/stats` and the village dashboard, so both publish exactly the same cells, and every
region and grouping level is cut from one suppressed release (gateway/stats/release.py).
"""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest, or_not_found
from gateway.stats import repository
from gateway.stats.county import COUNT_TABLES, CountyRelease, compute, from_body, to_body
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
from gateway.stats.release import Node, Released, Tree
from gateway.stats.suppression import FIELDS, Shown
from schemas.regions import LEVELS, pad_region_code, region_level
from schemas.time import today_cn
from store.read import ReadStore

UNKNOWN_PROVINCE_LABEL = "未登记"


# One release per read store, county and date: every view of the day agrees (and it is stored, so
# every process and the series agree too).
_RELEASES: weakref.WeakKeyDictionary[ReadStore, dict[tuple[str, dt.date], CountyRelease]] = (
    weakref.WeakKeyDictionary()
)


def root_of(region: str) -> str:
    """Return the root of the release holding a region's views: its county (or itself, when higher)."""
    level = region_level(region)
    if LEVELS.index(level) < LEVELS.index("county"):
        return region
    return pad_region_code(region[:6])


async def county_release(
    db: ReadStore, engine: AsyncEngine, root: str, *, today: dt.date, k: int, by: str = "serve"
) -> CountyRelease:
    """Return the day's release of a county: cached, else stored, else computed and stored.

    The first process to store a county's release of a day wins; the others serve the stored one, so
    the minimum cell size of a release is the one in force when it was taken.
    """
    per_store = _RELEASES.setdefault(db, {})
    key = (root, today)
    if key not in per_store:
        for old in [x for x in per_store if x[1] != today]:
            del per_store[old]  # yesterday's releases are not served again
        per_store[key] = await _stored_or_computed(db, engine, root, today=today, k=k, by=by)
    return per_store[key]


async def _stored_or_computed(
    db: ReadStore, engine: AsyncEngine, root: str, *, today: dt.date, k: int, by: str
) -> CountyRelease:
    stored = await repository.stored_release(engine, root, today)
    if stored is not None:
        return from_body(stored)
    before = await repository.release_before(engine, root, today)
    rel = await compute(db, engine, root, today=today, k=k, previous=from_body(before) if before else None)
    body = to_body(rel)
    if not await repository.insert_release(
        engine, root=root, as_of=today, min_cell=k, kept=False, by=by, body=body
    ):
        return from_body(await repository.stored_release(engine, root, today) or body)
    return rel


def view_nodes(tree: Tree, region: str, level: GroupLevel) -> tuple[Node, list[Node]]:
    """Return the node of a region and the nodes of its view's rows."""
    own = region_level(region)
    node: Node = tree.root if region == tree.root[1] else (own, region)
    if node not in tree.children and node not in tree.leaves():
        return node, []
    if own == level.value:
        return node, [node]
    if node == tree.root and level is GroupLevel.VILLAGE:
        return node, [v for t in tree.children[node] for v in tree.children.get(t, [])]
    return node, list(tree.children.get(node, []))


async def check_view(db: ReadStore, *, region: str, level: GroupLevel) -> str:
    """Return the name of a region whose statistics may be grouped by `level`, or raise."""
    if LEVELS.index(region_level(region)) > LEVELS.index(level.value):
        raise BadRequest(f"cannot group a {region_level(region)} by {level.value}: choose a lower level")
    return or_not_found(await repository.region_name(db, region), f"no region {region}")


async def build_report(
    db: ReadStore,
    *,
    engine: AsyncEngine,
    region: str,
    level: GroupLevel,
    min_cell: int,
    today: dt.date | None = None,
) -> StatsReport:
    """Cut the view of one region and grouping level from the day's release of its county."""
    region_name = await check_view(db, region=region, level=level)
    today = today or today_cn()
    rel = await county_release(db, engine, root_of(region), today=today, k=min_cell)
    return cut_report(rel, region=region, region_name=region_name, level=level, today=today)


def cut_report(
    rel: CountyRelease, *, region: str, region_name: str, level: GroupLevel, today: dt.date
) -> StatsReport:
    """Return the view of one region and grouping level cut from a county's release."""
    min_cell = rel.min_cell
    node, rows = view_nodes(rel.tree, region, level)
    names = rel.names
    tables = {
        name: _count_table(title, node, rows, names, rel.tables[name], k=min_cell)
        for name, title in COUNT_TABLES.items()
    }
    return StatsReport(
        region=region,
        region_name=region_name,
        level=level,
        min_cell=min_cell,
        as_of=today,
        elderly_living_alone=tables["elderly_living_alone"],
        low_income_households=tables["low_income_households"],
        left_behind_children=tables["left_behind_children"],
        migrant_workers=_migrant_table(node, rows, names, rel, k=min_cell),
        insurance_coverage=_coverage_table(node, region_name, rows, names, rel, k=min_cell),
    )


def _count_table(
    title: str, node: Node, rows: list[Node], names: dict[str, str], rel: Released, *, k: int
) -> CountTable:
    return CountTable(
        title=title,
        rows=[RegionCount(code=r[1], name=names.get(r[1]), count=rel.shown((r, 0), k=k)) for r in rows],
        total=rel.shown((node, 0), k=k),
        withheld=rel.withheld,
    )


def _migrant_table(
    node: Node, rows: list[Node], names: dict[str, str], rel: CountyRelease, *, k: int
) -> MigrantTable:
    table = rel.tables["migrant_workers"]
    n = len(rel.provinces)
    # Columns of the provinces someone in the region works in (a missing column is a published zero).
    cols = [j for j in range(n) if table.values.get((node, j), 0) > 0]
    return MigrantTable(
        title="外出务工人员(按务工省份)",
        provinces=[rel.provinces[j] or UNKNOWN_PROVINCE_LABEL for j in cols],
        rows=[
            MigrantRow(
                code=r[1],
                name=names.get(r[1]),
                counts=[table.shown((r, j), k=k) for j in cols],
                total=table.shown((r, n), k=k),
            )
            for r in rows
        ],
        province_totals=[table.shown((node, j), k=k) for j in cols],
        total=table.shown((node, n), k=k),
        withheld=table.withheld,
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
    node: Node, region_name: str, rows: list[Node], names: dict[str, str], rel: CountyRelease, *, k: int
) -> CoverageTable:
    table = rel.tables["insurance_coverage"]

    def cells(r: Node) -> list[Shown | None]:
        return [table.shown((r, c), k=k) for c in range(len(FIELDS))]

    return CoverageTable(
        title="成年人养老、医疗保险参保情况",
        rows=[_coverage_row(r[1], names.get(r[1]), cells(r)) for r in rows],
        total=_coverage_row(node[1], region_name, cells(node)),
        withheld=table.withheld,
    )
