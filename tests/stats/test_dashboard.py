"""The village dashboard in a browser with no internet: staff sign-in with TOTP, rows, charts, "<5",
the region's name, Beijing time, and the print view for a village meeting (A4, black and white)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from schemas.time import CHINA
from tests.auth.helpers import Staff, auth_settings, register_staff
from tests.conftest import skip_or_fail
from tests.stats.data import QINGSHAN, TOWN_QS, populate
from tests.support import factories
from tests.support.browser import (
    assert_renders_chinese,
    chromium_available,
    dashboard_sign_in,
    offline_page,
    tofu,
)
from tests.support.live import LiveServer

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
A4_WIDTH = 794  # 210 mm at 96 px per inch


@pytest.fixture
def live_county(sqlite_url: str) -> Iterator[tuple[LiveServer, Staff]]:
    """Serve the populated county for real; yield the server and a township staff account."""
    from store.engines import make_sync_engine

    engine: Engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    person = register_staff(engine, department="township", region_code=TOWN_QS)
    engine.dispose()
    with LiveServer(create_app(auth_settings(sqlite_url))) as server:
        yield server, person


def _beijing_minutes() -> set[str]:
    """Return this minute and the last one in Beijing time (a page rendered just before the minute turned)."""
    now = dt.datetime.now(CHINA)
    return {(now - dt.timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in (0, 1)}


def test_dashboard_signs_in_with_totp_and_prints_for_a_village_meeting(
    live_county: tuple[LiveServer, Staff], page_and_blocked: tuple[Any, Any]
) -> None:
    live, person = live_county
    page, blocked = page_and_blocked
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live.url + "/dashboard/")
    assert page.locator("#totp").get_attribute("autocomplete") == "one-time-code"
    assert_renders_chinese(page, ".signin")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-signin.png"))
    dashboard_sign_in(page, live.url, person)
    page.wait_for_selector("svg.chart", timeout=20_000)
    assert "村级数据看板" in page.locator("h1").inner_text()
    assert page.locator(".account .region").inner_text() == "青山镇"  # the region's name, not its code
    clock = page.locator(".account .clock").inner_text()
    assert clock.removeprefix("北京时间 ") in _beijing_minutes()
    rows = page.locator("#table-1 tr.village-row")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("青山村")
    assert "竹林村\t<5" in rows.nth(1).inner_text()
    chart = page.locator("#table-1 svg.chart")
    assert chart.locator("rect.bar").count() == 2 and "<5" in chart.text_content()
    assert page.locator("svg.chart").count() == 5 + 3  # and the worklists: alerts, requests, their states
    assert_renders_chinese(page)
    # The session lives in an HttpOnly, SameSite=Strict cookie that no script can read.
    cookie = next(c for c in page.context.cookies() if c["name"] == "xz_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    # The print view: same tables, A4 width, black bars on white, no forms; Beijing time of printing.
    page.click("#print-link")
    page.wait_for_selector("body.print-view svg.chart", timeout=10_000)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_WIDTH, "height": 1123})
    head = page.locator(".print-head").inner_text()
    assert "青山镇" in head and any(f"北京时间 {m}" in head for m in _beijing_minutes())
    assert page.locator("form").count() == 0 and page.locator(".no-print").is_hidden()
    style = "(s) => getComputedStyle(document.querySelector(s))"
    assert page.evaluate(f"({style})('svg.chart rect.bar:not(.hidden)').fill") == "rgb(0, 0, 0)"
    assert page.evaluate(f"({style})('svg.chart rect.bar.hidden').stroke") == "rgb(0, 0, 0)"
    assert page.evaluate(f"({style})('body').backgroundColor") in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_WIDTH  # nothing cut at the margin
    assert page.locator("#table-1 tr.village-row").count() == 2
    assert_renders_chinese(page, ".print-head")
    page.screenshot(path=str(SHOTS / "dashboard-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") <= 6
    page.emulate_media(media="screen")
    page.goto(live.url + "/dashboard/")
    # The region selector: a village of the person's township.
    page.select_option("select[name=region]", QINGSHAN)
    page.click(".picker button")
    page.wait_for_selector("#table-1 tr.village-row", timeout=10_000)
    assert page.locator("#table-1 tr.village-row").count() == 1
    page.click(".account button")
    page.wait_for_selector("#totp", timeout=10_000)
    assert blocked.urls == []


def test_dashboard_refuses_bad_factors_and_foreign_regions(live_county: tuple[LiveServer, Staff]) -> None:
    live, person = live_county
    r = httpx.post(live.url + "/dashboard/signin", data=person.form(password="nope"))
    assert r.status_code == 401 and "不正确" in r.text
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/dashboard/signin", data=person.form())
        assert r.status_code == 303
        r = c.get("/dashboard/", params={"region": "511599200000"})
        assert r.status_code == 403 and "管辖范围" in r.text
        r = c.get("/dashboard/print", params={"region": "511599200000"})
        assert r.status_code == 403 and "管辖范围" in r.text
        r = c.get("/dashboard/")
        assert r.status_code == 200 and "青山镇" in r.text
        assert "default-src 'none'" in r.headers["content-security-policy"]


def test_the_glyph_check_sees_tofu_on_a_machine_without_cjk_fonts(
    live_county: tuple[LiveServer, Staff],
) -> None:
    """With only DejaVu (no CJK font) the dashboard's Chinese is drawn as boxes, and the check says so."""
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    live, _person = live_county
    with offline_page(fonts_dir="/usr/share/fonts/truetype/dejavu") as (page, _blocked):
        page.goto(live.url + "/dashboard/")
        shown, boxes = tofu(page, "h1")
        assert shown >= 4 and len(boxes) == shown
        with pytest.raises(AssertionError, match="missing glyphs"):
            assert_renders_chinese(page)


def test_the_header_names_the_region_and_twin_villages_carry_their_township(sqlite_url: str) -> None:
    """The header shows the person's region by name; two 竹林村 are told apart by township, 青山村 is not."""
    from fastapi.testclient import TestClient

    from store.engines import make_sync_engine

    engine: Engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    factories.add_region(engine, "511599200202", "竹林村", parent="511599200000")  # a second 竹林村
    populate(engine)
    person = register_staff(engine, department="county", region_code="511599000000")
    village = register_staff(engine, department="village", region_code=QINGSHAN)
    engine.dispose()
    with TestClient(create_app(auth_settings(sqlite_url))) as c:
        assert c.post("/dashboard/signin", data=person.form()).status_code == 200
        page = c.get("/dashboard/", params={"region": "511599000000", "level": "village"}).text
        printed = c.get("/dashboard/print", params={"region": "511599000000", "level": "village"}).text
        c.post("/dashboard/signout")
        # A village's staff sees their own village only.
        assert c.post("/dashboard/signin", data=village.form()).status_code == 200
        own = c.get("/dashboard/").text
        township = c.get("/dashboard/", params={"region": TOWN_QS})
    assert '<span class="region">示范县</span>' in page and "511599000000 " not in page
    assert "竹林村(青山镇)" in page and "竹林村(石门乡)" in page
    assert "青山村(" not in page and ">青山村<" in page
    assert "竹林村(青山镇)" in printed and "示范县" in printed
    assert '<span class="region">青山村</span>' in own and own.split('name="level"')[0].count("<option ") == 1
    assert township.status_code == 403
