"""A department's legacy side for tests: citizen ids, the civil-affairs database, the fake HR API's key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.demo.fake_hr import FakeHrServer
from connectors.demo.fake_hr_store import PersonStore
from connectors.hr_api.connector import HrApiConnector, HrApiSettings
from connectors.sdk.runner import run_connectors

HR_KEY = "test-hr-key"


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
        village: str = "511599100201",
    ) -> None:
        """Insert or replace a resident row (GXSJ advances, as the department's system does)."""
        self.db.execute(
            "INSERT OR REPLACE INTO T_HJ_JMXX VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (jmid, name, sfzhm, sex, birth, "01", hh, relation, village, "青山村1组", phone, status,
             self._stamp()),
        )  # fmt: skip

    def benefit(self, dbid: str, jmid: str, *, kind: str = "01", receiving: str = "1") -> None:
        """Insert or replace an assistance enrolment."""
        self.db.execute(
            "INSERT OR REPLACE INTO T_JZ_DBXX VALUES (?,?,?,?,?,?,?,?)",
            (dbid, jmid, kind, "580.00", "20250101", "", receiving, self._stamp()),
        )


def sync_civil_and_hr(engine: Engine, *, civil: CivilDb, hr_items: list[Mapping[str, Any]]) -> None:
    """Sync the civil-affairs database and a fake HR API serving the items (no services) on 2026-11-01."""
    with FakeHrServer(PersonStore.from_items(hr_items), api_key=HR_KEY) as hr:
        report = run_connectors(
            engine,
            [
                CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url))),
                HrApiConnector(HrApiSettings(base_url=hr.url, api_key=SecretStr(HR_KEY), services=False)),
            ],
            today=dt.date(2026, 11, 1),
        )
    assert report.ok
