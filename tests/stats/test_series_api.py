"""GET /v1/stats/series: kept snapshots as series, the same cells as that day's /v1/stats; the snapshot
command and the worker's monthly snapshot, both audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.cli import app as cli
from gateway.commands.stats import monthly_pass
from gateway.settings import get_settings
from schemas.codes import Tag
from schemas.time import today_cn
from store.engines import make_sync_engine
from tests.audit.support import make_key
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.stats.data import COUNTY, QINGSHAN, TOWN_QS, TOWN_SM, ZHULIN, populate, snapshot
from tests.support import factories

PROBLEM = "application/problem+json"
OLD = dt.date(1950, 1, 1)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """The populated county on SQLite."""
    eng = make_sync_engine(sqlite_url)
    factories.county(eng)
    populate(eng)
    yield eng
    eng.dispose()


def _client(
    url: str, engine: Engine, region: str = COUNTY, scopes: tuple[str, ...] = ("statistics:read",)
) -> TestClient:
    client_id, secret = register(engine, scopes=list(scopes), region_code=region)
    assert secret is not None
    tc = TestClient(create_app(auth_settings(url)), raise_server_exceptions=False)
    tc.__enter__()
    tc.headers["Authorization"] = f"Bearer {fetch_token(tc, client_id, secret)}"
    return tc


def test_series_follows_the_snapshots_with_the_cells_of_their_day(sqlite_url: str, engine: Engine) -> None:
    snapshot(sqlite_url, dt.date(2026, 10, 1))
    for _ in range(4):  # 竹林村: 2 -> 6 living alone
        factories.add_resident(
            engine, region_code=ZHULIN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE]
        )
    snapshot(sqlite_url, dt.date(2026, 11, 1))
    today = today_cn()
    snapshot(sqlite_url, today)
    tc = _client(sqlite_url, engine)
    try:
        params = {
            "table": "elderly_living_alone",
            "region": TOWN_QS,
            "from": "2026-10",
            "to": today.strftime("%Y-%m"),
        }
        r = tc.get("/v1/stats/series", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["region_name"] == "青山镇" and body["level"] == "village"
        points = body["points"]
        assert [p["period"] for p in points] == ["2026-10", "2026-11", today.strftime("%Y-%m")]
        october, november = points[0]["table"], points[1]["table"]
        assert [x["count"] for x in october["rows"]] == ["*", "<5"] and october["total"] == 8
        # 青山村 is still 6: published now, it would give October's 竹林村 (8 - 6 = 2) away. It stays
        # hidden, and 竹林村's 6 with it; the total's change (+4) would be 竹林村's, so it is hidden too.
        assert [x["count"] for x in november["rows"]] == ["*", "*"] and november["total"] == "*"
        # Today's point is today's release: exactly what /v1/stats publishes.
        now = tc.get("/v1/stats", params={"region": TOWN_QS}).json()
        assert points[-1]["table"] == now["elderly_living_alone"] and points[-1]["as_of"] == now["as_of"]
        # Other tables, regions and levels come from the same snapshots.
        r = tc.get(
            "/v1/stats/series",
            params={
                "table": "migrant_workers",
                "region": COUNTY,
                "level": "township",
                "from": "2026-11",
                "to": "2026-11",
            },
        )
        assert r.status_code == 200 and [p["as_of"] for p in r.json()["points"]] == ["2026-11-01"]
        assert r.json()["points"][0]["table"]["provinces"] == ["广东省", "浙江省", "未登记"]
        # The default window is the twelve months up to this one.
        r = tc.get("/v1/stats/series", params={"table": "left_behind_children"})
        assert r.status_code == 200 and r.json()["region"] == COUNTY and len(r.json()["points"]) >= 2
    finally:
        tc.__exit__(None, None, None)


def test_series_errors_are_problems(sqlite_url: str, engine: Engine) -> None:
    other_id, other_secret = register(engine, scopes=["residents:read"], region_code=COUNTY)
    tc = _client(sqlite_url, engine, region=TOWN_SM)
    try:
        base = {"table": "elderly_living_alone"}
        cases = [
            ({**base, "from": "2026-11", "to": "2026-10"}, 400),
            ({**base, "from": "2016-01", "to": "2026-10"}, 400),
            ({**base, "from": "2026-13"}, 422),
            ({**base, "to": "2026-1"}, 422),
            ({"region": TOWN_SM}, 422),
            ({"table": "residents"}, 422),
            ({**base, "region": TOWN_QS}, 403),
            ({**base, "region": "511599200201", "level": "township"}, 400),
        ]
        for params, status in cases:
            r = tc.get("/v1/stats/series", params=params)
            assert r.status_code == status, (params, r.text)
            assert r.headers["content-type"].startswith(PROBLEM), r.headers
        assert tc.get("/v1/stats/series", params=base).json()["points"] == []
        assert other_secret is not None
        token = fetch_token(tc, other_id, other_secret)
        r = tc.get("/v1/stats/series", params=base, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    finally:
        tc.__exit__(None, None, None)


def _cli_events(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM audit_event WHERE method = 'CLI' ORDER BY seq")).all()
    return [orjson.loads(bytes(r[0])) for r in rows]


def test_snapshot_command_and_monthly_snapshot_are_kept_and_audited(
    sqlite_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_key(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("GATEWAY_AUDIT_KEY_FILE", str(tmp_path / "audit-key.pem"))
    monkeypatch.setenv("GATEWAY_OPERATOR", "李娜")
    get_settings.cache_clear()
    try:
        # The worker's pass keeps this month's snapshot of every county once.
        assert asyncio.run(monthly_pass(get_settings())) == [COUNTY]
        assert asyncio.run(monthly_pass(get_settings())) == []
        runner = CliRunner()
        out = runner.invoke(cli, ["stats", "snapshot", "--region", COUNTY])
        assert out.exit_code == 0, out.output
        assert f"kept {COUNTY} 示范县 as of {today_cn().isoformat()}" in out.stdout
        out = runner.invoke(cli, ["stats", "list"])
        assert out.exit_code == 0 and today_cn().isoformat() in out.stdout
        assert runner.invoke(cli, ["stats", "snapshot", "--region", QINGSHAN]).exit_code == 2
    finally:
        get_settings.cache_clear()
    events = _cli_events(engine)
    assert [(e["route"], e["record_ids"]) for e in events] == [
        ("stats snapshot", [COUNTY]),
        ("stats snapshot", [COUNTY]),
        ("stats list", []),
    ]
    assert events[0]["details"]["monthly"] is True  # type: ignore[index]
    assert events[1]["details"]["operator"] == "李娜"  # type: ignore[index]
    assert events[1]["client_id"] == f"cli:{getpass.getuser()}"
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT root, kept FROM stats_release")).all()
    assert [(r[0], bool(r[1])) for r in kept] == [(COUNTY, True)]  # one release a day, kept


def test_one_release_a_day_even_when_another_process_stored_it_first(sqlite_url: str, engine: Engine) -> None:
    """The CLI kept today's release; a sync adds people; the server still serves the stored release."""
    snapshot(sqlite_url, today_cn())
    for _ in range(5):
        factories.add_resident(
            engine, region_code=ZHULIN, birth_date=OLD, tags=[Tag.ELDERLY, Tag.LIVING_ALONE]
        )
    tc = _client(sqlite_url, engine)
    try:
        body = tc.get("/v1/stats", params={"region": TOWN_QS}).json()
        assert body["elderly_living_alone"]["total"] == 8  # not 13: the day's release was taken
    finally:
        tc.__exit__(None, None, None)
