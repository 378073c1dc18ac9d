"""Fixtures of the connector tests: the department samples, a small demo county, fresh stores, fake HR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.demo import CountyManifest, generate_county
from connectors.demo.fake_hr import FakeHrServer
from gateway.db import make_sync_engine

HR_KEY = "test-hr-key"


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CountyManifest]:
    """Generate a small demo county (every quirk of docs/sources.md) once per session."""
    out = tmp_path_factory.mktemp("county")
    return out, generate_county(out, residents=600, seed=7)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    """Return an engine on a fresh migrated SQLite store (a copy of the suite's template)."""
    engine = make_sync_engine(sqlite_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def county_hr(county: tuple[Path, CountyManifest]) -> Iterator[FakeHrServer]:
    """Serve the demo county's HR persons on 127.0.0.1 for the session."""
    with FakeHrServer(county[0], api_key=HR_KEY) as server:
        yield server


@pytest.fixture
def samples_hr(samples: Path) -> Iterator[FakeHrServer]:
    """Serve the sample HR pages on 127.0.0.1 (a fresh server: tests inject faults)."""
    with FakeHrServer(samples / "hr_api", api_key=HR_KEY) as server:
        yield server


def make_id(birth: str, seq: int, *, region: str = "511599") -> str:
    """Return a valid 18-character citizen ID (GB 11643-1999) for a birth date YYYYMMDD and sequence."""
    body = f"{region}{birth}{seq:03d}"
    check = (1 - 2 * int(body, 13)) % 11
    return body + ("X" if check == 10 else str(check))


class CivilDb:
    """A tiny civil-affairs database in the sample's DDL, edited by tests."""

    DDL = (
        "CREATE TABLE T_HJ_JMXX (JMID TEXT PRIMARY KEY, XM TEXT, SFZHM TEXT, XB TEXT, CSRQ TEXT, MZ TEXT,"
        " HH TEXT, YHZGX TEXT, XZQHDM TEXT, HJDZ TEXT, LXDH TEXT, RYZT TEXT, GXSJ TEXT)",
        "CREATE TABLE T_JZ_DBXX (DBID TEXT PRIMARY KEY, JMID TEXT, JZLX TEXT, JE TEXT, KSRQ TEXT, JSRQ TEXT,"
        " ZT TEXT, GXSJ TEXT)",
        "CREATE TABLE T_FW_FWSX (SXBM TEXT PRIMARY KEY, SXMC TEXT, BLQD TEXT, BLDD TEXT, CNQX TEXT,"
        " SXZT TEXT, GXSJ TEXT)",
    )

    def __init__(self, path: Path) -> None:
        """Create the database."""
        import sqlite3

        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        for ddl in self.DDL:
            self.db.execute(ddl)
        self.clock = 0

    @property
    def url(self) -> str:
        """Return its SQLAlchemy URL."""
        return f"sqlite:///{self.path}"

    def _stamp(self) -> str:
        self.clock += 1
        return f"2026-10-01 08:{self.clock // 60:02d}:{self.clock % 60:02d}"

    def person(
        self,
        jmid: str,
        sfzhm: str,
        *,
        name: str = "张三",
        hh: str = "H1",
        relation: str = "02",
        birth: str = "",
        sex: str = "1",
        status: str = "1",
        phone: str = "13800000000",
    ) -> None:
        """Insert or replace a resident row (GXSJ advances, as the department's system does)."""
        self.db.execute(
            "INSERT OR REPLACE INTO T_HJ_JMXX VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (jmid, name, sfzhm, sex, birth, "01", hh, relation, "511599100201", "青山村1组", phone, status,
             self._stamp()),
        )  # fmt: skip

    def benefit(self, dbid: str, jmid: str, *, kind: str = "01", receiving: str = "1") -> None:
        """Insert or replace an assistance enrolment."""
        self.db.execute(
            "INSERT OR REPLACE INTO T_JZ_DBXX VALUES (?,?,?,?,?,?,?,?)",
            (dbid, jmid, kind, "580.00", "20250101", "", receiving, self._stamp()),
        )
