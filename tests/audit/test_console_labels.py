"""The auditor console in the auditor's language (headless Chromium against a real server): Chinese labels
from the catalogue, purposes and registry, Beijing time to the second, denial reasons as a table and a
chart, a legend of seven departments uncut, its own page views hidden until asked, ingest keys apart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, update

from gateway.app import create_app
from gateway.audit.console.labels import reason_label
from gateway.auth.clients import create_client
from gateway.web.pages import beijing
from store.engines import make_sync_engine
from store.tables.auth import OAuthClientRow
from tests.audit.support import make_key
from tests.auth.helpers import auth_settings, register_staff
from tests.conftest import skip_or_fail
from tests.support import factories
from tests.support.browser import chromium_available, offline_page, sign_in
from tests.support.live import LiveServer

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
READ = ["residents:read"]
# (client id, registered name, department, scopes)
CLIENTS = [
    ("mz", "县民政局社会救助系统", "civil_affairs", [*READ, "ingest:civil_affairs"]),
    ("rs", "县人社局社保系统", "hr", READ),
    ("xc", "县融媒体中心", "publicity", READ),
    ("qs", "青山镇人民政府", "township", READ),
    ("dbz", "青山村便民服务站", "village_service", READ),
    ("jy", "县教育局", "education", READ),
    ("ws", "县卫健局", "health", ["notices:read"]),
    ("sj", "县审计局", "audit", ["audit:read"]),
]


def _register(engine: Engine) -> dict[str, str]:
    secrets = {}
    for cid, name, dept, scopes in CLIENTS:
        record, secret = create_client(
            engine, name=name, department=dept, subsystem="t", scopes=scopes, region_code="511599000000"
        )
        with engine.begin() as conn:
            table = OAuthClientRow.__table__  # type: ignore[attr-defined]
            conn.execute(update(table).where(table.c.client_id == record.client_id).values(client_id=cid))
        assert secret is not None
        secrets[cid] = secret
    return secrets


def _traffic(url: str, secrets: dict[str, str], resident: str) -> None:
    def get(cid: str, path: str, purpose: str | None = "social-assistance-review") -> None:
        tok = httpx.post(
            url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secrets[cid])
        )
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        if purpose:
            headers["X-Purpose"] = purpose
        httpx.get(url + path, headers=headers)

    for cid in ("mz", "rs", "xc", "qs", "dbz", "jy"):
        get(cid, f"/v1/residents/{resident}")  # allowed for 民政; 人社 not for this purpose; others no grant
    get("mz", f"/v1/residents/{resident}", purpose=None)  # no purpose
    get("rs", f"/v1/residents/{resident}", purpose="pension-eligibility")  # allowed: HR's own purpose
    get("ws", f"/v1/residents/{resident}")  # no residents:read scope
    tok = httpx.post(
        url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=("mz", secrets["mz"])
    )
    row = {"JMID": "MZ900", "XM": "孙八", "SFZHM": "", "XB": "1", "CSRQ": "19800101", "MZ": "01", "HH": "H9",
           "YHZGX": "02", "XZQHDM": "511599100201", "HJDZ": "青山村", "LXDH": "", "RYZT": "1",
           "GXSJ": "2026-11-02 09:30:00"}  # fmt: skip
    r = httpx.post(
        url + "/v1/ingest/civil_affairs",
        json={"T_HJ_JMXX": [row]},
        headers={"Authorization": f"Bearer {tok.json()['access_token']}", "Idempotency-Key": "push-0001"},
    )
    assert r.status_code == 200, r.text


def test_reason_labels_cover_the_policys_denials() -> None:
    assert reason_label("residents holds personal data: state a purpose in X-Purpose (PIPL Art. 6)") == (
        "未说明用途(X-Purpose)"
    )
    assert reason_label("no grant gives client rs access to residents") == "无访问授权"
    assert (
        reason_label("no grant for purpose 'statistics' on residents; granted purposes: x")
        == "该用途未获授权"
    )
    assert reason_label("consent C1 was withdrawn (PIPL Art. 15)") == "居民授权不适用"
    assert reason_label("http-403") == "权限范围不足"
    assert reason_label("allowed by civil-affairs-residents") == "依授权 civil-affairs-residents"
    assert beijing("2026-11-01T16:30:05.123456Z") == "2026-11-02 00:30:05"


def test_console_speaks_chinese(sqlite_url: str, tmp_path: Path) -> None:
    if not chromium_available():
        skip_or_fail("/usr/bin/chromium is not installed (apt-get install chromium)")
    engine = make_sync_engine(sqlite_url)
    factories.county(engine)
    resident = factories.add_resident(engine, region_code="511599100201", name="王建国").id
    secrets = _register(engine)
    auditor = register_staff(engine, scopes=["audit:read"], department="audit")
    make_key(tmp_path)
    settings = auth_settings(
        sqlite_url, audit_key_file=tmp_path / "audit-key.pem", sources_config=tmp_path / "none.yaml"
    )
    with LiveServer(create_app(settings)) as live:
        _traffic(live.url, secrets, resident)
        with offline_page() as (page_obj, blocked):
            page: Any = page_obj
            page.set_viewport_size({"width": 1400, "height": 1000})
            url = live.url + "/audit/"
            sign_in(page, url, username=auditor.account, password=auditor.password, code=auditor.code())
            page.wait_for_selector("#events")
            page.goto(live.url + "/audit/")  # a second console view: hidden all the same
            page.wait_for_selector("#events")
            _check_rows(page, resident=resident)
            _check_denials_and_legend(page)
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "audit-console.png"), full_page=True)
            page.check("#show-console")
            page.click("#apply")
            page.wait_for_selector("#events")
            routes = page.locator("#events tbody tr td:nth-child(7)").all_inner_texts()
            assert any(r.startswith("GET /audit/") for r in routes)
            assert blocked.urls == []
    engine.dispose()


def _check_rows(page: Any, *, resident: str) -> None:
    """Check the event rows: Beijing time, Chinese labels, console views hidden, ingest keys apart."""
    rows = page.locator("#events tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    # Beijing time to the second: no T, no zone, no microseconds.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", c[1]) for c in cells), cells[:2]
    allowed = next(
        c for c in cells if c[9] == "允许" and c[6].startswith("GET /v1/residents/") and c[4] == "民政"
    )
    assert allowed[3] == "县民政局社会救助系统" and allowed[5] == "社会救助审核" and "姓名" in allowed[8]
    assert allowed[2] == "数据访问" and allowed[10].startswith("依授权")
    assert {c[4] for c in cells} >= {
        "民政",
        "人社",
        "宣传",
        "乡镇",
        "村便民服务站",
        "education",
        "health",
    }
    # The console's own page views are left out until asked for.
    assert not [c for c in cells if c[6].startswith("GET /audit/")]
    # An ingest's record keys are the source's, shown as such, never linked as residents.
    ingest = page.locator("#events tbody tr", has=page.locator("span.source-keys"))
    assert ingest.count() == 1 and "civil_affairs:MZ900" in ingest.inner_text()
    assert page.locator("a.resident", has_text="civil_affairs:").count() == 0
    assert page.locator(f"a.resident:text('{resident}')").count() >= 1


def _check_denials_and_legend(page: Any) -> None:
    """Check the denial reasons' table and chart, and the legend of seven departments inside the chart."""
    # Denial reasons: a table and a bar chart by reason.
    table = dict(tuple(r.split("\t")) for r in page.locator("#denial-table tbody tr").all_inner_texts())
    assert table["无访问授权"] == "4" and table["未说明用途(X-Purpose)"] == "1"
    assert table["权限范围不足"] == "1" and table["该用途未获授权"] == "1"
    assert page.locator("#denials svg.chart text.label").count() == len(table)
    # The legend names all seven departments, in Chinese, each inside the chart.
    legend = page.evaluate(
        """() => { const svg = document.querySelector('section svg.chart');
           const w = svg.viewBox.baseVal.width;
           return [...svg.querySelectorAll('g.legend text')].map(t => {
             const b = t.getBBox(); return [t.textContent, b.x >= 0 && b.x + b.width <= w]; }); }"""
    )
    names = [n for n, _ in legend]
    assert len(names) == 7 and "民政" in names and "村便民服务站" in names
    assert all(inside for _, inside in legend), legend
