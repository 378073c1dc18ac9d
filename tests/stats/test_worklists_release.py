"""The dashboard's worklist tables are cut from the daily release: a cell shows the same in every view, so
a township's table minus a village asked alone (or the county's table by township) recovers nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gateway.app import create_app
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings, register_staff
from tests.support import factories
from tests.support.alerts import add_appeals, evaluate, populate

COUNTY, TOWN = "511599000000", "511599100000"
QINGSHAN, ZHULIN, SHIMEN = "511599100201", "511599100202", "511599200201"
ROW = re.compile(r'<tr class="village-row"><td>([^<]+)</td>(.*?)</tr>', re.DOTALL)
CELL = re.compile(r"<td>([^<]*)</td>")


def _tables(page: str) -> dict[str, dict[str, list[str]]]:
    """Return section id -> region name -> its cells (row total last), and "合计" -> the total row."""
    out = {}
    for sid in ("alerts", "appeals"):
        section = page.split(f'<section class="card" id="{sid}">', 1)[1].split("</section>", 1)[0]
        rows = {name: CELL.findall(cells) for name, cells in ROW.findall(section)}
        foot = section.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0] if "<tfoot>" in section else ""
        rows["合计"] = CELL.findall(foot)
        out[sid] = rows
    return out


def test_a_worklist_cell_shows_the_same_in_every_view(sqlite_url: str) -> None:
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    evaluate(engine)
    add_appeals(engine, 7, region=QINGSHAN, category="pension", state="accepted")
    add_appeals(engine, 6, region=ZHULIN, category="pension", state="answered")
    add_appeals(engine, 2, region=ZHULIN, category="employment", state="closed")
    add_appeals(engine, 8, region=SHIMEN, category="pension", state="forwarded")
    person = register_staff(engine, department="county", region_code=COUNTY)
    engine.dispose()
    with TestClient(create_app(auth_settings(sqlite_url))) as c:
        assert c.post("/dashboard/signin", data=person.form()).status_code == 200
        town = _tables(c.get("/dashboard/", params={"region": TOWN}).text)
        by_township = _tables(c.get("/dashboard/", params={"region": COUNTY, "level": "township"}).text)
        by_village = _tables(c.get("/dashboard/", params={"region": COUNTY, "level": "village"}).text)
        alone = {
            name: _tables(c.get("/dashboard/", params={"region": code}).text)
            for code, name in ((QINGSHAN, "青山村"), (ZHULIN, "竹林村"))
        }
    for sid in ("alerts", "appeals"):
        for name, view in alone.items():
            assert view[sid][name] == town[sid][name], (sid, name)  # the village asked alone
            assert view[sid]["合计"] == town[sid][name], (sid, name)
            # The county by village: asked live per view, 青山村's 7 was hidden here but shown in its
            # township's table, and the county's pension column then gave 竹林村's 6, hence its 2.
            assert by_village[sid][name] == town[sid][name], (sid, name)
        assert by_township[sid]["青山镇"] == town[sid]["合计"], sid  # the township in the county's table
    # 竹林村's 2 employment requests are below 5 everywhere, never a number.
    assert "2" not in alone["竹林村"]["appeals"]["竹林村"]
