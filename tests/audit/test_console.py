"""The auditor console in headless Chromium against a real server: sign in, filter, a resident, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from tests.audit.support import make_key
from tests.auth.helpers import ALL_READ_SCOPES, auth_settings, register, register_staff
from tests.conftest import skip_or_fail
from tests.support import factories
from tests.support.browser import assert_renders_chinese, chromium_available, offline_page, sign_in
from tests.support.callers import Staff
from tests.support.live import LiveServer


@pytest.mark.browser
def test_console_end_to_end(sqlite_url: str, tmp_path: Path) -> None:
    if not chromium_available():
        skip_or_fail("/usr/bin/chromium is not installed (apt-get install chromium)")
    from store.engines import make_sync_engine

    engine: Engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    residents = [factories.add_resident(engine, region_code="511599100201").id for _ in range(3)]
    reader_id, reader_secret = register(
        engine, scopes=[s for s in ALL_READ_SCOPES if s not in ("audit:read", "disclosures:read")]
    )
    other_id, other_secret = register(engine, department="human_resources")
    auditor = register_staff(engine, scopes=["audit:read"], department="county_audit")
    make_key(tmp_path)
    app = create_app(
        auth_settings(sqlite_url, audit_key_file=tmp_path / "audit-key.pem", audit_checkpoint_every=3)
    )
    with LiveServer(app) as live:
        _read_as(
            live.url, clients=[(reader_id, reader_secret), (other_id, other_secret)], residents=residents
        )
        with offline_page() as (page_obj, blocked):
            page: Any = page_obj
            _sign_in_and_overview(page, url=live.url + "/audit/", auditor=auditor)
            _filter_and_open_resident(page, resident=residents[0])
            _export_csv(page)
        assert blocked.urls == []
    engine.dispose()


def _read_as(url: str, *, clients: list[tuple[str, str | None]], residents: list[str]) -> None:
    """Read every resident once as each client (HR's reads are refused)."""
    for cid, secret in clients:
        tok = httpx.post(
            url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret or "")
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {tok}", "X-Purpose": "social-assistance-review"}
        for rid in residents:
            httpx.get(f"{url}/v1/residents/{rid}", headers=headers)


def _sign_in_and_overview(page: Any, *, url: str, auditor: Staff) -> None:
    """Refuse a wrong password, then sign in and see the checkpoint, the charts and a strict cookie."""
    sign_in(page, url, username=auditor.account, password="wrong", code=auditor.code())
    assert "不正确" in page.content()
    sign_in(page, url, username=auditor.account, password=auditor.password, code=auditor.code())
    page.wait_for_selector("#events")
    assert "通过" in page.inner_text("#cp-result")
    assert_renders_chinese(page)
    assert page.locator("svg.chart").count() == 2  # accesses, denials
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "xz_audit")
    assert session["httpOnly"] and session["sameSite"] == "Strict"


def _filter_and_open_resident(page: Any, *, resident: str) -> None:
    """Filter by department, then open a resident's disclosure history."""
    # Filter by department: only that department's rows remain.
    page.fill("#department", "human_resources")
    page.click("#apply")
    page.wait_for_load_state()
    depts = page.locator("#events tbody tr td:nth-child(5)").all_inner_texts()
    assert depts and set(depts) == {"human_resources"}
    # Open a resident's disclosure history from the civil-affairs reads (HR's were refused).
    page.fill("#department", "civil_affairs")
    page.click("#apply")
    page.wait_for_load_state()
    page.click(f"a.resident:text('{resident}')")
    page.wait_for_selector("#disclosures")
    rows = page.locator("#disclosures tbody tr td:nth-child(3)").all_inner_texts()
    assert rows == ["民政"]  # the department's label (its code in the cell's title)


def _export_csv(page: Any) -> None:
    """Export the filtered view as CSV: a header and the three civil-affairs reads."""
    page.go_back()
    with page.expect_download() as info:
        page.click("#export-csv")
    csv_text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("seq,time,kind") and len(lines) == 1 + 3
    assert all(",civil_affairs," in line for line in lines[1:])
