"""Pure translations of HR API items to unified records (no I/O; tested against golden files)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

from connectors.hr_api.models import HrInsurance, HrPerson, HrService
from connectors.sdk.errors import Reason, RecordInvalid
from connectors.sdk.normalise import (
    birth_date_from_id,
    citizen_id,
    iso_utc,
    parse_instant,
    person_name,
    phone,
    region_code,
)
from connectors.sdk.records import EnrollmentRecord, PersonRecord
from schemas.codes import Channel, Department, EmploymentStatus, EnrollmentKind, EnrollmentStatus
from schemas.models import Service

SOURCE = "hr_api"
SEX = {"男": "male", "女": "female", "未知": "unknown"}
EMPLOYMENT = {
    "EMPLOYED": EmploymentStatus.EMPLOYED.value,
    "UNEMPLOYED": EmploymentStatus.UNEMPLOYED.value,
    "FLEXIBLE": EmploymentStatus.FLEXIBLE.value,
    "MIGRANT": EmploymentStatus.MIGRANT.value,
    "RETIRED": EmploymentStatus.RETIRED.value,
    "NONE": EmploymentStatus.NONE.value,
}
INSURANCE = {
    "URBAN_RURAL_PENSION": EnrollmentKind.URBAN_RURAL_PENSION,
    "EMPLOYEE_PENSION": EnrollmentKind.EMPLOYEE_PENSION,
    "URBAN_RURAL_MEDICAL": EnrollmentKind.URBAN_RURAL_MEDICAL,
    "UNEMPLOYMENT": EnrollmentKind.UNEMPLOYMENT,
    "WORK_INJURY": EnrollmentKind.WORK_INJURY,
}
INSURANCE_STATUS = {
    "ACTIVE": EnrollmentStatus.ACTIVE,
    "SUSPENDED": EnrollmentStatus.SUSPENDED,
    "TERMINATED": EnrollmentStatus.STOPPED,
}
CHANNEL = {"ONLINE": Channel.ONLINE, "COUNTER": Channel.COUNTER, "AGENT": Channel.AGENT}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CENTS = Decimal("0.01")


def iso_date(raw: str | None, *, field: str) -> str | None:
    """Check an ISO date YYYY-MM-DD; blank is None."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) == 10 and _valid_iso(text):
        return text
    raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {raw!r} is not a date YYYY-MM-DD")


@lru_cache(maxsize=65536)
def _valid_iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return text[4] == "-" and text[7] == "-"


@lru_cache(maxsize=65536)
def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _insurance(person: HrPerson, ins: HrInsurance, *, updated: dt.datetime) -> EnrollmentRecord:
    kind = INSURANCE.get(ins.type)
    status = INSURANCE_STATUS.get(ins.status)
    if kind is None or status is None:
        raise RecordInvalid(
            Reason.INVALID_CODE, f"insurances: {ins.type}/{ins.status} is not a known type/status"
        )
    benefit = ins.monthly_benefit
    if benefit is not None and (not benefit.is_finite() or benefit < 0):
        raise RecordInvalid(Reason.INVALID_AMOUNT, f"insurances.monthlyBenefit: {benefit} is not an amount")
    since = iso_date(ins.since, field="insurances.since")
    return EnrollmentRecord(
        record_key=f"{person.person_id}/{ins.type}",
        person_key=person.person_id,
        kind=kind,
        status=status,
        amount_monthly=None if benefit is None else str(benefit.quantize(_CENTS)),
        start=_day(since) if since else None,
        updated_at=updated,
    )


def translate_person(person: HrPerson) -> PersonRecord:
    """Translate a person item: ID, name, phone normalised; employment; insurances as enrolments."""
    nid = citizen_id(person.id_card_no)
    sex = SEX.get((person.gender or "").strip()) if person.gender else None
    if person.gender and sex is None:
        raise RecordInvalid(Reason.INVALID_CODE, f"gender: {person.gender!r} is not 男, 女 or 未知")
    updated = parse_instant(person.updated_at, field="updatedAt")
    birth = iso_date(person.birth_date, field="birthDate") or (birth_date_from_id(nid) if nid else None)
    values: dict[str, object] = {
        "name": person_name(person.name),
        "sex": sex,
        "birth_date": birth,
        "region_code": region_code(person.region_code, field="regionCode"),
        "phone": phone(person.phone),
    }
    job = person.employment
    if job is not None:
        status = EMPLOYMENT.get(job.status)
        if status is None:
            raise RecordInvalid(Reason.INVALID_CODE, f"employment.status: {job.status!r} is not known")
        since = (job.since or "").strip() or None
        if since is not None and not _MONTH.match(since):
            raise RecordInvalid(Reason.INVALID_DATE, f"employment.since: {job.since!r} is not YYYY-MM")
        values["employment_status"] = status
        values["employment"] = {
            "status": status,
            "employer": (job.employer or "").strip() or None,
            "since": since,
        }
    return PersonRecord(
        record_key=person.person_id,
        national_id=nid,
        values={k: v for k, v in values.items() if v is not None},
        updated_at=updated,
        version=iso_utc(updated),
        enrollments=tuple(_insurance(person, ins, updated=updated) for ins in person.insurances),
    )


def translate_service(item: HrService) -> Service:
    """Translate a service item; channels ONLINE/COUNTER/AGENT -> online/counter/agent."""
    unknown = [c for c in item.channels if c not in CHANNEL]
    if unknown:
        raise RecordInvalid(Reason.INVALID_CODE, f"channels: {unknown} are not ONLINE, COUNTER or AGENT")
    return Service(
        id=f"{SOURCE}:{item.service_code}",
        code=item.service_code,
        department=Department.HR,
        name=item.service_name.strip(),
        channels=list(dict.fromkeys(CHANNEL[c] for c in item.channels)),
        location=(item.hall or "").strip() or None,
        promised_days=item.promise_days,
        active=item.active,
    )
