"""Request and response bodies of residents' requests (诉求) tracked to an answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.citizen_id import CitizenId
from schemas.codes import Department, LabelledEnum

APPEAL_ID_PATTERN = r"^Q[0-9A-F]{16}$"
_TEXT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AppealCategory(LabelledEnum):
    """What the request is about (诉求类别); each routes to its responsible department."""

    SOCIAL_ASSISTANCE = "social_assistance", "社会救助(低保、特困、临时救助)"
    ELDERLY_CARE = "elderly_care", "养老服务"
    CHILD_CARE = "child_care", "儿童关爱"
    DISABILITY = "disability", "残疾人服务"
    PENSION = "pension", "养老保险"
    MEDICAL_INSURANCE = "medical_insurance", "医疗保险"
    EMPLOYMENT = "employment", "就业创业"
    WAGE_ARREARS = "wage_arrears", "欠薪维权"
    PUBLIC_INFORMATION = "public_information", "政务公开"
    OTHER = "other", "其他"


# Routing (首办负责): the department that answers each category first; it may forward to another.
ROUTES: dict[AppealCategory, Department] = {
    AppealCategory.SOCIAL_ASSISTANCE: Department.CIVIL_AFFAIRS,
    AppealCategory.ELDERLY_CARE: Department.CIVIL_AFFAIRS,
    AppealCategory.CHILD_CARE: Department.CIVIL_AFFAIRS,
    AppealCategory.DISABILITY: Department.CIVIL_AFFAIRS,
    AppealCategory.PENSION: Department.HR,
    AppealCategory.MEDICAL_INSURANCE: Department.HR,
    AppealCategory.EMPLOYMENT: Department.HR,
    AppealCategory.WAGE_ARREARS: Department.HR,
    AppealCategory.PUBLIC_INFORMATION: Department.PUBLICITY,
    AppealCategory.OTHER: Department.CIVIL_AFFAIRS,
}


class Urgency(LabelledEnum):
    """How soon an answer is due (working days, holidays not modelled)."""

    NORMAL = "normal", "一般(10个工作日)"
    URGENT = "urgent", "紧急(3个工作日)"


DUE_WORKING_DAYS = {Urgency.NORMAL: 10, Urgency.URGENT: 3}


class AppealChannel(LabelledEnum):
    """How the resident brought the request."""

    IN_PERSON = "in_person", "窗口当面"
    PHONE = "phone", "电话"
    AGENT = "agent", "村代办员代办"


class AppealState(LabelledEnum):
    """Where a request stands; overdue is a flag and a step, beside the state."""

    ACCEPTED = "accepted", "已受理"
    FORWARDED = "forwarded", "已转办"
    ANSWERED = "answered", "已答复"
    CLOSED = "closed", "已办结"


_EXAMPLE: dict[str, Any] = {
    "resident_id": "R7K3Q9M2X4T8",
    "category": "pension",
    "description": "母亲今年满60岁，想了解城乡居民养老金什么时候开始领取",
    "urgency": "normal",
    "channel": "agent",
    "consent_id": "C3F9A1B27C4D5E6F0",
}


class AppealCreate(BaseModel):
    """A request recorded on a resident's behalf."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [_EXAMPLE]}
    )

    resident_id: str | None = Field(
        default=None, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="Gateway id."
    )
    national_id: CitizenId | None = Field(
        default=None, description="Or the citizen ID number on the card shown (in the body, never a URL)."
    )
    category: AppealCategory
    description: str = Field(
        min_length=2, max_length=2000, description="The request in the resident's words."
    )
    urgency: Urgency = Urgency.NORMAL
    channel: AppealChannel
    consent_id: str | None = Field(
        default=None,
        max_length=17,
        description="The resident's consent (POST /v1/consents); required of a village agent's client.",
    )

    @model_validator(mode="after")
    def _one_resident(self) -> AppealCreate:
        if (self.resident_id is None) == (self.national_id is None):
            raise ValueError("name the resident by exactly one of resident_id or national_id")
        return self


class AppealForward(BaseModel):
    """Forward a request to the department that can answer it."""

    model_config = ConfigDict(
        **_TEXT, json_schema_extra={"examples": [{"department": "civil_affairs", "note": "涉及低保，转民政"}]}
    )

    department: Department
    note: str = Field(min_length=2, max_length=2000)


class AppealAnswer(BaseModel):
    """The department's answer to the resident."""

    model_config = ConfigDict(
        **_TEXT,
        json_schema_extra={"examples": [{"answer": "满60周岁次月起发放，请携带身份证到村便民服务站办理"}]},
    )

    answer: str = Field(min_length=2, max_length=4000)


class AppealClose(BaseModel):
    """Close a request once the resident has the answer."""

    model_config = ConfigDict(**_TEXT, json_schema_extra={"examples": [{"note": "已电话告知本人，表示满意"}]})

    note: str = Field(min_length=2, max_length=2000)


class AppealStep(BaseModel):
    """One recorded step of the handling."""

    step: str = Field(description="accepted, forwarded, answered, closed or overdue.")
    at: dt.datetime
    department: str | None
    by_client: str | None
    by: str | None = Field(description="X-End-User of the request that took the step.")
    note: str | None


class Appeal(BaseModel):
    """A resident's request and every step of its handling."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": "Q1A2B3C4D5E6F7A8B",
                    "region_code": "511599100201",
                    "recorded_by_client": "qingshan-agent",
                    "recorded_by": "0731",
                    "department": "hr",
                    "due_date": "2026-12-15",
                    "state": "accepted",
                    "overdue": False,
                    "answer": None,
                    "created_at": "2026-12-01T02:00:00Z",
                    "updated_at": "2026-12-01T02:00:00Z",
                    "steps": [
                        {
                            "step": "accepted",
                            "at": "2026-12-01T02:00:00Z",
                            "department": "hr",
                            "by_client": "qingshan-agent",
                            "by": "0731",
                            "note": None,
                        }
                    ],
                }
            ]
        }
    )

    id: str
    resident_id: str
    region_code: str | None
    category: AppealCategory
    description: str
    urgency: Urgency
    channel: AppealChannel
    consent_id: str | None
    recorded_by_client: str
    recorded_by: str | None
    department: str = Field(description="The department responsible now.")
    due_date: dt.date = Field(description="Answer due by (China Standard Time).")
    state: AppealState
    overdue: bool = Field(description="Not answered by its due date (an `overdue` step records when seen).")
    answer: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    steps: list[AppealStep]
