"""Build the protected statistics report of a subtree: cut from the county's release of the day.

Shared by `GET /v1/stats` and the village dashboard, so both publish exactly the same cells, and every
region and grouping level is cut from one suppressed release (gateway/stats/release.py).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

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
from gateway.stats.release import (
    Node,
    Released,
    Tree,
    aggregate,
    build_tree,
    coverage_subtable,
    cross_subtable,
    release,
)
from gateway.stats.repository import Scope
from gateway.stats.suppression import FIELDS, Shown
from gateway.store import ReadStore
from schemas.regions import LEVELS, pad_region_code, region_level
from schemas.time import today_cn

UNKNOWN_PROVINCE_LABEL = "未登记"


@dataclass(slots=True)
class CountyRelease:
    """Every statistic of one county for one date, suppressed once (gateway/stats/release.py)."""

    tree: Tree
    names: dict[str, str]
    provinces: list[str]
    tables: dict[str, Released]


# One release per read store, county, date and minimum cell: every view of the day agrees.
_RELEASES: weakref.WeakKeyDictionary[ReadStore, dict[tuple[str, dt.date, int], CountyRelease]] = (
    weakref.WeakKeyDictionary()
)
COUNT_TABLES = {
    "elderly_living_alone": "独居老人",
    "low_income_households": "低收入家庭(户)",
    "left_behind_children": "留守儿童",
}


def root_of(region: str) -> str:
    """Return the root of the release holding a region's views: its county (or itself, when higher)."""
    level = region_level(region)
    if LEVELS.index(level) < LEVELS.index("county"):
        return region
    return pad_region_code(region[:6])


async def county_release(db: ReadStore, root: str, *, today: dt.date, k: int) -> CountyRelease:
    """Return the day's release of a county, computing it on first use."""
    per_store = _RELEASES.setdefault(db, {})
    key = (root, today, k)
    if key not in per_store:
        for old in [x for x in per_store if x[1] != today]:
            del per_store[old]  # yesterday's releases are not served again
        per_store[key] = await _compute(db, root, today=today, k=k)
    return per_store[key]


async def _compute(db: ReadStore, root: str, *, today: dt.date, k: int) -> CountyRelease:
    villages = await repository.region_names(db, Scope(region=root, level="village"))
    townships = await repository.region_names(db, Scope(region=root, level="township"))
    scope = Scope(region=root, level="village")
    counts = {
        "elderly_living_alone": await repository.elderly_living_alone(db, scope),
        "low_income_households": await repository.low_income_households(db, scope),
        "left_behind_children": await repository.left_behind_children(db, scope),
    }
    migrants = await repository.migrant_workers(db, scope)
    coverage = await repository.insurance_coverage(db, scope, today=today)
    codes = set(villages).union(*counts.values(), {c for c, _ in migrants}, coverage)
    tree = build_tree(root, codes, townships)
    tables: dict[str, Released] = {}
    for name, per_code in counts.items():
        values = aggregate(tree, {("village", c): (n,) for c, n in per_code.items()}, 1)
        tables[name] = release(tree, values, None, columns=1, k=k)
    # Known provinces by name; the unregistered column last.
    provinces = sorted({p for _, p in migrants}, key=lambda p: (p == repository.UNKNOWN_PROVINCE, p))
    leaf: dict[Node, list[int]] = {}
    for (code, p), n in migrants.items():
        row = leaf.setdefault(("village", code), [0] * (len(provinces) + 1))
        row[provinces.index(p)] += n
        row[-1] += n
    values = aggregate(tree, leaf, len(provinces) + 1)
    tables["migrant_workers"] = release(
        tree, values, cross_subtable(values, len(provinces)), columns=len(provinces) + 1, k=k
    )
    rows = {("village", c): (a, p, a - p, m, a - m) for c, (a, p, m) in coverage.items()}
    values = aggregate(tree, rows, len(FIELDS))
    tables["insurance_coverage"] = release(tree, values, coverage_subtable(values), columns=len(FIELDS), k=k)
    return CountyRelease(tree, {**villages, **townships}, provinces, tables)


def _view(tree: Tree, region: str, level: GroupLevel) -> tuple[Node, list[Node]]:
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


async def build_report(
    db: ReadStore, *, region: str, level: GroupLevel, min_cell: int, today: dt.date | None = None
) -> StatsReport:
    """Cut the view of one region and grouping level from the day's release of its county."""
    if LEVELS.index(region_level(region)) > LEVELS.index(level.value):
        raise BadRequest(f"cannot group a {region_level(region)} by {level.value}: choose a lower level")
    region_name = await repository.region_name(db, region)
    if region_name is None:
        raise NotFound(f"no region {region}")
    today = today or today_cn()
    rel = await county_release(db, root_of(region), today=today, k=min_cell)
    node, rows = _view(rel.tree, region, level)
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
