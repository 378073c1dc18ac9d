"""Pure translation of a migrant-register row (given the county's village index) to a person record."""

from __future__ import annotations

import datetime as dt
import re

from connectors.gazetteer.reader import VillageIndex
from connectors.hr_migrant_register.models import RegisterRow
from connectors.sdk.errors import Reason, RecordInvalid
from connectors.sdk.normalise import birth_date_from_id, citizen_id, loose_date, person_name, phone
from connectors.sdk.records import PersonRecord
from schemas.time import in_china

SEX = {"男": "male", "女": "female"}
# What a spreadsheet makes of a long number: 5.11599E+17. The last 12 digits are gone for good.
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def file_month(name: str) -> str:
    """Return the YYYY-MM a register file is for (hr_migrant_register_2026-10.csv -> 2026-10)."""
    match = _MONTH.search(name)
    return f"{match[1]}-{match[2]}" if match else "0000-00"


def translate_row(row: RegisterRow, *, villages: VillageIndex) -> PersonRecord:
    """Translate one register row; the record of a later month's file wins over an earlier one."""
    number = (row.id_no or "").strip()
    if _SCIENTIFIC.match(number):
        raise RecordInvalid(
            Reason.UNRECOVERABLE_ID,
            f"身份证号码 {number!r} was turned into scientific notation by a spreadsheet: digits lost",
        )
    nid = citizen_id(number)
    region = villages.resolve(row.village, row.village_code)
    sex = SEX.get((row.sex or "").strip()) if (row.sex or "").strip() else None
    if (row.sex or "").strip() and sex is None:
        raise RecordInvalid(Reason.INVALID_CODE, f"性别: {row.sex!r} is not 男 or 女")
    registered = loose_date(row.registered_on, field="登记日期")
    trip = {
        "work_province": (row.work_province or "").strip() or None,
        "work_city": (row.work_city or "").strip() or None,
        "left_on": loose_date(row.left_on, field="外出时间"),
        "returned_on": loose_date(row.returned_on, field="返乡时间"),
        "registered_on": registered,
    }
    values = {
        "name": person_name(row.name),
        "sex": sex,
        # The register has no birth-date column; GB 11643-1999 puts it in the ID number.
        "birth_date": birth_date_from_id(nid) if nid else None,
        "region_code": region,
        "phone": phone(row.phone),
        "migration": trip,
    }
    seq = row.seq.strip()
    updated = in_china(dt.datetime.fromisoformat(registered)).astimezone(dt.UTC) if registered else None
    return PersonRecord(
        record_key=row.key(),
        national_id=nid,
        values={k: v for k, v in values.items() if v is not None},
        updated_at=updated,
        version=f"{file_month(row.file)}#{seq.zfill(8)}",
    )
