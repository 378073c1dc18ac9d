"""No record lost, none kept past its source: the defects of issue 16, one test each (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo.fake_hr import FakeHrServer
from connectors.demo.fake_hr_store import PersonStore
from connectors.hr_api.connector import HrApiConnector, HrApiSettings
from connectors.sdk.runner import SyncReport, run_connectors
from connectors.sdk.state import acquire_lease, new_holder
from gateway.app import create_app
from store.bulk import write_tx
from store.engines import make_sync_engine
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.connectors.conftest import HR_KEY, CivilDb, make_id
from tests.connectors.test_runner import one, served, tags

TODAY = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC)


@pytest.fixture
def civil(tmp_path: Path) -> CivilDb:
    """An empty civil-affairs database."""
    return CivilDb(tmp_path / "civil.sqlite")


@pytest.fixture(scope="module")
def hr() -> Any:
    """An HR API whose person items each test sets."""
    with FakeHrServer(PersonStore.from_items([]), api_key=HR_KEY, services=[]) as server:
        yield server


def hr_item(pid: str, nid: str, *, name: str = "张三", stamp: str = "2026-10-01T00:00:00Z") -> dict[str, Any]:
    """Return an HR person item with employment, an insurance and a phone."""
    return {
        "personId": pid,
        "idCardNo": nid,
        "name": name,
        "gender": "男",
        "birthDate": f"{nid[6:10]}-{nid[10:12]}-{nid[12:14]}",
        "phone": "13900000009",
        "employment": {"status": "MIGRANT", "employer": "某厂", "since": "2024-03"},
        "insurances": [{"type": "UNEMPLOYMENT", "status": "ACTIVE", "since": "2024-03-01"}],
        "updatedAt": stamp,
    }


def sync(
    engine: Engine, civil: CivilDb, hr: FakeHrServer | None = None, *, full: bool = False, days: int = 0
) -> SyncReport:
    """Sync civil affairs (and HR when given) once, `days` after NOW."""
    connectors: list[Any] = [CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))]
    if hr is not None:
        connectors.append(
            HrApiConnector(HrApiSettings(base_url=hr.url, api_key=SecretStr(HR_KEY), services=False))
        )
    now = NOW + dt.timedelta(days=days)
    report = run_connectors(engine, connectors, full=full, today=TODAY, now=now)
    assert report.ok, [s.error for s in report.sources]
    return report


def test_enrolment_survives_its_resident_held_back(store_engine: Engine, civil: CivilDb) -> None:
    """A typo holds the resident back; its enrolment waits in quarantine and returns with it, same id."""
    number = make_id("19700101", 11)
    civil.person("A", number)
    civil.benefit("D1", "A", kind="01")
    sync(store_engine, civil)
    rid = served(store_engine)[number].id
    civil.person("A", number[:17] + ("0" if number[17] != "0" else "1"))
    held = sync(store_engine, civil)
    assert number not in served(store_engine)
    assert one(store_engine, "SELECT reason FROM quarantine WHERE record_key = 'D1'") == "resident_held_back"
    assert one(store_engine, "SELECT COUNT(*) FROM enrollment") == 0
    assert held.sources[0].quarantined["invalid_id"] == 1
    civil.person("A", number)  # corrected; the enrolment row is not touched, so no incremental reads it
    sync(store_engine, civil)
    back = served(store_engine)[number]
    assert back.id == rid and "low_income" in tags(back)
    assert one(store_engine, "SELECT resident_id FROM enrollment WHERE record_key = 'D1'") == rid
    assert one(store_engine, "SELECT resolution FROM quarantine WHERE record_key = 'D1'") == "released"


@pytest.mark.backends
def test_civil_deletions_are_seen_by_an_incremental_sync(store_engine: Engine, civil: CivilDb) -> None:
    """Civil affairs lists its keys: a deleted resident, enrolment or head is withdrawn at once."""
    head, child = make_id("19600101", 21), make_id("19900101", 22)
    civil.person("A", head, hh="H1", relation="02")
    civil.person("B", child, hh="H1", relation="20")
    civil.benefit("D1", "B", kind="04")
    sync(store_engine, civil)
    assert "disabled" in tags(served(store_engine)[child])
    civil.db.execute("DELETE FROM T_JZ_DBXX WHERE DBID = 'D1'")
    civil.db.execute("DELETE FROM T_HJ_JMXX WHERE JMID = 'A'")
    report = sync(store_engine, civil)
    assert report.sources[0].withdrawn == 2
    assert head not in served(store_engine) and "disabled" not in tags(served(store_engine)[child])
    assert one(store_engine, "SELECT head_resident_id FROM household") is None
    assert report.refresh is not None and report.refresh.households_updated == 1
    civil.db.execute("DELETE FROM T_HJ_JMXX WHERE JMID = 'B'")
    sync(store_engine, civil)
    assert served(store_engine) == {} and one(store_engine, "SELECT COUNT(*) FROM household") == 0


def test_hr_deletions_are_seen_by_full_and_scheduled_reconciliation(
    store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """HR cannot list keys: a deleted HR person goes at --full, or at the next scheduled full pass."""
    number, other = make_id("19800101", 31), make_id("19810101", 32)
    civil.person("A", number)
    hr.store = PersonStore.from_items([hr_item("P1", number), hr_item("P2", other)])
    sync(store_engine, civil, hr)
    assert served(store_engine)[number].employment_status is not None
    hr.store = PersonStore.from_items([])
    sync(store_engine, civil, hr)  # within the day: incremental, HR cannot tell
    assert other in served(store_engine)
    sync(store_engine, civil, hr, full=True)
    kept = served(store_engine)[number]
    assert other not in served(store_engine)
    assert kept.employment_status is None and kept.phone == "13800000000"
    assert one(store_engine, "SELECT COUNT(*) FROM employment") == 0
    assert one(store_engine, "SELECT COUNT(*) FROM enrollment") == 0
    hr.store = PersonStore.from_items([hr_item("P2", other)])
    sync(store_engine, civil, hr)
    hr.store = PersonStore.from_items([])
    sync(store_engine, civil, hr, days=2)  # incremental, but a day since the last full pass
    assert other not in served(store_engine)


def test_civil_record_held_back_while_hr_knows_the_person(
    store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """Held back in civil affairs, known to HR: civil enrolments and tags go, the household too."""
    number = make_id("19700101", 41)
    civil.person("A", number, hh="H9")
    civil.benefit("D1", "A", kind="01")
    hr.store = PersonStore.from_items([hr_item("P1", number)])
    sync(store_engine, civil, hr)
    assert "low_income" in tags(served(store_engine)[number])
    civil.person("A", number[:17] + ("0" if number[17] != "0" else "1"))
    sync(store_engine, civil, hr)
    res = served(store_engine)[number]
    assert "low_income" not in tags(res) and res.household_id is None
    assert one(store_engine, "SELECT COUNT(*) FROM enrollment WHERE source = 'civil_affairs'") == 0
    assert one(store_engine, "SELECT COUNT(*) FROM household") == 0
    assert one(store_engine, "SELECT reason FROM quarantine WHERE record_key = 'D1'") == "resident_held_back"


@pytest.mark.backends
def test_a_dead_holder_on_this_host_is_taken_over(store_engine: Engine, civil: CivilDb) -> None:
    """A sync killed with kill -9 leaves its lease; the next sync on the host takes it over at once."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = new_holder().split(":")[0]
    with store_engine.connect() as conn, write_tx(conn) as s:
        acquire_lease(s, "civil_affairs", holder=f"{host}:{proc.pid}:dead", now=dt.datetime.now(dt.UTC))
    civil.person("A", make_id("19800101", 51))
    report = run_connectors(
        store_engine, [CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))], today=TODAY
    )
    summary = report.sources[0]
    assert summary.ok and any("took over" in n for n in summary.notes)
    assert one(store_engine, "SELECT COUNT(*) FROM sync_lock") == 0


@pytest.mark.backends
def test_a_live_holder_elsewhere_still_blocks(store_engine: Engine, civil: CivilDb) -> None:
    """A holder on another host (or alive here) is not taken over before its lease expires."""
    with store_engine.connect() as conn, write_tx(conn) as s:
        acquire_lease(s, "civil_affairs", holder="elsewhere:1:x", now=dt.datetime.now(dt.UTC))
        acquire_lease(s, "hr_api", holder=new_holder(), now=dt.datetime.now(dt.UTC))  # this very process
    report = run_connectors(
        store_engine, [CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))], today=TODAY
    )
    assert "already running" in (report.sources[0].error or "")
    assert "--break-lock civil_affairs" in (report.sources[0].error or "")


def test_first_sync_counts_superseded_copies_apart(sqlite_url: str, civil: CivilDb) -> None:
    """Two copies of one record in a pass: one created, one superseded, none 'unchanged'."""
    from connectors.sdk.sinks import BatchContext
    from connectors.sdk.sinks.entities import write_notices
    from schemas.models import Notice

    engine = make_sync_engine(sqlite_url)
    base = {
        "id": "n1",
        "title": "通知",
        "body_html": "<p>正文</p>",
        "body_text": "正文",
        "category": "policy",
        "audiences": ["everyone"],
        "regions": ["511599100201"],
        "published_at": "2026-10-01T00:00:00Z",
    }
    try:
        old = Notice.model_validate(base)
        new = Notice.model_validate({**base, "published_at": "2026-10-02T00:00:00Z"})
        with engine.connect() as conn, write_tx(conn) as store:
            ctx = BatchContext(store=store, source="publicity", department="publicity", now=NOW)
            write_notices(ctx, [({}, old), ({}, new)])
        assert (ctx.created, ctx.unchanged, ctx.superseded) == (1, 0, 1)
    finally:
        engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM notice")).scalar_one() == 1


def test_two_people_under_one_number_are_not_merged(
    store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """重号: HR's person under a civil resident's ID, other name and birth date, is held as id_conflict."""
    number = make_id("19700101", 61)
    civil.person("A", number, name="王五", birth="19700101")
    twin = {**hr_item("P9", number, name="重号者"), "birthDate": "2001-02-03"}
    hr.store = PersonStore.from_items([twin])
    sync(store_engine, civil, hr)
    res = served(store_engine)[number]
    assert res.name == "王五" and res.employment_status is None and res.needs_review
    assert "needs_review" in tags(res)
    assert one(store_engine, "SELECT reason FROM quarantine WHERE record_key = 'P9'") == "id_conflict"
    assert one(store_engine, "SELECT COUNT(*) FROM employment") == 0
    # HR corrects its record (same person after all): the conflict closes and the records merge.
    hr.store = PersonStore.from_items([hr_item("P9", number, name="王五", stamp="2026-10-02T00:00:00Z")])
    sync(store_engine, civil, hr)
    res = served(store_engine)[number]
    assert not res.needs_review and res.employment_status is not None
    assert one(store_engine, "SELECT resolution FROM quarantine WHERE record_key = 'P9'") == "released"


def test_status_known_only_to_hr_names_its_source_and_needs_review(
    store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """A person only HR lists is served active, with HR as the (non-authoritative) status source."""
    number = make_id("19850101", 71)
    hr.store = PersonStore.from_items([hr_item("P1", number)])
    sync(store_engine, civil, hr)
    res = served(store_engine)[number]
    mark = res.provenance["status"]
    assert res.status == "active" and mark.source == "hr_api" and mark.authoritative is False
    assert res.needs_review and "needs_review" in tags(res)
    civil.person("A", number)  # civil affairs confirms
    sync(store_engine, civil, hr)
    res = served(store_engine)[number]
    assert res.provenance["status"].source == "civil_affairs" and res.provenance["status"].authoritative
    assert not res.needs_review


def test_a_split_id_conflict_is_not_reopened(store_engine: Engine, civil: CivilDb, hr: FakeHrServer) -> None:
    """A steward's split stands: the clashing record stays out and its row stays closed."""
    number = make_id("19700101", 63)
    civil.person("A", number, name="王五", birth="19700101")
    hr.store = PersonStore.from_items([{**hr_item("P8", number, name="重号者"), "birthDate": "2001-02-03"}])
    sync(store_engine, civil, hr)
    with store_engine.connect() as conn:
        conn.execute(text("UPDATE quarantine SET released_at = last_seen, resolution = 'split'"))
        conn.execute(text("INSERT INTO sync_dirty (key) SELECT id FROM resident"))
        conn.commit()
    sync(store_engine, civil, hr, full=True)
    assert one(store_engine, "SELECT resolution FROM quarantine WHERE record_key = 'P8'") == "split"
    assert one(store_engine, "SELECT released_at IS NOT NULL FROM quarantine WHERE record_key = 'P8'")
    assert served(store_engine)[number].employment_status is None


@pytest.mark.backends
def test_a_long_pass_heartbeats_its_lease(store_engine: Engine, civil: CivilDb) -> None:
    """Between commits the sync renews its lease at least every HEARTBEAT, so it is never taken over."""
    from connectors.sdk.source_sync import SourceSync
    from connectors.sdk.summary import _Quiet

    connector = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))
    with store_engine.connect() as conn:
        run = SourceSync(conn, connector, now=NOW, progress=_Quiet())
        with write_tx(conn) as s:
            acquire_lease(s, "civil_affairs", holder=run.holder, now=NOW - dt.timedelta(hours=1))
        run._heartbeat()  # just started: no write
        assert one(store_engine, "SELECT expires_at FROM sync_lock") is not None
        before = one(store_engine, "SELECT expires_at FROM sync_lock")
        run.beat -= 3600
        run._heartbeat()
        after = one(store_engine, "SELECT expires_at FROM sync_lock")
    assert str(after) > str(before)


def test_break_lock_is_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """`gateway sync --break-lock SOURCE` removes the lease and leaves an admin event in the audit log."""
    from typer.testing import CliRunner

    from gateway.cli import app
    from gateway.settings import get_settings

    monkeypatch.setenv("GATEWAY_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    engine = make_sync_engine(sqlite_url)
    try:
        with engine.connect() as conn, write_tx(conn) as s:
            acquire_lease(s, "hr_api", holder="far-away:1:x", now=dt.datetime.now(dt.UTC))
        result = CliRunner().invoke(app, ["sync", "--break-lock", "hr_api"])
        assert result.exit_code == 0, result.output
        assert one(engine, "SELECT COUNT(*) FROM sync_lock") == 0
        assert (
            one(engine, "SELECT route FROM audit_event WHERE route = 'sync.break_lock'") == "sync.break_lock"
        )
    finally:
        engine.dispose()
        get_settings.cache_clear()


def log(engine: Engine) -> list[tuple[str, str, str | None]]:
    """Return (record id, change, event) of the resident entries of the change log, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT record_id, change, event FROM change_log WHERE resource = 'resident' ORDER BY seq")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_full_sync_withdraws_with_an_event_and_keeps_history(
    store_url: str, store_engine: Engine, civil: CivilDb, hr: FakeHrServer
) -> None:
    """HR deletes two people: each gets record.withdrawn; the HR-only one is then removed; the other
    keeps HR's phone in its provenance as history (withdrawn_at, never served)."""
    number, other = make_id("19800101", 41), make_id("19810101", 42)
    civil.person("A", number, phone="13800000000")
    hr.store = PersonStore.from_items([hr_item("P1", number), hr_item("P2", other)])
    sync(store_engine, civil, hr)
    rid, gone = served(store_engine)[number].id, served(store_engine)[other].id
    before = len(log(store_engine))
    hr.store = PersonStore.from_items([])
    sync(store_engine, civil, hr, full=True)
    after = log(store_engine)[before:]
    assert (rid, "updated", "record.withdrawn") in after and (gone, "updated", "record.withdrawn") in after
    assert after.index((gone, "updated", "record.withdrawn")) < after.index((gone, "removed", None))
    assert served(store_engine)[number].employment_status is None  # recomputed from what remains
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        client_id, secret = register(store_engine, scopes=["residents:read", "changes:read"])
        assert secret is not None
        h = {
            "Authorization": f"Bearer {fetch_token(c, client_id, secret)}",
            "X-Purpose": "social-assistance-review",
        }
        r = c.get(f"/v1/residents/{rid}/provenance", headers=h)
        assert r.status_code == 200, r.text
        phones: list[dict[str, Any]] = r.json()["fields"]["phone"]
        (current,) = [p for p in phones if p.get("withdrawn_at") is None]
        (history,) = [p for p in phones if p.get("withdrawn_at") is not None]
        assert current["served"] and current["value"] == "13800000000"
        assert history == {**history, "source": "hr_api", "record_key": "P1", "served": False, "rule": None}
        assert history["value"] == "13900000009"
        feed = c.get("/v1/changes", headers=h, params={"limit": 500}).json()["items"]
        events = {(i["id"], i["event"]) for i in feed}
        assert (rid, "record.withdrawn") in events and (gone, "record.withdrawn") in events
    with store_engine.connect() as conn:
        kept = conn.execute(text("SELECT resident_id, source, record_key FROM resident_source_history")).all()
    assert sorted(map(tuple, kept)) == sorted([(rid, "hr_api", "P1"), (gone, "hr_api", "P2")])
    assert orjson.loads(r.content)["id"] == rid
