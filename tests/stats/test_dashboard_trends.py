"""The dashboard's trends in headless Chromium: monthly snapshots drawn as lines, protected counts as gaps
with the same cells as the API, Chinese without missing glyphs, every legend entry whole; screenshot kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from schemas.codes import Tag
from schemas.time import today_cn
from store.engines import make_sync_engine
from tests.auth.helpers import Staff, auth_settings, fetch_token, register, register_staff
from tests.conftest import skip_or_fail
from tests.stats.data import QINGSHAN, TOWN_QS, ZHULIN, populate, snapshot
from tests.support import factories
from tests.support.browser import assert_renders_chinese, chromium_available, dashboard_page
from tests.support.live import LiveServer

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
OLD = dt.date(1950, 1, 1)
# Long names: the legend must wrap, not cut (a township with more villages than one legend row holds).
EXTRA = [
    (f"511599100{210 + i}", name) for i, name in enumerate(["白鹤岭村", "金沙河社区", "上游新村", "凤凰山村"])
]


@pytest.fixture
def live(sqlite_url: str) -> Iterator[tuple[LiveServer, str, str, Staff]]:
    """Serve a township whose county was snapshotted three times as it changed."""
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    for code, name in EXTRA:
        factories.add_region(engine, code, name, parent=TOWN_QS)
    populate(engine)
    for code, _ in EXTRA:
        for _ in range(5):
            factories.add_resident(
                engine, region_code=code, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE]
            )
    snapshot(sqlite_url, dt.date(2026, 9, 1))
    for _ in range(3):
        factories.add_resident(
            engine, region_code=ZHULIN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE]
        )
    snapshot(sqlite_url, dt.date(2026, 10, 1))
    for _ in range(2):
        factories.add_resident(
            engine, region_code=QINGSHAN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE]
        )
    snapshot(sqlite_url, today_cn())
    client_id, secret = register(engine, scopes=["statistics:read"], region_code=TOWN_QS)
    person = register_staff(engine, department="township", region_code=TOWN_QS)
    engine.dispose()
    assert secret is not None
    with LiveServer(create_app(auth_settings(sqlite_url))) as server:
        yield server, client_id, secret, person


def test_trends_are_drawn_with_gaps_for_protected_counts_and_whole_legends(
    live: tuple[LiveServer, str, str, Staff],
) -> None:
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    server, client_id, secret, person = live
    token = fetch_token_live(server.url, client_id, secret)
    api = httpx.get(
        server.url + "/v1/stats/series",
        params={"table": "elderly_living_alone", "region": TOWN_QS, "from": "2026-09"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    with dashboard_page(server.url, person, width=1100) as (page, blocked):
        page: Any
        page.wait_for_selector("#trends svg.trend", timeout=20_000)
        block = page.locator("#trend-elderly_living_alone")
        heads = block.locator("thead th").all_inner_texts()
        assert heads == ["区域", "2026-09", "2026-10", today_cn().strftime("%Y-%m")]
        rows = block.locator("tr.trend-row").all_inner_texts()
        # The page shows the API's cells, month by month: hidden counts stay hidden.
        shown = {r.split("\t")[0]: r.split("\t")[1:] for r in rows}
        for i, point in enumerate(api["points"]):
            for row in point["table"]["rows"]:
                assert shown[row["name"]][i] == str(row["count"]), (row, shown)
            assert shown["合计"][i] == str(point["table"]["total"])
        assert "<5" in shown["竹林村"][0]
        # One line per region and the total; a legend entry for each, none cut at the chart's edge.
        svg = block.locator("svg.trend")
        labels = svg.locator("text.legend-label").all_text_contents()
        assert labels == list(shown)
        assert len(labels) == 2 + len(EXTRA) + 1
        edges = page.evaluate(
            """(sel) => { const s = document.querySelector(sel);
                 const w = s.viewBox.baseVal.width, h = s.viewBox.baseVal.height;
                 return [...s.querySelectorAll('text.legend-label')].map(t => {
                   const b = t.getBBox(); return [b.x, b.x + b.width, b.y + b.height, w, h]; }); }""",
            "#trend-elderly_living_alone svg.trend",
        )
        assert all(x >= 0 and right <= w and bottom <= h for x, right, bottom, w, h in edges), edges
        rows_of_legend = {
            round(y)
            for y in page.evaluate(
                "() => [...document.querySelectorAll('#trend-elderly_living_alone text.legend-label')]"
                ".map(t => t.getBBox().y)"
            )
        }
        assert len(rows_of_legend) >= 2  # it wrapped instead of running off the edge
        assert svg.locator("polyline.line").count() >= 3
        # The worklists are followed too (open alerts, requests), each region with its legend entry.
        for key in ("alerts", "appeals"):
            other = page.locator(f"#trend-{key} svg.trend text.legend-label").all_text_contents()
            assert other == labels, key
        assert_renders_chinese(page, "#trends")
        SHOTS.mkdir(exist_ok=True)
        page.locator("#trends").screenshot(path=str(SHOTS / "dashboard-trends.png"))
        assert blocked.urls == []


def fetch_token_live(url: str, client_id: str, secret: str) -> str:
    """Obtain a statistics token from the live server."""
    r = httpx.post(url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_the_dashboard_says_when_no_snapshot_exists(sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    client_id, secret = register(engine, scopes=["statistics:read"], region_code=TOWN_QS)
    person = register_staff(engine, department="township", region_code=TOWN_QS)
    engine.dispose()
    with TestClient(create_app(auth_settings(sqlite_url))) as c:
        c.post("/dashboard/signin", data=person.form())
        page = c.get("/dashboard/").text
        assert fetch_token(c, client_id, str(secret))
    assert "尚无统计快照" in page and "gateway stats snapshot" in page
