"""The department samples end to end: every record ends in the store or in quarantine as expected.json says.

One full sync of the five sources (HR over HTTP from the fake server on 127.0.0.1) into a fresh SQLite
store, then every person and every held-back record of samples/expected.json is checked, with the
quirks of docs/sources.md one by one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from connectors.demo import county_sources
from connectors.demo.fake_hr import FakeHrServer
from connectors.sdk.config import config_from_dict
from connectors.sdk.runner import SyncReport, run_sync
from connectors.sdk.testing import snapshot, stored
from gateway import migrate
from schemas.models import Employment, Enrollment, Migration, Notice, Resident
from store.engines import make_sync_engine
from tests.connectors.conftest import HR_KEY

TODAY = dt.date(2026, 11, 1)
KIND_OF_JZLX = {
    "01": "minimum_living_allowance",
    "02": "extreme_poverty_support",
    "03": "temporary_assistance",
    "04": "disability_subsidy",
    "05": "old_age_allowance",
}


def sample_config(samples: Path, hr_url: str) -> Any:
    """Return the sources config of the samples."""
    sources = county_sources(samples, hr_url=hr_url, hr_key_env="TEST_HR_KEY", page_size=50)
    return config_from_dict(sources, env={"TEST_HR_KEY": HR_KEY})


@pytest.fixture(scope="module")
def synced(
    samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, SyncReport, Any]]:
    """Sync the samples once into a fresh store; yield the engine, the report and the config."""
    engine = make_sync_engine(f"sqlite:///{tmp_path_factory.mktemp('samples') / 'gateway.db'}")
    migrate.upgrade(engine)
    with FakeHrServer(samples / "hr_api", api_key=HR_KEY) as hr:
        config = sample_config(samples, hr.url)
        report = run_sync(engine, config=config, today=TODAY)
        yield engine, report, config
    engine.dispose()


@pytest.fixture(scope="module")
def expected(samples: Path) -> dict[str, Any]:
    """Return samples/expected.json."""
    return json.loads((samples / "expected.json").read_text(encoding="utf-8"))


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    """Run a query."""
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def residents(engine: Engine) -> dict[str | None, Resident]:
    """Return every served resident by citizen ID (needs_review ones by id), validated as Resident."""
    out: dict[str | None, Resident] = {}
    for (doc,) in rows(engine, "SELECT doc FROM resident"):
        res = Resident.model_validate_json(doc)
        out[res.national_id or res.id] = res
    return out


def test_every_source_synced(synced: tuple[Engine, SyncReport, Any]) -> None:
    """All five sources ran to the end, with the counts the samples hold."""
    _, report, _ = synced
    by = {s.source: s for s in report.sources}
    assert report.ok, [s.error for s in report.sources]
    assert [s.source for s in report.sources] == [
        "gazetteer",
        "civil_affairs",
        "hr_api",
        "hr_migrant_register",
        "publicity",
    ]
    assert by["gazetteer"].read == 14
    assert by["civil_affairs"].read == 289 + 54 + 5
    assert by["hr_api"].read == 173 + 4
    assert by["hr_migrant_register"].read == 46 + 50  # September, October
    assert by["publicity"].read == 33


def test_held_back_records_as_expected(
    synced: tuple[Engine, SyncReport, Any], expected: dict[str, Any]
) -> None:
    """Each held-back record of expected.json is quarantined with its reason; missing_id is kept apart."""
    engine = synced[0]
    open_rows = {
        (s, k): (reason, raw)
        for s, k, reason, raw in rows(
            engine, "SELECT source, record_key, reason, raw FROM quarantine WHERE released_at IS NULL"
        )
    }
    held = {(h["source"], h["key"]): h["reason"] for h in expected["held_back"]}
    for (source, key), reason in held.items():
        if reason == "missing_id":
            assert (source, key) not in open_rows
            (rid,) = rows(
                engine,
                "SELECT resident_id FROM resident_source WHERE source=:s AND record_key=:k",
                s=source,
                k=key,
            )[0]
            res = Resident.model_validate_json(
                rows(engine, "SELECT doc FROM resident WHERE id=:r", r=rid)[0][0]
            )
            assert (
                res.needs_review
                and res.national_id is None
                and [t.value for t in res.tags] == ["needs_review"]
            )
            assert len(rows(engine, "SELECT 1 FROM resident_source WHERE resident_id=:r", r=rid)) == 1
        else:
            assert open_rows.get((source, key), (None,))[0] == reason, (source, key)
    # Anything else held back is an enrolment of a person held back: it waits for it (issue 16).
    for (source, key), (reason, raw) in open_rows.items():
        if (source, key) in held:
            continue
        assert reason == "resident_held_back", (source, key, reason)
        assert held.get((source, orjson.loads(raw)["JMID"])) == "invalid_id"


def test_every_record_ends_in_store_or_quarantine(
    synced: tuple[Engine, SyncReport, Any], samples: Path
) -> None:
    """Every row, item and line of every sample file is stored or quarantined."""
    engine = synced[0]
    db = sqlite3.connect(samples / "civil_affairs.sqlite")
    keys = [("person", k) for (k,) in db.execute("SELECT JMID FROM T_HJ_JMXX")]
    keys += [("enrollment", k) for (k,) in db.execute("SELECT DBID FROM T_JZ_DBXX")]
    keys += [("service", k) for (k,) in db.execute("SELECT SXBM FROM T_FW_FWSX")]
    db.close()
    checks = [("civil_affairs", kind, key) for kind, key in keys]
    for page in sorted((samples / "hr_api").glob("persons_page*.json")):
        items = orjson.loads(page.read_bytes())["data"]["items"]
        checks += [("hr_api", "person", i["personId"]) for i in items]
    for f in sorted(samples.glob("hr_migrant_register_*.csv")):
        lines = f.read_bytes().decode("gbk").splitlines()[1:]
        checks += [
            ("hr_migrant_register", "person", f"{f.name}#{line.split(',')[0]}") for line in lines if line
        ]
    quarantine = {
        (s, k) for s, k in rows(engine, "SELECT source, record_key FROM quarantine WHERE released_at IS NULL")
    }
    missing = [c for c in checks if not stored(engine, c[0], c[1], c[2]) and (c[0], c[2]) not in quarantine]
    assert not missing
    assert len(checks) == 348 + 173 + 96


def test_every_resident_matches_expected(
    synced: tuple[Engine, SyncReport, Any], expected: dict[str, Any]
) -> None:
    """Name, sex, birth date, region, household, status, linked sources, employment, migration, benefits."""
    engine = synced[0]
    served = residents(engine)
    linked = {
        rid: sorted(
            {s for (s,) in rows(engine, "SELECT source FROM resident_source WHERE resident_id=:r", r=rid)}
        )
        for rid in (r.id for r in served.values())
    }
    households = dict(rows(engine, "SELECT id, household_no FROM household"))
    migrations = {
        r: Migration.model_validate_json(d) for r, d in rows(engine, "SELECT resident_id, doc FROM migration")
    }
    benefits: dict[str, list[Enrollment]] = {}
    for (doc,) in rows(engine, "SELECT doc FROM enrollment WHERE source = 'civil_affairs'"):
        e = Enrollment.model_validate_json(doc)
        benefits.setdefault(e.resident_id, []).append(e)
    # needs_review now also flags people only HR lists (status unconfirmed, issue 16): count by ID.
    assert len([r for r in served.values() if r.national_id is not None]) == len(expected["residents"]) == 295
    for want in expected["residents"]:
        got = served[want["national_id"]]
        _check_person(got, want=want, households=households, linked=linked)
        _check_trip_benefits_phones(engine, got, want=want, migrations=migrations, benefits=benefits)


def _check_person(
    got: Resident, *, want: dict[str, Any], households: dict[Any, Any], linked: dict[str, list[str]]
) -> None:
    """Check a resident's name, sex, birth, region, household, status, linked sources and employment."""
    where = want["national_id"]
    assert got.name == want["name"], where
    assert got.sex is not None and got.sex.value == want["sex"], where
    assert str(got.birth_date) == want["birth_date"], where
    assert got.region_code == want["region_code"], where
    assert households.get(got.household_id) == want["household"], where
    if want["status"] is None:  # known to HR only: served active, naming HR, not authoritative
        mark = got.provenance["status"]
        assert got.status.value == "active" and mark.source != "civil_affairs", where
        assert not mark.authoritative and got.needs_review, where
    else:
        assert got.status.value == want["status"], where
    assert linked[got.id] == want["linked_sources"], where
    want_job = want.get("employment_status")
    assert (got.employment_status.value if got.employment_status else None) == (
        want_job.lower() if want_job else None
    ), where


def _check_trip_benefits_phones(
    engine: Engine,
    got: Resident,
    *,
    want: dict[str, Any],
    migrations: dict[Any, Migration],
    benefits: dict[str, list[Enrollment]],
) -> None:
    """Check a resident's migration, civil-affairs benefits and the phones the sources disagree on."""
    where = want["national_id"]
    trip = migrations.get(got.id)
    if want.get("migrant"):
        assert trip is not None, where
        assert (trip.work_province, trip.work_city) == (
            want["migrant"]["work_province"],
            want["migrant"]["work_city"],
        ), where
    else:
        assert trip is None, where
    have = sorted(
        (e.kind.value, f"{e.amount_monthly:.2f}", e.status.value == "active")
        for e in benefits.get(got.id, [])
    )
    assert have == sorted(
        (KIND_OF_JZLX[b["type"]], b["amount"], b["receiving"])
        for b in want.get("civil_affairs_benefits") or []
    ), where
    for source, phone in (want.get("phones_differ") or {}).items():
        values = {
            s: orjson.loads(v)
            for s, v in rows(
                engine, 'SELECT source, "values" FROM resident_source WHERE resident_id=:r', r=got.id
            )
        }
        assert values[source]["phone"] == phone and values["civil_affairs"]["phone"] != phone, where
        assert got.provenance["phone"].source in values, where


def _source_values(engine: Engine, source: str, key: str) -> dict[str, Any]:
    (raw,) = rows(
        engine, 'SELECT "values" FROM resident_source WHERE source=:s AND record_key=:k', s=source, k=key
    )[0]
    return dict(orjson.loads(raw))


def test_id_quirks(synced: tuple[Engine, SyncReport, Any]) -> None:
    """A 15-digit number is upgraded; a lowercase x is upper-cased; a bad check character is held back."""
    engine = synced[0]
    assert _source_values(engine, "civil_affairs", "MZ00000045")["national_id"] == "511599194311285460"
    assert _source_values(engine, "civil_affairs", "MZ00000014")["national_id"] == "51159919610105644X"
    assert (
        _source_values(engine, "hr_migrant_register", "hr_migrant_register_2026-09.csv#41")["national_id"]
        == "511599197903251057"
    )  # 15 digits in the register too
    reasons = dict(rows(engine, "SELECT record_key, reason FROM quarantine"))
    assert reasons["MZ00000148"] == reasons["RS0000228"] == "invalid_id"
    assert reasons["hr_migrant_register_2026-09.csv#38"] == "unrecoverable_id"
    assert reasons["hr_migrant_register_2026-10.csv#38"] == "unrecoverable_id"


def test_name_and_phone_quirks(synced: tuple[Engine, SyncReport, Any]) -> None:
    """Spaces (ASCII and U+3000) trimmed, middle dots unified, full-width digits folded, 无 is no phone."""
    engine = synced[0]
    assert _source_values(engine, "civil_affairs", "MZ00000004")["name"] == "叶军宇"
    assert _source_values(engine, "civil_affairs", "MZ00000015")["phone"] == "15035720339"
    assert _source_values(engine, "civil_affairs", "MZ00000002")["phone"] == "18101774749"
    assert "phone" not in _source_values(engine, "civil_affairs", "MZ00000157")
    names = [orjson.loads(v).get("name", "") for (v,) in rows(engine, 'SELECT "values" FROM resident_source')]
    dotted = [n for n in names if "拉则" in n or "阿呷" in n or "依作" in n or "阿果" in n]
    assert dotted and all("·" in n and "•" not in n and "." not in n for n in dotted)
    assert all(n == n.strip(" \u3000") for n in names)


def test_village_quirks(synced: tuple[Engine, SyncReport, Any]) -> None:
    """A blank 村代码 is resolved by name in the county; an unknown village is held back."""
    engine = synced[0]
    assert _source_values(engine, "hr_migrant_register", "hr_migrant_register_2026-09.csv#1")[
        "region_code"
    ] == ("511599101201")
    reasons = dict(rows(engine, "SELECT record_key, reason FROM quarantine"))
    assert (
        reasons["hr_migrant_register_2026-09.csv#26"]
        == reasons["hr_migrant_register_2026-09.csv#33"]
        == ("unknown_village")
    )


def test_later_month_wins(synced: tuple[Engine, SyncReport, Any]) -> None:
    """The October row wins over September's; when October's row is held back, September's stands."""
    engine = synced[0]
    served = residents(engine)
    trips = {
        r: Migration.model_validate_json(d) for r, d in rows(engine, "SELECT resident_id, doc FROM migration")
    }
    first = trips[served["51159919880421137X"].id]
    assert (first.work_city, first.record_key) == ("东莞市", "hr_migrant_register_2026-10.csv#1")
    assert str(first.left_on) == "2020-04-02" and str(first.registered_on) == "2026-10-17"
    kept = trips[served["511599199711293673"].id]
    assert (kept.work_city, kept.record_key) == ("宁波市", "hr_migrant_register_2026-09.csv#35")
    back = trips[served["511599199211176905"].id]  # came back in June 2025
    assert str(back.returned_on) == "2025-06-11"
    month_only = trips[served["511599199212171129"].id]  # 2024.3
    assert str(month_only.left_on) == "2024-03-01"


def test_status_quirks(synced: tuple[Engine, SyncReport, Any]) -> None:
    """Deceased and moved-out residents keep their status and get no derived tags."""
    engine = synced[0]
    statuses = Counter(r.status.value for r in residents(engine).values())
    assert statuses["deceased"] == 10 and statuses["moved_out"] == 4
    for res in residents(engine).values():
        if res.status.value != "active":
            assert res.tags == [], res.id


def test_benefit_amounts_and_dates(synced: tuple[Engine, SyncReport, Any]) -> None:
    """JE, KSRQ/JSRQ and ZT become amount_monthly, start/end and status."""
    engine = synced[0]
    docs = {
        k: Enrollment.model_validate_json(d)
        for k, d in rows(engine, "SELECT record_key, doc FROM enrollment")
    }
    stopped = docs["DB00000001"]
    assert (stopped.kind.value, str(stopped.amount_monthly), stopped.status.value) == (
        "old_age_allowance",
        "100.00",
        "stopped",
    )
    assert (str(stopped.start), str(stopped.end)) == ("2021-11-05", "2022-08-17")
    open_ended = docs["DB00000006"]
    assert (open_ended.kind.value, str(open_ended.amount_monthly), open_ended.end) == (
        "minimum_living_allowance",
        "615.00",
        None,
    )
    pension = docs["RS0000001/EMPLOYEE_PENSION"]
    assert pension.department.value == "hr" and pension.source == "hr_api"
    jobs = [Employment.model_validate_json(d) for (d,) in rows(engine, "SELECT doc FROM employment")]
    assert len(jobs) == 147 and all(j.source == "hr_api" for j in jobs)  # expected.json: 147 with a status


def test_tags(synced: tuple[Engine, SyncReport, Any], expected: dict[str, Any]) -> None:
    """Derived tags follow their rules, in the document and in resident_tag alike."""
    engine = synced[0]
    served = residents(engine)
    tag_rows: dict[str, set[str]] = {}
    for rid, tag in rows(engine, "SELECT resident_id, tag FROM resident_tag"):
        tag_rows.setdefault(rid, set()).add(tag)
    for res in served.values():
        assert {t.value for t in res.tags} == tag_rows.get(res.id, set()), res.id
    for want in expected["residents"]:
        res = served[want["national_id"]]
        if res.status.value != "active":
            continue
        tags = {t.value for t in res.tags}
        born = dt.date.fromisoformat(want["birth_date"])
        age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
        assert ("elderly" in tags) == (age >= 60), res.id
        receiving = {b["type"] for b in want.get("civil_affairs_benefits") or [] if b["receiving"]}
        assert ("low_income" in tags) == bool(receiving & {"01", "02"}), res.id
        assert ("disabled" in tags) == ("04" in receiving), res.id
        if want.get("employment_status") == "MIGRANT":
            assert "migrant_worker" in tags, res.id


def test_notices_sanitised_and_edited(synced: tuple[Engine, SyncReport, Any]) -> None:
    """No script, handler, javascript: URL, frame or remote image survives; an edit replaces in place."""
    engine = synced[0]
    notices = {n: Notice.model_validate_json(d) for n, d in rows(engine, "SELECT id, doc FROM notice")}
    assert len(notices) == 30
    for notice in notices.values():
        lowered = notice.body_html.lower()
        for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<img", "alert("):
            assert bad not in lowered, (notice.id, bad)
    edited = notices["notice-00000"]
    assert "（已更新）" in edited.body_html and edited.body_text.endswith("（已更新）")
    assert edited.published_at == dt.datetime(2026, 7, 13, 23, 0, tzinfo=dt.UTC)
    assert notices["notice-00003"].expires_at == dt.datetime(2026, 8, 13, 1, 0, tzinfo=dt.UTC)
    assert notices["notice-00001"].expires_at is None
    regions = {(n, r) for n, r in rows(engine, "SELECT notice_id, region_code FROM notice_region")}
    assert ("notice-00002", "511599000000") in regions and len(regions) == 30
    assert [a.value for a in notices["notice-00003"].audiences] == ["everyone", "migrant_workers"]


def test_second_sync_changes_nothing(synced: tuple[Engine, SyncReport, Any]) -> None:
    """A re-run with no source change reports nothing created or updated and writes nothing served."""
    engine, _, config = synced
    before = snapshot(engine)
    with FakeHrServer(Path(config.section("gazetteer")["path"]).parent / "hr_api", api_key=HR_KEY) as hr:
        config.sections["hr_api"]["base_url"] = hr.url
        report = run_sync(engine, config=config, today=TODAY)
    assert report.ok
    for s in report.sources:
        assert (s.source, s.created, s.updated) == (s.source, 0, 0)
    assert (
        report.refresh is not None
        and report.refresh.residents_created == report.refresh.residents_updated == 0
    )
    assert snapshot(engine) == before


def _comparable(engine: Engine) -> dict[str, dict[str, Any]]:
    """Return served residents by citizen ID without the random ids and sync times."""
    out = {}
    for res in residents(engine).values():
        doc = res.model_dump(mode="json", exclude={"id", "household_id", "updated_at"})
        out[res.national_id or f"review:{res.name}"] = doc
    return out


@pytest.mark.postgres
def test_postgresql_store_gives_the_same_result(
    synced: tuple[Engine, SyncReport, Any], pg_url: str, samples: Path
) -> None:
    """The same sync into PostgreSQL serves the same residents, and a re-run changes nothing there."""
    engine = make_sync_engine(pg_url)
    try:
        with FakeHrServer(samples / "hr_api", api_key=HR_KEY) as hr:
            config = sample_config(samples, hr.url)
            assert run_sync(engine, config=config, today=TODAY).ok
            before = snapshot(engine)
            again = run_sync(engine, config=config, today=TODAY)
        assert again.ok and all((s.created, s.updated) == (0, 0) for s in again.sources)
        assert snapshot(engine) == before
        assert _comparable(engine) == _comparable(synced[0])
    finally:
        engine.dispose()
