"""The dashboard's worklist counts survive every combination of views: LP over every table a client's
dashboard shows (open alerts by rule, requests by category and by state), for every region and level."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from sqlalchemy import select

from gateway.demo.county import SHIFAN
from schemas.regions import in_subtree
from store.engines import make_sync_engine
from store.tables.records import RegionRow
from tests.auth.helpers import register_staff
from tests.disclosure.conftest import World
from tests.disclosure.release_lp import solve_ranges
from tests.support.alerts import add_appeals, evaluate
from tests.support.alerts import populate as populate_alerts

G = RegionRow.__table__.c  # type: ignore[attr-defined]
LEVELS = {"county": 0, "township": 1, "village": 2}
CLIENTS = [c.client_id for c in SHIFAN.clients if "statistics:read" in c.scopes]
ROW = re.compile(r"<tr[^>]*>\s*<t[dh]>([^<]+)</t[dh]>(.*?)</tr>", re.DOTALL)
CELL = re.compile(r"<td>([^<]*)</td>")
K = 5


@pytest.fixture(scope="module")
def gazetteer(world: World) -> list[tuple[str, str, str, str | None]]:
    """Raise alerts and record requests in the county; return (code, name, level, parent)."""
    engine = make_sync_engine(world.url)
    try:
        populate_alerts(engine)
        evaluate(engine)
        add_appeals(engine, 7, region="511599100201", category="pension", state="accepted")
        add_appeals(engine, 6, region="511599100202", category="pension", state="answered")
        add_appeals(engine, 2, region="511599100202", category="employment", state="closed")
        add_appeals(engine, 8, region="511599200201", category="pension", state="forwarded")
        with engine.connect() as conn:
            rows = conn.execute(select(G.code, G.name, G.level, G.parent_code)).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2], r[3]) for r in rows if r[2] in LEVELS]


def _sections(page: str, region: str, names: dict[str, str]) -> dict[tuple[str, str, str], str]:
    """Return (table, region, column) -> shown value of the worklist tables of one dashboard page."""
    out: dict[tuple[str, str, str], str] = {}
    for sid in ("alerts", "appeals", "appeal-states"):
        section = page.split(f'<section class="card" id="{sid}">', 1)[1].split("</section>", 1)[0]
        heads = re.findall(r"<th>([^<]*)</th>", section.split("</thead>", 1)[0])[1:]
        rows = ROW.findall(section.split("</thead>", 1)[1])
        if sid == "appeal-states":  # one row per state of the region, then the total
            for label, cells in rows:
                column = "total" if label == "合计" else label
                out[(sid, region, column)] = CELL.findall(cells)[0]
            continue
        for label, cells in rows:
            code = region if label == "合计" else names[label]
            for column, value in zip([*heads[:-1], "total"], CELL.findall(cells), strict=True):
                out[(sid, code, column)] = value
    return out


@pytest.mark.parametrize("client", CLIENTS)
def test_no_dashboard_view_combination_pins_a_worklist_cell(
    world: World, gazetteer: list[tuple[str, str, str, str | None]], client: str
) -> None:
    names = {name: code for code, name, _, _ in gazetteer}
    department, mine, scopes = world.clients[client]
    engine = make_sync_engine(world.url)
    try:  # the client's department, region and scopes, as a person signing in to the dashboard
        person = register_staff(
            engine, department=department, region_code=mine or "511599000000", scopes=scopes
        )
    finally:
        engine.dispose()
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    assert world.tc.post("/dashboard/signin", data=person.form()).status_code == 200
    for code, _, level, _ in gazetteer:
        if mine is not None and not in_subtree(code, mine):
            continue
        for group in ("township", "village"):
            if LEVELS[group] < LEVELS[level]:
                continue
            r = world.tc.get("/dashboard/", params={"region": code, "level": group})
            assert r.status_code == 200 and 'id="alerts"' in r.text, r.text[:300]
            for key, value in _sections(r.text, code, names).items():
                seen[key].add(value)
    world.tc.cookies.clear()
    pinned = [f"{key} shown differently: {values}" for key, values in seen.items() if len(values) > 1]
    # Equations: each column of each table over the hierarchy, and each row's columns sum to its total.
    variables = sorted(seen)
    index = {v: i for i, v in enumerate(variables)}
    children: dict[str, list[str]] = defaultdict(list)
    for code, _, _, parent in gazetteer:
        if parent in {c for c, _, _, _ in gazetteer}:
            children[parent].append(code)
    rows = []
    for table, region, column in variables:
        kids = [(table, kid, column) for kid in children.get(region, [])]
        if kids and all(k in index for k in kids):
            rows.append([(index[(table, region, column)], 1)] + [(index[k], -1) for k in kids])
        if column == "total":
            parts = [v for v in variables if v[:2] == (table, region) and v[2] != "total"]
            rows.append([(index[(table, region, column)], 1)] + [(index[p], -1) for p in parts])
    bounds: list[tuple[float, float | None]] = []
    for v in variables:
        shown = next(iter(seen[v]))
        bounds.append(
            (1.0, K - 1.0) if shown == f"&lt;{K}" else (float(K), None) if shown == "*"
            else (float(shown), float(shown))
        )  # fmt: skip
    hidden = {v: index[v] for v in variables if next(iter(seen[v])) in (f"&lt;{K}", "*")}
    assert len(hidden) >= 4
    for key, (lo, hi) in solve_ranges(len(variables), rows, bounds, hidden).items():
        if hi - lo < 1 - 1e-6:
            pinned.append(f"{key} shown {next(iter(seen[key]))}: feasible [{lo:g}, {hi:g}]")
    assert not pinned, "\n".join(pinned)
