"""Series survive differencing over months and regions: one LP over every month of every view.

The county changes between snapshots (people move in, are born, leave), so some counts change and
others do not. The reader collects every series view a client may request (each table, region and
grouping level, every month) and the day's `GET /v1/stats`, knows each month's equations, and is
told which counts did not change between consecutive months (the strongest differencing over time:
local knowledge that nobody moved). Linear programming over all months at once must leave every
hidden cell at least one person wide.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from gateway.demo.county import SHIFAN
from gateway.stats.county import CountyRelease, from_body
from schemas.codes import Tag
from schemas.time import today_cn
from store.engines import make_sync_engine
from store.tables.records import RegionRow
from store.tables.stats import StatsReleaseRow
from tests.disclosure.conftest import World
from tests.disclosure.release_lp import (
    COUNT_TABLES,
    COVERAGE,
    LEVELS,
    Key,
    Release,
    joint_ranges,
    requestable,
)
from tests.stats.data import QINGSHAN, SHIMEN, ZHULIN, add_migration, snapshot
from tests.support import factories

G = RegionRow.__table__.c  # type: ignore[attr-defined]
SR = StatsReleaseRow.__table__.c  # type: ignore[attr-defined]
TABLES = (*COUNT_TABLES, "migrant_workers", "insurance_coverage")
STATS_CLIENTS = [c.client_id for c in SHIFAN.clients if "statistics:read" in c.scopes]
OLD = dt.date(1950, 1, 1)


def _change(world: World, step: int) -> None:
    """Move the county on by a month: some counts change, most do not."""
    engine = make_sync_engine(world.url)
    add = factories.add_resident
    try:
        if step == 1:  # 石门村 gains an elderly person living alone; 青山村 a left-behind child
            add(engine, region_code=SHIMEN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
            add(engine, region_code=QINGSHAN, birth_date=dt.date(2017, 3, 1), tags=[Tag.LEFT_BEHIND_CHILD])
        elif step == 2:  # 竹林村 gains one living alone and six migrant workers in 广东省
            add(engine, region_code=ZHULIN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
            for _ in range(6):
                r = add(engine, region_code=ZHULIN, birth_date=dt.date(1992, 1, 1), tags=[Tag.MIGRANT_WORKER])
                add_migration(engine, r.id, "广东省", registered=dt.date(2026, 10, 20))
        else:  # 青山村 gains one living alone (6 -> 7), 石门村 a child (3 -> 4)
            add(engine, region_code=QINGSHAN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
            add(engine, region_code=SHIMEN, birth_date=dt.date(2018, 3, 1), tags=[Tag.LEFT_BEHIND_CHILD])
    finally:
        engine.dispose()


def _gazetteer(world: World) -> list[tuple[str, str, str | None]]:
    engine = make_sync_engine(world.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(G.code, G.level, G.parent_code)).all()
            stored = conn.execute(select(SR.as_of, SR.body).where(SR.kept.is_(True))).all()
    finally:
        engine.dispose()
    world.kept = {d.isoformat(): from_body(b) for d, b in stored}  # type: ignore[attr-defined]
    return [(r[0], r[1], r[2]) for r in rows if r[1] in LEVELS]


def _truth(rel: CountyRelease, key: Key, levels: dict[str, str]) -> int:
    """Return a cell's true count in a stored release (what the attacker's local knowledge compares)."""
    table, code, column = key
    node = (levels[code], code)
    if table in COUNT_TABLES:
        return rel.tables[table].values.get((node, 0), 0)
    if table == "migrant":
        labels = [p or "未登记" for p in rel.provinces]
        j = len(labels) if column == "total" else labels.index(column) if column in labels else -1
        return rel.tables["migrant_workers"].values.get((node, j), 0) if j >= 0 else 0
    return rel.tables["insurance_coverage"].values.get((node, COVERAGE.index(column)), 0)


@pytest.fixture(scope="module")
def months(world: World) -> list[str]:
    """Keep four snapshots, the county changing between them; the last is today's."""
    today = today_cn()
    dates = [dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1), today]
    for step, as_of in enumerate(dates):
        if step:
            _change(world, step)
        snapshot(world.url, as_of)
    return [d.isoformat() for d in dates]


def _views(world: World, client: str, gazetteer: list[tuple[str, str, str | None]]) -> dict[str, Release]:
    """Collect every series view (and today's /v1/stats) the client may request, per month."""
    mine = world.clients[client][1]
    headers = world.headers(client, None)
    per_month: dict[str, Release] = {}
    for code, group in requestable(gazetteer, mine):
        reports: dict[str, dict[str, Any]] = {}
        for table in TABLES:
            params = {"table": table, "region": code, "level": group, "from": "2026-08"}
            r = world.tc.get("/v1/stats/series", params=params, headers=headers)
            assert r.status_code == 200, r.text
            for point in r.json()["points"]:
                view = reports.setdefault(point["as_of"], {"region": code})
                view[table], view["min_cell"] = point["table"], point["min_cell"]
        r = world.tc.get("/v1/stats", params={"region": code, "level": group}, headers=headers)
        assert r.status_code == 200, r.text
        today = r.json()
        per_month.setdefault(today["as_of"], Release(k=today["min_cell"])).add_view(today)
        for as_of, report in reports.items():
            per_month.setdefault(as_of, Release(k=report["min_cell"])).add_view(report)
    return per_month


@pytest.mark.parametrize("client", STATS_CLIENTS)
def test_no_month_or_region_differencing_pins_a_suppressed_cell(
    world: World, months: list[str], client: str
) -> None:
    gazetteer = _gazetteer(world)
    levels = {code: level for code, level, _ in gazetteer}
    children: dict[str, list[str]] = defaultdict(list)
    for code, _, parent in gazetteer:
        if parent is not None and parent in levels:
            children[parent].append(code)
    per_month = _views(world, client, gazetteer)
    assert sorted(per_month) == months  # every kept month is served, today's as /v1/stats publishes it
    kept: dict[str, CountyRelease] = world.kept  # type: ignore[attr-defined]
    changed = [
        key
        for key in per_month[months[0]].seen
        if _truth(kept[months[0]], key, levels) != _truth(kept[months[-1]], key, levels)
    ]
    assert len(changed) >= 6  # the county really moved: the months are not copies of each other
    pinned = [
        f"{m}: {key} published differently in two views: {rel.seen[key]}"
        for m, rel in per_month.items()
        for key in rel.inconsistent()
    ]

    def unchanged(earlier: str, later: str, key: Key) -> bool:
        return _truth(kept[earlier], key, levels) == _truth(kept[later], key, levels)

    ordered = {m: per_month[m] for m in months}
    hidden = joint_ranges(ordered, dict(children), unchanged)
    assert len(hidden) >= 4 * 3  # each month hides cells: the check has something to check
    for (month, key), (lo, hi, shown) in hidden.items():
        if hi - lo < 1 - 1e-6:
            pinned.append(f"{month}: {key} shown {shown!r}: feasible [{lo:g}, {hi:g}]")
    assert not pinned, "\n".join(pinned)
