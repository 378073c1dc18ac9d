"""The dashboard's quality page in headless Chromium: a department's held-back records by reason over time,
the records to correct with their CSV download, what was released after correction; screenshot kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.sdk.runner import run_connectors
from gateway.app import create_app
from store.engines import make_sync_engine
from tests.auth.helpers import Staff, auth_settings, register_staff
from tests.conftest import skip_or_fail
from tests.support import factories
from tests.support.browser import assert_renders_chinese, chromium_available, offline_page
from tests.support.browser import sign_in as staff_sign_in
from tests.support.civil import CivilDb, make_id
from tests.support.live import LiveServer

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
GOOD, FIXED = make_id("19700101", 51), make_id("19710101", 52)


def mistyped(number: str) -> str:
    """Return the number with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Staff]]]:
    """Serve a store where civil affairs sent two mistyped IDs and corrected one; yield staff accounts."""
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    civil = CivilDb(tmp_path / "civil.sqlite")
    civil.person("A", GOOD, name="王五")
    civil.person("B", mistyped(FIXED), name="李四", hh="H2")
    civil.person("C", "5115991970", name="张七", hh="H3")  # digits missing: to correct at the source
    source = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))
    assert run_connectors(engine, [source], today=dt.date(2026, 11, 1)).ok
    civil.person("B", FIXED, name="李四", hh="H2")
    assert run_connectors(engine, [source], today=dt.date(2026, 11, 2)).ok
    clients = {}
    for name, department, scopes in (
        ("steward", "civil_affairs", ["quarantine:read"]),
        ("both", "civil_affairs", ["quarantine:read", "statistics:read"]),
        ("stats", "civil_affairs", ["statistics:read"]),
    ):
        clients[name] = register_staff(engine, department=department, scopes=scopes)
    engine.dispose()
    with LiveServer(create_app(auth_settings(sqlite_url))) as server:
        yield server, clients


def sign_in(page: Any, url: str, person: Staff) -> None:
    """Sign in to the dashboard as a staff account (password and TOTP code)."""
    staff_sign_in(
        page, url + "/dashboard/", username=person.account, password=person.password, code=person.code()
    )


def test_quality_page_in_the_browser(live: tuple[LiveServer, dict[str, Staff]]) -> None:
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    server, clients = live
    with offline_page() as (page, blocked):
        page: Any
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, server.url, clients["steward"])  # no statistics: straight to the quality page
        page.wait_for_selector("#quality-civil_affairs", timeout=20_000)
        assert page.url.endswith("/dashboard/quality")
        section = page.locator("#quality-civil_affairs")
        assert "民政" in section.locator("h2").inner_text()
        assert "身份证号码校验不通过" in section.locator("svg text.label").all_text_contents()
        days = section.locator("table.by-day")
        assert days.locator("thead th").all_inner_texts() == ["日期", "身份证号码校验不通过"]
        assert days.locator("tbody tr").count() == 1 and days.locator("tbody td").nth(1).inner_text() == "2"
        to_correct = section.locator("table.to-correct tbody tr")
        assert to_correct.count() == 1 and to_correct.nth(0).inner_text().startswith("C\t")
        released = section.locator("table.released tbody tr")
        assert released.count() == 1 and released.nth(0).inner_text().startswith("B\t")
        assert "更正后已重新采用(1 条)" in section.inner_text()
        with page.expect_download() as download:
            section.locator("a.download").click()
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        lines = text.splitlines()
        assert lines[0].startswith("record_key,reason") and len(lines) == 2
        assert lines[1].startswith("C,invalid_id,")
        assert_renders_chinese(page, "#quality-civil_affairs")
        SHOTS.mkdir(exist_ok=True)
        section.screenshot(path=str(SHOTS / "dashboard-quality.png"))
        page.click("text=退出")
        sign_in(page, server.url, clients["both"])  # statistics and quality: a link between the pages
        page.wait_for_selector("a.nav", timeout=20_000)
        page.click("a.nav")
        page.wait_for_selector("#quality-civil_affairs", timeout=20_000)
        page.click("text=退出")
        sign_in(page, server.url, clients["stats"])
        page.wait_for_selector("select[name=region]", timeout=20_000)
        assert page.locator("a.nav").count() == 0
        page.goto(server.url + "/dashboard/quality")
        assert "quarantine:read" in page.locator(".error").inner_text()
        assert blocked.urls == []
