"""No record lost, none kept past its source: incremental syncs, --full and a rebuild give one store.

A hypothesis state machine edits a small county (civil-affairs database and HR API) at random: ID typos
and corrections, moves, deaths, marriages, new and stopped enrolments, HR-only changes, deletions of
residents, enrolments and HR persons, and 重号 pairs (two people under one citizen ID). After every step
three stores are synced: one incrementally, one with --full, one rebuilt from scratch; their served
content (residents, tags, households, enrolments, employment, migration, open quarantine) must be equal.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pydantic import SecretStr
from sqlalchemy import Engine, text

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo.fake_hr import FakeHrServer
from connectors.demo.fake_hr_store import PersonStore
from connectors.hr_api.connector import HrApiConnector, HrApiSettings
from connectors.sdk.runner import run_connectors
from gateway import migrate
from store.engines import make_sync_engine
from tests.connectors.conftest import HR_KEY, CivilDb, make_id
from tests.support.stores import fresh_pg

TODAY = dt.date(2026, 11, 1)
NAMES = ("王五", "李四", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊")


def canonical(engine: Engine) -> dict[str, Any]:
    """Return the served content of a store with its random ids replaced by source keys."""
    with engine.connect() as conn:
        sources: dict[str, list[str]] = {}
        for rid, source, key in conn.execute(
            text("SELECT resident_id, source, record_key FROM resident_source")
        ):
            sources.setdefault(rid, []).append(f"{source}:{key}")
        label = {rid: "|".join(sorted(keys)) for rid, keys in sources.items()}
        households = {hid: no for hid, no in conn.execute(text("SELECT id, household_no FROM household"))}

        def who(rid: str | None) -> str | None:
            return None if rid is None else label.get(rid, f"orphan:{rid in label}")

        residents = {}
        for rid, doc in conn.execute(text("SELECT id, doc FROM resident")):
            body = orjson.loads(doc)
            body.pop("id"), body.pop("updated_at", None)
            body["household_id"] = households.get(body["household_id"], body["household_id"])
            body["tags"] = sorted(body["tags"])
            residents[who(rid)] = body
        enrollments = {}
        for eid, doc in conn.execute(text("SELECT id, doc FROM enrollment")):
            body = orjson.loads(doc)
            body["resident_id"] = who(body["resident_id"])
            enrollments[eid] = body
        details = {}
        for table in ("employment", "migration"):
            for rid, source, doc in conn.execute(text(f"SELECT resident_id, source, doc FROM {table}")):
                body = orjson.loads(doc)
                body["resident_id"] = who(rid)
                details[(table, who(rid), source)] = body
        homes = {
            no: (region, who(head))
            for no, region, head in conn.execute(
                text("SELECT household_no, region_code, head_resident_id FROM household")
            )
        }
        held = sorted(
            tuple(r)
            for r in conn.execute(
                text("SELECT source, record_key, reason FROM quarantine WHERE released_at IS NULL")
            )
        )
    return {
        "residents": residents,
        "enrollments": enrollments,
        "details": details,
        "households": homes,
        "quarantine": held,
    }


class County:
    """The two department sources the machine edits: a civil-affairs database and HR person items."""

    def __init__(self, root: Path, hr: FakeHrServer) -> None:
        """Start empty."""
        self.civil = CivilDb(root / "civil.sqlite")
        self.hr = hr
        self.hr_items: dict[str, dict[str, Any]] = {}
        self.people: dict[str, dict[str, Any]] = {}  # JMID -> the fields we last wrote
        self.benefits: dict[str, tuple[str, str, str]] = {}  # DBID -> (JMID, kind, receiving)
        self.clock = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)

    def person(self, jmid: str, **fields: Any) -> None:
        """Write a civil-affairs resident row."""
        self.people[jmid] = fields
        self.civil.person(jmid, **fields)

    def forget(self, jmid: str) -> None:
        """Delete a civil-affairs resident row."""
        self.people.pop(jmid, None)
        self.civil.db.execute("DELETE FROM T_HJ_JMXX WHERE JMID = ?", (jmid,))

    def benefit(self, dbid: str, jmid: str, *, kind: str, receiving: str) -> None:
        """Write an assistance enrolment row."""
        self.benefits[dbid] = (jmid, kind, receiving)
        self.civil.benefit(dbid, jmid, kind=kind, receiving=receiving)

    def drop_benefit(self, dbid: str) -> None:
        """Delete an assistance enrolment row."""
        self.benefits.pop(dbid, None)
        self.civil.db.execute("DELETE FROM T_JZ_DBXX WHERE DBID = ?", (dbid,))

    def hr_person(self, pid: str, nid: str, *, name: str, birth: str, job: str, insured: bool) -> None:
        """Write an HR person item (updatedAt advances)."""
        self.clock += dt.timedelta(minutes=1)
        self.hr_items[pid] = {
            "personId": pid,
            "idCardNo": nid,
            "name": name,
            "gender": "男",
            "birthDate": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
            "phone": "13900000000",
            "regionCode": "511599100201",
            "employment": {"status": job, "employer": "某厂", "since": "2024-03"},
            "insurances": [{"type": "UNEMPLOYMENT", "status": "ACTIVE", "since": "2024-03-01"}]
            if insured
            else [],
            "updatedAt": self.clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.publish()

    def drop_hr(self, pid: str) -> None:
        """Delete an HR person."""
        self.hr_items.pop(pid, None)
        self.publish()

    def publish(self) -> None:
        """Serve the current HR items."""
        self.hr.store = PersonStore.from_items(self.hr_items.values())

    def connectors(self) -> list[Any]:
        """Return fresh connectors over both sources."""
        civil = CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(self.civil.url)))
        hr = HrApiConnector(
            HrApiSettings(base_url=self.hr.url, api_key=SecretStr(HR_KEY), services=False, backoff_seconds=0)
        )
        return [civil, hr]


def nid_of(n: int) -> tuple[str, str]:
    """Return the n-th person's citizen ID and birth date."""
    birth = f"19{50 + n % 40:02d}0{1 + n % 9}1{n % 9}"
    return make_id(birth, 100 + n), birth


def typo(number: str) -> str:
    """Return the number with a wrong check character (held back as invalid_id)."""
    return number[:17] + ("1" if number[17] == "0" else "0")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a migrated empty SQLite store to copy (migrating once keeps the machine fast)."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    engine = make_sync_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


class Reconcile(RuleBasedStateMachine):
    """The state machine; `root`, `template` and `hr` are set by the test before it runs."""

    root: Path
    new_store: Callable[[Path], str]  # the URL of a fresh migrated store (SQLite file or PostgreSQL)
    hr: FakeHrServer
    runs = 0

    @initialize()
    def start(self) -> None:
        """Seed two households of civil residents, one with an enrolment, and their HR records."""
        Reconcile.runs += 1
        self.dir = self.root / f"run{Reconcile.runs}"
        self.dir.mkdir()
        self.county = County(self.dir, self.hr)
        self.county.hr_items.clear()
        self.county.publish()
        self.stores: dict[str, Engine] = {}
        for name in ("incremental", "full"):
            self.stores[name] = self._fresh(name)
        self.step = 0
        for n in range(6):
            nid, birth = nid_of(n)
            self.county.person(
                f"J{n}",
                sfzhm=nid,
                name=NAMES[n],
                birth=birth,
                hh=f"H{n // 3}",
                relation="02" if n % 3 == 0 else "20",
            )
        self.county.benefit("D0", "J1", kind="01", receiving="1")
        self.county.benefit("D1", "J3", kind="04", receiving="1")
        nid, birth = nid_of(1)
        self.county.hr_person("P1", nid, name=NAMES[1], birth=birth, job="EMPLOYED", insured=True)
        nid, birth = nid_of(7)
        self.county.hr_person("P7", nid, name=NAMES[7], birth=birth, job="MIGRANT", insured=False)

    def _fresh(self, name: str) -> Engine:
        path = self.dir / f"{name}-{self.step if hasattr(self, 'step') else 0}.db"
        return make_sync_engine(Reconcile.new_store(path))

    def teardown(self) -> None:
        """Dispose of the stores."""
        for engine in getattr(self, "stores", {}).values():
            engine.dispose()

    def _jmid(self, data: st.DataObject) -> str | None:
        keys = sorted(self.county.people)
        return data.draw(st.sampled_from(keys)) if keys else None

    @rule(data=st.data())
    def id_typo(self, data: st.DataObject) -> None:
        """A clerk mistypes a citizen ID."""
        jmid = self._jmid(data)
        if jmid is not None:
            fields = dict(self.county.people[jmid])
            fields["sfzhm"] = typo(fields["sfzhm"])
            self.county.person(jmid, **fields)

    @rule(data=st.data())
    def id_fixed(self, data: st.DataObject) -> None:
        """A clerk corrects a citizen ID."""
        jmid = self._jmid(data)
        if jmid is not None:
            n = int(jmid[1:])
            fields = dict(self.county.people[jmid])
            fields["sfzhm"] = nid_of(n)[0]
            self.county.person(jmid, **fields)

    @rule(
        data=st.data(), hh=st.sampled_from(["H0", "H1", "H2"]), relation=st.sampled_from(["02", "10", "20"])
    )
    def move(self, data: st.DataObject, hh: str, relation: str) -> None:
        """Someone moves or marries into another household."""
        jmid = self._jmid(data)
        if jmid is not None:
            self.county.person(jmid, **{**self.county.people[jmid], "hh": hh, "relation": relation})

    @rule(data=st.data())
    def death(self, data: st.DataObject) -> None:
        """Someone dies."""
        jmid = self._jmid(data)
        if jmid is not None:
            self.county.person(jmid, **{**self.county.people[jmid], "status": "2"})

    @rule(n=st.integers(0, 9))
    def newcomer(self, n: int) -> None:
        """A resident is registered (again)."""
        nid, birth = nid_of(n)
        self.county.person(f"J{n}", sfzhm=nid, name=NAMES[n % 8], birth=birth, hh=f"H{n % 3}", relation="20")

    @rule(data=st.data())
    def deleted(self, data: st.DataObject) -> None:
        """A resident row is deleted at the source."""
        jmid = self._jmid(data)
        if jmid is not None:
            self.county.forget(jmid)

    @rule(data=st.data(), d=st.integers(0, 4), kind=st.sampled_from(["01", "02", "04"]), on=st.booleans())
    def enrolment(self, data: st.DataObject, d: int, kind: str, on: bool) -> None:
        """An enrolment starts, stops or changes."""
        jmid = self._jmid(data)
        if jmid is not None:
            self.county.benefit(f"D{d}", jmid, kind=kind, receiving="1" if on else "0")

    @rule(d=st.integers(0, 4))
    def enrolment_deleted(self, d: int) -> None:
        """An enrolment row is deleted at the source."""
        self.county.drop_benefit(f"D{d}")

    @rule(
        n=st.integers(0, 9), job=st.sampled_from(["EMPLOYED", "MIGRANT", "UNEMPLOYED"]), insured=st.booleans()
    )
    def hr_change(self, n: int, job: str, insured: bool) -> None:
        """HR records or changes a person's employment and insurance."""
        nid, birth = nid_of(n)
        self.county.hr_person(f"P{n}", nid, name=NAMES[n % 8], birth=birth, job=job, insured=insured)

    @rule(n=st.integers(0, 9))
    def hr_deleted(self, n: int) -> None:
        """HR deletes a person."""
        self.county.drop_hr(f"P{n}")

    @rule(n=st.integers(0, 5))
    def duplicate_number(self, n: int) -> None:
        """HR holds a different person (other name, other birth date) under a civil resident's ID: 重号."""
        nid, _birth = nid_of(n)
        self.county.hr_person(f"Q{n}", nid, name="重号者", birth="20010203", job="EMPLOYED", insured=True)

    @invariant()
    def three_stores_agree(self) -> None:
        """Sync each store its way; all three must serve the same content."""
        if not hasattr(self, "stores"):
            return
        self.step += 1
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(days=self.step)
        for name, full in (("incremental", False), ("full", True)):
            report = run_connectors(
                self.stores[name], self.county.connectors(), full=full, today=TODAY, now=now
            )
            assert report.ok, [s.error for s in report.sources]
        rebuilt = self._fresh("rebuild")
        try:
            assert run_connectors(rebuilt, self.county.connectors(), full=True, today=TODAY, now=now).ok
            expected = canonical(rebuilt)
        finally:
            rebuilt.dispose()
        assert canonical(self.stores["full"]) == expected, "--full differs from a rebuild"
        assert canonical(self.stores["incremental"]) == expected, "incremental differs from a rebuild"


def _sqlite_copy(template: Path, path: Path) -> str:
    """Copy the migrated SQLite template to `path`; return its URL."""
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def hr_server() -> Any:
    """Serve HR person items that the machine replaces at every edit."""
    with FakeHrServer(PersonStore.from_items([]), api_key=HR_KEY, services=[]) as server:
        yield server


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_incremental_full_and_rebuild_agree(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, hr_server: FakeHrServer
) -> None:
    """Random source edits leave the incremental, --full and rebuilt stores equal after every step."""
    examples = int(os.environ.get("XZ_RECONCILE_EXAMPLES", "8"))
    if backend == "sqlite":
        template: Path = request.getfixturevalue("template")
        Reconcile.new_store = lambda path: _sqlite_copy(template, path)
    else:
        # PostgreSQL's own locking, SQL and types under the same edits; fewer runs (a database per store).
        cluster, pg_template = request.getfixturevalue("pg_cluster"), request.getfixturevalue("_pg_template")
        Reconcile.new_store = lambda path: fresh_pg(cluster, pg_template)
        examples = max(2, examples // 4)
    Reconcile.root, Reconcile.hr = tmp_path, hr_server
    machine = Reconcile.TestCase
    machine.settings = settings(
        max_examples=examples,
        stateful_step_count=5,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()
