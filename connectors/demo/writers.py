"""Write the demo county in the departments' own formats, streaming household by household."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from connectors.demo.gazetteer import Gazetteer
from connectors.demo.ids import DateTable, impossible_date, to_legacy, wrong_check
from connectors.demo.people import Household, Person
from connectors.demo.quirks import (
    REASON_INVALID,
    REASON_MISSING,
    Clock,
    QuirkBook,
    QuirkyWriter,
    messy_phone,
    pad_name,
)
from connectors.demo.reference import (
    CIVIL_AFFAIRS_DDL,
    CIVIL_AFFAIRS_SERVICES,
    ETHNICITY_ROWS,
    HR_SERVICES,
    PHONE_PREFIXES,
)

BATCH = 20_000
CA = "civil_affairs"
HR = "hr_api"


def write_csv(
    path: Path, *, header: list[str], rows: Sequence[tuple[str, ...]], encoding: str = "utf-8"
) -> int:
    """Write a spreadsheet-style CSV (CRLF line ends) and return the number of data rows."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def write_reference(out_dir: Path, *, gazetteer: Gazetteer) -> dict[str, int]:
    """Write gazetteer.csv and ethnicity.csv; return their row counts."""
    return {
        "gazetteer.csv": write_csv(
            out_dir / "gazetteer.csv", header=["code", "name", "level", "parent_code"], rows=gazetteer.rows()
        ),
        "ethnicity.csv": write_csv(
            out_dir / "ethnicity.csv", header=["code", "name"], rows=list(ETHNICITY_ROWS)
        ),
    }


class CivilAffairsWriter(QuirkyWriter):
    """Stream residents and assistance enrolments into civil_affairs.sqlite (sample DDL, all TEXT)."""

    def __init__(self, path: Path, *, rng: random.Random, quirks: QuirkBook, dates: DateTable) -> None:
        """Create the database with the sample's tables and the service items."""
        path.unlink(missing_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("BEGIN")
        for ddl in CIVIL_AFFAIRS_DDL:
            self._db.execute(ddl)
        self._db.executemany("INSERT INTO T_FW_FWSX VALUES (?,?,?,?,?,?,?)", CIVIL_AFFAIRS_SERVICES)
        super().__init__("ca_", rng=rng, quirks=quirks)
        self._dates = dates
        self._clock = Clock(rng)
        self._residents: list[tuple[str, ...]] = []
        self._enrolments: list[tuple[str, ...]] = []
        self.counts = {"T_HJ_JMXX": 0, "T_JZ_DBXX": 0, "T_FW_FWSX": len(CIVIL_AFFAIRS_SERVICES)}
        self._since_2018 = dt.date(2018, 1, 1).toordinal() - dates.first_ordinal

    def add(self, household: Household) -> None:
        """Write one household's registered members and their enrolments."""
        hit = self._hit
        pick = self._pick
        r = self._rng.random
        gxsj = self._clock.gxsj
        compact = self._dates.compact
        code = household.village.code
        low_income = r() < 0.04
        registered = [p for p in household.members if not p.hr_only]
        for person in registered:
            jmid = f"MZ{person.num:08d}"
            relation = person.relation
            if relation == "02" and hit["ca_relation_01"]():
                relation = "01"
            name = person.name
            if "·" in name and hit["ca_minority_dot_variant"]():
                name = name.replace("·", "•" if r() < 0.5 else ".")
            padding = pick["ca_name_padding"]()
            if padding:
                name = pad_name(name, fullwidth=padding == "ca_name_fullwidth_space", u=r())
            birth = compact[person.day]
            unknown_birth = pick["ca_csrq_unknown"]()
            if unknown_birth:
                birth = "00000000" if unknown_birth == "ca_csrq_zero" else ""
            messy = pick["ca_phone_messy"]()
            phone = messy_phone(person.phone, kind=messy.removeprefix("ca_phone_")) if messy else person.phone
            self._residents.append(
                (
                    jmid,
                    name,
                    self._id(person, jmid=jmid),
                    "1" if person.male else "2",
                    birth,
                    person.mz,
                    household.hh,
                    relation,
                    code,
                    household.address,
                    phone,
                    person.status,
                    gxsj(),
                )
            )
            extra = r()
            if person.age >= 60 or low_income or extra < 0.02:
                alone = len(registered) == 1
                self._assistance(person, jmid=jmid, low_income=low_income, alone=alone, extra=extra)
        if len(self._residents) >= BATCH:
            self._flush()

    def _id(self, person: Person, *, jmid: str) -> str:
        """Return the SFZHM column: valid, legacy, lowercase x, empty or broken."""
        q = self._q
        hit = self._hit
        pick = self._pick
        number = person.id18
        broken = pick["ca_id_broken"]()
        if broken == "ca_missing_id":
            q.broke(CA, key=jmid, reason=REASON_MISSING)
            return ""
        if broken == "ca_bad_check":
            q.broke(CA, key=jmid, reason=REASON_INVALID)
            return wrong_check(number, rng=self._rng)
        if broken:
            q.broke(CA, key=jmid, reason=REASON_INVALID)
            return impossible_date(number, rng=self._rng)
        if number[6:8] == "19" and number[8:10] < "99" and hit["ca_legacy_15_id"]():
            return to_legacy(number)
        if number[17] == "X" and hit["ca_lowercase_x"]():
            return number[:17] + "x"
        return number

    def _assistance(self, person: Person, *, jmid: str, low_income: bool, alone: bool, extra: float) -> None:
        """Enrol the person in the social-assistance schemes they would plausibly receive."""
        r = self._rng.random
        plans: list[tuple[str, str]] = []
        if person.age >= 80 and r() < 0.85:
            plans.append(("05", "200.00" if person.age >= 90 else "100.00"))
        if low_income and r() < 0.7:
            plans.append(("01", ("480.00", "580.00", "615.00")[int(r() * 3)]))
        if alone and person.age >= 60 and r() < 0.15:
            plans.append(("02", ("900.00", "1020.00")[int(r() * 2)]))
        if extra < 0.015:
            plans.append(("04", ("90.00", "120.00")[int(r() * 2)]))
        elif extra < 0.02:
            plans.append(("03", ("800.00", "1000.00", "1500.00")[int(r() * 3)]))
        for kind, amount in plans:
            span = len(self._dates) - self._since_2018
            start = self._since_2018 + int(r() * span)
            closed = kind == "03" or person.status != "1" or r() < 0.15
            end = ""
            if closed:
                end = self._dates.compact[min(len(self._dates) - 1, start + 15 + int(r() * 400))]
            self.counts["T_JZ_DBXX"] += 1
            dbid = f"DB{self.counts['T_JZ_DBXX']:08d}"
            stamp = self._clock.gxsj()
            self._enrolments.append(
                (dbid, jmid, kind, amount, self._dates.compact[start], end, "0" if closed else "1", stamp)
            )

    def _flush(self) -> None:
        """Insert the buffered rows."""
        self._db.executemany("INSERT INTO T_HJ_JMXX VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", self._residents)
        self._db.executemany("INSERT INTO T_JZ_DBXX VALUES (?,?,?,?,?,?,?,?)", self._enrolments)
        self.counts["T_HJ_JMXX"] += len(self._residents)
        self._residents.clear()
        self._enrolments.clear()

    def close(self) -> dict[str, int]:
        """Flush, commit and close; return row counts per table, as `civil_affairs.sqlite:TABLE`."""
        self._flush()
        self._db.execute("COMMIT")
        self._db.close()
        return {f"civil_affairs.sqlite:{table}": n for table, n in self.counts.items()}


class HrApiWriter(QuirkyWriter):
    """Stream HR person items to hr_api/persons.jsonl and write the services envelope."""

    def __init__(self, api_dir: Path, *, rng: random.Random, quirks: QuirkBook, dates: DateTable) -> None:
        """Open persons.jsonl and write services.json."""
        api_dir.mkdir(parents=True, exist_ok=True)
        envelope = {
            "code": "0000",
            "msg": "成功",
            "data": {"items": list(HR_SERVICES), "nextPageToken": None},
        }
        (api_dir / "services.json").write_text(json.dumps(envelope, ensure_ascii=False, indent=1), "utf-8")
        self._out = (api_dir / "persons.jsonl").open("wb")
        super().__init__("hr_", rng=rng, quirks=quirks)
        self._dates = dates
        self._clock = Clock(rng)
        self.count = 0
        self.services = len(HR_SERVICES)

    def add(self, household: Household) -> None:
        """Write the household members that HR knows."""
        lines = [self._item(p, region=household.village.code) for p in household.members if p.in_hr]
        if lines:
            self._out.write(b"".join(lines))
            self.count += len(lines)

    def _item(self, person: Person, *, region: str) -> bytes:
        """Render one person item as a JSON line."""
        q = self._q
        hit = self._hit
        pick = self._pick
        r = self._rng.random
        pid = f"RS{person.num:07d}"
        number = person.id18
        broken = pick["hr_id_broken"]()
        if broken:
            q.broke(HR, key=pid, reason=REASON_INVALID)
            number = (wrong_check if broken == "hr_bad_check" else impossible_date)(number, rng=self._rng)
        elif number[17] == "X" and hit["hr_lowercase_x"]():
            number = number[:17] + "x"
        phone = person.phone
        if hit["hr_phone_differs"]():
            phone = f"{PHONE_PREFIXES[int(r() * len(PHONE_PREFIXES))]}{int(r() * 100_000_000):08d}"
        gender = "未知" if hit["hr_gender_unknown"]() else "男" if person.male else "女"
        employment: dict[str, Any] | None = None
        if person.employment is not None:
            employment = {"status": person.employment, "employer": person.employer, "since": person.emp_since}
        item = {
            "personId": pid,
            "idCardNo": number,
            "name": person.name,
            "gender": gender,
            "birthDate": self._dates.iso[person.day],
            "phone": phone,
            "regionCode": region,
            "employment": employment,
            "insurances": person.insurances,
            "updatedAt": self._clock.rfc3339(),
        }
        return orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE)

    def close(self) -> dict[str, int]:
        """Close persons.jsonl; return item counts per file."""
        self._out.close()
        return {"hr_api/persons.jsonl": self.count, "hr_api/services.json": self.services}
