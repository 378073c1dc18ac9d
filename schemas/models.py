"""Unified records served by the gateway: every department's data in one vocabulary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.citizen_id import CitizenId
from schemas.codes import (
    Audience,
    Channel,
    Department,
    EmploymentStatus,
    EnrollmentKind,
    EnrollmentStatus,
    Ethnicity,
    NoticeCategory,
    RegionLevel,
    Relation,
    ResidentStatus,
    Sex,
    Tag,
)

T = TypeVar("T")

RegionCode = Annotated[
    str,
    Field(
        pattern=r"^\d{12}$",
        description="12-digit statistical division code (统计用区划代码): PP CC DD TTT VVV.",
        examples=["511599100201"],
    ),
]
SourceName = Annotated[
    str,
    Field(
        description="Connector that produced a record, e.g. `civil_affairs`, `hr_api`.", examples=["hr_api"]
    ),
]


class Unified(BaseModel):
    """Base of every unified record: strict about unknown fields, friendly to ORM rows."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, use_enum_values=False)


class Region(Unified):
    """An administrative region (行政区划) from the gazetteer."""

    code: RegionCode
    name: str = Field(description="Name (名称).", examples=["青山村"])
    level: RegionLevel = Field(description="Level (层级).")
    parent_code: RegionCode | None = Field(default=None, description="Parent region (上级区划).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"code": "511599100201", "name": "青山村", "level": "village", "parent_code": "511599100000"}
            ]
        }
    )


class FieldProvenance(Unified):
    """Where one served value came from (数据来源)."""

    source: SourceName
    department: Department = Field(description="Owning department (数据提供部门).")
    record_key: str = Field(
        description="Key of the record in the source (源记录标识).", examples=["MZ00000001"]
    )
    updated_at: dt.datetime | None = Field(default=None, description="Source's own update time (源更新时间).")
    authoritative: bool = Field(
        default=True,
        description=(
            "False when the source is not authoritative for the field (e.g. status known only to HR): "
            "served until an authoritative source confirms it, and the resident needs review (待核实)."
        ),
    )


class Resident(Unified):
    """A person (居民), one across all departments, linked by citizen ID number."""

    id: str = Field(
        description="Opaque stable gateway id (居民标识); never the ID number.", examples=["R7K3Q9M2X4T8"]
    )
    national_id: CitizenId | None = Field(default=None, description="Citizen ID number (公民身份号码).")
    name: str | None = Field(
        default=None, description="Name (姓名), spaces trimmed, middle dot normalised to ·."
    )
    sex: Sex | None = Field(default=None, description="Sex (性别, GB/T 2261.1).")
    birth_date: dt.date | None = Field(default=None, description="Birth date (出生日期).")
    ethnicity: Ethnicity | None = Field(default=None, description="Ethnicity (民族, GB/T 3304).")
    region_code: RegionCode | None = Field(default=None, description="Village of registration (户籍所在村).")
    address: str | None = Field(default=None, description="Registered address (户籍地址).")
    phone: str | None = Field(default=None, description="Phone (联系电话), ASCII digits only.")
    household_id: str | None = Field(default=None, description="Household (户), see /v1/households/{id}.")
    relation: Relation | None = Field(
        default=None, description="Relation to household head (与户主关系, GB/T 4761)."
    )
    status: ResidentStatus = Field(default=ResidentStatus.ACTIVE, description="Status (人员状态).")
    tags: list[Tag] = Field(
        default_factory=list, description="Derived tags (标签), recomputed on every change."
    )
    needs_review: bool = Field(
        default=False, description="Kept apart for manual review: a source had no ID number (待核对)."
    )
    employment_status: EmploymentStatus | None = Field(
        default=None, description="Employment (就业状态, from HR)."
    )
    updated_at: dt.datetime = Field(description="Last change of any served value (更新时间).")
    provenance: dict[str, FieldProvenance] = Field(
        default_factory=dict, description="Per served field, the source it came from (字段来源)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "R7K3Q9M2X4T8",
                    "national_id": "511599198503120415",
                    "name": "王建国",
                    "sex": "male",
                    "birth_date": "1985-03-12",
                    "ethnicity": "01",
                    "region_code": "511599100201",
                    "address": "四川省宜宾市示范县青山村2组30号",
                    "phone": "13800000000",
                    "household_id": "HXQ2M4N8P6R1",
                    "relation": "02",
                    "status": "active",
                    "tags": ["migrant_worker"],
                    "needs_review": False,
                    "employment_status": "migrant",
                    "updated_at": "2026-11-01T08:00:00+08:00",
                    "provenance": {
                        "phone": {
                            "source": "hr_api",
                            "department": "hr",
                            "record_key": "RS0000123",
                            "updated_at": "2026-11-01T08:00:00+08:00",
                        }
                    },
                }
            ]
        }
    )


class SourceValue(Unified):
    """One source's value for one field, for the provenance view."""

    value: Any = Field(description="The value as that source holds it, translated.")
    source: SourceName
    department: Department
    record_key: str
    updated_at: dt.datetime | None = None
    served: bool = Field(description="Whether this is the value the gateway serves (采用).")
    rule: str | None = Field(
        default=None,
        description="On the served value: the precedence rule that chose it (docs/integrating.md, 字段来源).",
        examples=["precedence: civil_affairs > hr_api > hr_migrant_register"],
    )
    withdrawn_at: dt.datetime | None = Field(
        default=None,
        description="Set on history: when a full sync found that the source no longer holds the record "
        "(never served).",
    )


class ResidentProvenance(Unified):
    """Every source's value for every field of one resident (多源数据比对)."""

    id: str
    fields: dict[str, list[SourceValue]]


class HouseholdMember(Unified):
    """A member of a household (under a consent, other members show only relation and status)."""

    resident_id: str | None = Field(
        default=None, description="Absent for members other than the consenting resident (assisted access)."
    )
    name: str | None = None
    relation: Relation | None = None
    status: ResidentStatus


class Household(Unified):
    """A registered household (户)."""

    id: str = Field(description="Opaque household id (户标识).", examples=["HXQ2M4N8P6R1"])
    household_no: str = Field(description="Household number in the civil-affairs register (户号).")
    region_code: RegionCode | None = None
    head_resident_id: str | None = Field(default=None, description="Head of household (户主).")
    members: list[HouseholdMember] = Field(default_factory=list, description="Members (家庭成员).")


class Enrollment(Unified):
    """One benefit or insurance enrolment (救助/保险参保) from any department."""

    id: str
    resident_id: str
    kind: EnrollmentKind = Field(description="Programme (项目).")
    department: Department
    status: EnrollmentStatus
    amount_monthly: Decimal | None = Field(
        default=None, description="Yuan per month (月金额), benefit or pension paid.", examples=["580.00"]
    )
    start: dt.date | None = Field(default=None, description="Start (开始日期).")
    end: dt.date | None = Field(default=None, description="End (结束日期); null while open-ended.")
    source: SourceName
    record_key: str


class Employment(Unified):
    """Employment as HR records it (就业信息)."""

    resident_id: str
    status: EmploymentStatus
    employer: str | None = Field(default=None, description="Employer (用人单位).")
    since: str | None = Field(default=None, description="Since (YYYY-MM).", examples=["2024-05"])
    source: SourceName
    record_key: str


class Migration(Unified):
    """Where a migrant worker works (外出务工)."""

    resident_id: str
    work_province: str | None = Field(default=None, description="Province of work (务工省份).")
    work_city: str | None = Field(default=None, description="City of work (务工城市).")
    left_on: dt.date | None = Field(
        default=None, description="Left home (外出时间); day 1 when only a month."
    )
    returned_on: dt.date | None = Field(default=None, description="Came back (返乡时间); null while away.")
    registered_on: dt.date | None = Field(default=None, description="Registered (登记日期).")
    source: SourceName
    record_key: str


class Service(Unified):
    """A public service item (服务事项) from any department."""

    id: str = Field(examples=["civil_affairs:MZ001"])
    code: str = Field(description="Item code in the department (事项编码).")
    department: Department
    name: str = Field(description="Name (事项名称).")
    channels: list[Channel] = Field(
        description="How to obtain it (办理渠道); `agent` is 代办 by a village agent."
    )
    location: str | None = Field(default=None, description="Where (办理地点).")
    promised_days: int | None = Field(default=None, ge=0, description="Promised working days (承诺时限).")
    active: bool = Field(description="Offered now (是否在办).")
    updated_at: dt.datetime | None = None


class Notice(Unified):
    """A public notice (公告/通知) from the county media centre."""

    id: str = Field(description="Notice id (the feed's guid).")
    title: str
    body_html: str = Field(description="Body as sanitised HTML (no script, handlers, javascript: or frames).")
    body_text: str = Field(description="Body as plain text, for reading aloud or SMS.")
    category: NoticeCategory
    regions: list[RegionCode] = Field(description="Areas addressed (发布范围).")
    audiences: list[Audience] = Field(description="Audiences (受众).")
    link: str | None = None
    published_at: dt.datetime
    expires_at: dt.datetime | None = None


class QuarantinedRecord(Unified):
    """A source record a connector could not translate (隔离记录), kept until the source is fixed."""

    id: int
    source: SourceName
    record_key: str
    raw: dict[str, Any] = Field(description="The raw record as read.")
    reason: str = Field(description="Stable reason code.", examples=["invalid_id"])
    message: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    released_at: dt.datetime | None = None
    resolution: str | None = Field(
        default=None,
        description="How it was closed or what is pending: released (translated again), withdrawn (gone "
        "from its source), dismissed (by a data steward), retry (to translate at the next sync), linked "
        "or split (an id_conflict a steward decided).",
    )
    chosen_region: str | None = Field(
        default=None,
        description="The village a data steward chose for an ambiguous_village record (used at every read).",
    )


class Page(BaseModel, Generic[T]):
    """A page of results with an opaque cursor to the next one."""

    items: list[T]
    next: str | None = Field(default=None, description="Opaque cursor for the next page; null at the end.")
