"""The village dashboard renders in a browser with no internet: sign in, rows, charts, "<5"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from tests.auth.helpers import auth_settings, register
from tests.conftest import skip_or_fail
from tests.stats.data import TOWN_QS, populate
from tests.support import factories
from tests.support.browser import assert_renders_chinese, chromium_available, offline_page, tofu
from tests.support.live import LiveServer


@pytest.fixture
def live_county(sqlite_url: str) -> Iterator[tuple[LiveServer, str, str]]:
    """Serve the populated county for real; yield the server and a township client's credentials."""
    from gateway.db import make_sync_engine

    engine: Engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    populate(engine)
    client_id, secret = register(engine, scopes=["statistics:read"], region_code=TOWN_QS)
    engine.dispose()
    assert secret is not None
    with LiveServer(create_app(auth_settings(sqlite_url))) as server:
        yield server, client_id, secret


@pytest.fixture
def page_and_blocked() -> Iterator[tuple[Any, Any]]:
    """Yield an offline Chromium page, or skip (fail in CI) without Chromium."""
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    with offline_page() as pair:
        yield pair


def test_dashboard_signs_in_and_charts_the_villages_offline(
    live_county: tuple[LiveServer, str, str], page_and_blocked: tuple[Any, Any]
) -> None:
    live, client_id, secret = live_county
    page, blocked = page_and_blocked
    page.goto(live.url + "/dashboard/")
    assert "村级数据看板" in page.locator("h1").inner_text()
    assert_renders_chinese(page)
    page.fill("input[name=client_id]", client_id)
    page.fill("input[name=client_secret]", secret)
    page.click("button[type=submit]")
    page.wait_for_selector("svg.chart", timeout=20_000)
    rows = page.locator("#table-1 tr.village-row")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("青山村")
    assert "竹林村\t<5" in rows.nth(1).inner_text()
    chart = page.locator("#table-1 svg.chart")
    assert chart.locator("rect.bar").count() == 2 and "<5" in chart.text_content()
    assert page.locator("svg.chart").count() == 5 + 3  # and the worklists: alerts, requests, their states
    assert_renders_chinese(page, "#table-1")
    # The token lives in an HttpOnly, SameSite=Strict cookie that no script can read.
    cookie = next(c for c in page.context.cookies() if c["name"] == "xz_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""
    # The region selector: a village of the caller's township.
    page.select_option("select[name=region]", "511599100201")
    page.click(".picker button")
    page.wait_for_selector("#table-1 tr.village-row", timeout=10_000)
    assert page.locator("#table-1 tr.village-row").count() == 1
    page.click(".account button")
    page.wait_for_selector("input[name=client_id]", timeout=10_000)
    assert blocked.urls == []


def test_dashboard_refuses_bad_credentials_and_foreign_regions(
    live_county: tuple[LiveServer, str, str],
) -> None:
    live, client_id, secret = live_county
    r = httpx.post(live.url + "/dashboard/signin", data={"client_id": client_id, "client_secret": "nope"})
    assert r.status_code == 401 and "不正确" in r.text
    with httpx.Client(base_url=live.url) as c:
        r = c.post("/dashboard/signin", data={"client_id": client_id, "client_secret": secret})
        assert r.status_code == 303
        r = c.get("/dashboard/", params={"region": "511599200000"})
        assert r.status_code == 403 and "管辖范围" in r.text
        r = c.get("/dashboard/")
        assert r.status_code == 200 and "青山镇" in r.text
        assert "default-src 'none'" in r.headers["content-security-policy"]


def test_the_glyph_check_sees_tofu_on_a_machine_without_cjk_fonts(
    live_county: tuple[LiveServer, str, str],
) -> None:
    """With only DejaVu (no CJK font) the dashboard's Chinese is drawn as boxes, and the check says so."""
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    live, _client_id, _secret = live_county
    with offline_page(fonts_dir="/usr/share/fonts/truetype/dejavu") as (page, _blocked):
        page.goto(live.url + "/dashboard/")
        shown, boxes = tofu(page, "h1")
        assert shown >= 4 and len(boxes) == shown
        with pytest.raises(AssertionError, match="missing glyphs"):
            assert_renders_chinese(page)


def test_the_header_names_the_region_and_twin_villages_carry_their_township(sqlite_url: str) -> None:
    """The header shows the caller's region by name; two 竹林村 are told apart by township, 青山村 is not."""
    from fastapi.testclient import TestClient

    from gateway.db import make_sync_engine

    engine: Engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    factories.add_region(engine, "511599200202", "竹林村", parent="511599200000")  # a second 竹林村
    populate(engine)
    client_id, secret = register(engine, scopes=["statistics:read"], region_code="511599000000")
    engine.dispose()
    with TestClient(create_app(auth_settings(sqlite_url))) as c:
        assert (
            c.post("/dashboard/signin", data={"client_id": client_id, "client_secret": secret}).status_code
            == 200
        )
        page = c.get("/dashboard/", params={"region": "511599000000", "level": "village"}).text
    assert '<span class="region">示范县</span>' in page and "511599000000 " not in page
    assert "竹林村(青山镇)" in page and "竹林村(石门乡)" in page
    assert "青山村(" not in page and ">青山村<" in page
