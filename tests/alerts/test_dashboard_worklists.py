"""The dashboard's worklist sections in headless Chromium: open alerts by rule and requests by category and
state, per village, small cells suppressed; Chinese text renders (no missing glyphs); screenshot kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from store.engines import make_sync_engine
from tests.auth.helpers import Staff, auth_settings, register_staff
from tests.conftest import skip_or_fail
from tests.support import factories
from tests.support.alerts import add_appeals, evaluate, populate
from tests.support.browser import chromium_available, dashboard_page
from tests.support.live import LiveServer

TOWN = "511599100000"
SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.fixture
def live(sqlite_url: str) -> Iterator[tuple[LiveServer, Staff]]:
    """Serve a township with raised alerts and recorded requests; yield its staff account."""
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    evaluate(engine)
    add_appeals(engine, 7, region="511599100201", category="pension", state="accepted")
    add_appeals(engine, 6, region="511599100202", category="pension", state="answered")
    add_appeals(engine, 2, region="511599100202", category="employment", state="closed")
    person = register_staff(engine, department="township", region_code=TOWN)
    engine.dispose()
    with LiveServer(create_app(auth_settings(sqlite_url))) as server:
        yield server, person


def test_worklists_per_village_suppressed_in_the_browser(live: tuple[LiveServer, Staff]) -> None:
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    server, person = live
    with dashboard_page(server.url, person, width=1280) as (page, blocked):
        page: Any
        page.wait_for_selector("#alerts table", timeout=20_000)
        alerts = page.locator("#alerts")
        heads = alerts.locator("thead th").all_inner_texts()
        assert "已故人员仍在享受救助待遇" in heads and "外出务工人员返乡" in heads
        rows = alerts.locator("tr.village-row")
        assert rows.count() == 2 and rows.nth(0).inner_text().startswith("青山村")
        # Every open item of 青山村 is a single case: counts below 5 are never shown as numbers.
        assert "<5" in rows.nth(0).inner_text() and "\t1\t" not in rows.nth(0).inner_text()
        appeals = page.locator("#appeals tr.village-row")
        assert appeals.nth(0).inner_text().split("\t")[0] == "青山村" and "7" in appeals.nth(0).inner_text()
        assert "<5" in appeals.nth(1).inner_text()  # 2 employment requests in 竹林村
        states = page.locator("#appeal-states tbody").inner_text()
        # 2 closed show as "<5"; with the total published, one more cell hides so 2 cannot be subtracted out.
        assert "已受理\t7" in states and "已办结\t<5" in states and "已答复\t*" in states
        # No glyph fell back to a box: each heading has ink width, not the tofu of a missing font.
        widths = page.evaluate(
            "() => [...document.querySelectorAll('#alerts thead th')].map(th => th.scrollWidth)"
        )
        assert all(w > 0 for w in widths)
        # Chart labels are never cut: each starts inside its chart.
        lefts = page.evaluate(
            "() => [...document.querySelectorAll('#alerts svg text.label')].map(t => t.getBBox().x)"
        )
        assert len(lefts) == 7 and min(lefts) >= 0
        SHOTS.mkdir(exist_ok=True)
        page.locator("#alerts").screenshot(path=str(SHOTS / "dashboard-worklists.png"))
        assert blocked.urls == []
