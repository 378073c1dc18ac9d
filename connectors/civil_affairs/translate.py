"""Pure translations of civil-affairs rows to unified records (no I/O; tested against golden files)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from connectors.civil_affairs.models import CivilEnrollmentRow, CivilResidentRow, CivilServiceRow
from connectors.sdk.errors import Reason, RecordInvalid
from connectors.sdk.normalise import (
    as_date,
    beijing_to_utc,
    birth_date_from_id,
    citizen_id,
    compact_date,
    person_name,
    phone,
    region_code,
    sex_from_id,
)
from connectors.sdk.records import EnrollmentRecord, PersonRecord
from schemas.codes import Channel, Department, EnrollmentKind, EnrollmentStatus, Ethnicity, Relation
from schemas.models import Service

SOURCE = "civil_affairs"
SEX = {"0": "unknown", "1": "male", "2": "female", "9": "unspecified"}  # GB/T 2261.1
ETHNICITY = {e.value: e.value for e in Ethnicity}  # GB/T 3304
RELATION = {code: Relation.from_gb(code).value for code in ("01", *(r.value for r in Relation))}  # GB/T 4761
STATUS = {"1": "active", "2": "deceased", "3": "moved_out"}
KIND = {
    "01": EnrollmentKind.MINIMUM_LIVING_ALLOWANCE,
    "02": EnrollmentKind.EXTREME_POVERTY_SUPPORT,
    "03": EnrollmentKind.TEMPORARY_ASSISTANCE,
    "04": EnrollmentKind.DISABILITY_SUBSIDY,
    "05": EnrollmentKind.OLD_AGE_ALLOWANCE,
}
RECEIVING = {"1": EnrollmentStatus.ACTIVE, "0": EnrollmentStatus.STOPPED}
CHANNEL = {"线上": Channel.ONLINE, "线下": Channel.COUNTER, "代办": Channel.AGENT}


def _code(table: dict[str, str], raw: str | None, *, field: str, standard: str) -> str | None:
    """Look a code up in its national table; blank is None, an unknown code holds the record back."""
    if raw is None or not raw.strip():
        return None
    value = table.get(raw.strip())
    if value is None:
        raise RecordInvalid(Reason.INVALID_CODE, f"{field}: {raw!r} is not a {standard} code")
    return value


def translate_resident(row: CivilResidentRow) -> PersonRecord:
    """Translate a T_HJ_JMXX row: normalised ID, name, phone; codes to the unified vocabulary."""
    nid = citizen_id(row.sfzhm)
    sex = _code(SEX, row.xb, field="XB", standard="GB/T 2261.1")
    birth = compact_date(row.csrq, field="CSRQ")
    if nid is not None:
        # CSRQ 00000000 or blank means unknown: the ID number encodes the birth date (GB 11643-1999).
        birth = birth or birth_date_from_id(nid)
        sex = sex or sex_from_id(nid)
    values = {
        "name": person_name(row.xm),
        "sex": sex,
        "birth_date": birth,
        "ethnicity": _code(ETHNICITY, row.mz, field="MZ", standard="GB/T 3304"),
        "region_code": region_code(row.xzqhdm, field="XZQHDM"),
        "address": (row.hjdz or "").strip() or None,
        "phone": phone(row.lxdh),
        "relation": _code(RELATION, row.yhzgx, field="YHZGX", standard="GB/T 4761"),
        "status": _code(STATUS, row.ryzt, field="RYZT", standard="RYZT (1/2/3)"),
    }
    return PersonRecord(
        record_key=row.jmid,
        national_id=nid,
        values={k: v for k, v in values.items() if v is not None},
        updated_at=beijing_to_utc(row.gxsj) if row.gxsj else None,
        version=(row.gxsj or "").strip(),
        household_no=(row.hh or "").strip() or None,
    )


def amount(raw: str | None, *, field: str) -> str | None:
    """Parse a yuan amount ('580.00') to decimal text with two places; blank is None."""
    if raw is None or not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise RecordInvalid(Reason.INVALID_AMOUNT, f"{field}: {raw!r} is not an amount") from exc
    if not value.is_finite() or value < 0:
        raise RecordInvalid(Reason.INVALID_AMOUNT, f"{field}: {raw!r} is not an amount")
    return str(value.quantize(Decimal("0.01")))


def translate_enrollment(row: CivilEnrollmentRow) -> EnrollmentRecord:
    """Translate a T_JZ_DBXX row; it links to its resident through JMID."""
    if not row.jmid or not row.jmid.strip():
        raise RecordInvalid(Reason.UNKNOWN_RESIDENT, "JMID is empty: the enrolment names no resident")
    kind = KIND.get((row.jzlx or "").strip())
    if kind is None:
        raise RecordInvalid(Reason.INVALID_CODE, f"JZLX: {row.jzlx!r} is not an assistance type 01-05")
    status = RECEIVING.get((row.zt or "").strip())
    if status is None:
        raise RecordInvalid(Reason.INVALID_CODE, f"ZT: {row.zt!r} is not 1 (receiving) or 0 (stopped)")
    start = compact_date(row.ksrq, field="KSRQ")
    end = compact_date(row.jsrq, field="JSRQ")
    return EnrollmentRecord(
        record_key=row.dbid,
        person_key=row.jmid.strip(),
        kind=kind,
        status=status,
        amount_monthly=amount(row.je, field="JE"),
        start=as_date(start),
        end=as_date(end),
        updated_at=beijing_to_utc(row.gxsj) if row.gxsj else None,
    )


def translate_service(row: CivilServiceRow) -> Service:
    """Translate a T_FW_FWSX row; channels 线上/线下/代办 -> online/counter/agent."""
    channels = []
    for part in (row.blqd or "").replace("，", ",").split(","):
        word = part.strip()
        if not word:
            continue
        if word not in CHANNEL:
            raise RecordInvalid(Reason.INVALID_CODE, f"BLQD: {word!r} is not 线上, 线下 or 代办")
        channels.append(CHANNEL[word])
    days = (row.cnqx or "").strip()
    if days and not days.isdigit():
        raise RecordInvalid(Reason.INVALID_RECORD, f"CNQX: {row.cnqx!r} is not a number of days")
    if not (row.sxmc or "").strip():
        raise RecordInvalid(Reason.INVALID_RECORD, "SXMC: a service item needs a name")
    return Service(
        id=f"{SOURCE}:{row.sxbm}",
        code=row.sxbm,
        department=Department.CIVIL_AFFAIRS,
        name=(row.sxmc or "").strip(),
        channels=list(dict.fromkeys(channels)),
        location=(row.bldd or "").strip() or None,
        promised_days=int(days) if days else None,
        active=(row.sxzt or "").strip() == "1",
        updated_at=beijing_to_utc(row.gxsj) if row.gxsj else None,
    )
