"""Request and response bodies of the early-warning worklist (预警)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ALERT_ID_PATTERN = r"^A[0-9A-F]{16}$"


class AlertState(StrEnum):
    """Where an item stands on the worklist."""

    OPEN = "open"
    CLOSED = "closed"


class AlertOutcome(StrEnum):
    """How the responsible department closed an item (处置结果)."""

    ACTION_TAKEN = "action_taken"  # 已处置 (payment stopped, visit made, enrolment started...)
    NO_ACTION_NEEDED = "no_action_needed"  # 核实无需处置
    FALSE_POSITIVE = "false_positive"  # 数据有误, the source is being corrected
    REFERRED = "referred"  # 已移交其他部门


class AlertClose(BaseModel):
    """Close an item with its outcome."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"outcome": "action_taken", "note": "已于11月30日停发低保金"}]},
    )

    outcome: AlertOutcome
    note: str = Field(min_length=2, max_length=2000, description="What was done (处置说明).")


_EXAMPLE: dict[str, Any] = {
    "id": "A3F9A1B27C4D5E6F0",
    "rule": "deceased-assistance-active",
    "title": "已故人员仍在享受救助待遇",
    "basis": "《社会救助暂行办法》第十三条",
    "action": "核实死亡信息，停发待遇，核算多发金额",
    "department": "civil_affairs",
    "purpose": "social-assistance-review",
    "detail": "城乡低保 仍在享受",
    "resident_id": "R7K3Q9M2X4T8",
    "resident": {"id": "R7K3Q9M2X4T8", "name": "王建国", "region_code": "511599100201", "status": "deceased"},
    "state": "open",
    "raised_at": "2026-11-29T08:15:02Z",
    "closed_at": None,
    "outcome": None,
    "note": None,
    "closed_by": None,
}


class Alert(BaseModel):
    """One early-warning item, with its resident as the caller may see them."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: str
    rule: str = Field(description="The rule that raised it (alerts.yaml).")
    title: str = Field(description="The rule's name.")
    basis: str = Field(description="Legal or programme basis (依据).")
    action: str = Field(description="What the department is expected to do (处置要求).")
    department: str = Field(description="Responsible department.")
    purpose: str = Field(description="The purpose under which it is read.")
    detail: str = Field(description="Which enrolment it concerns, where one does.")
    resident_id: str
    resident: dict[str, Any] = Field(description="The resident, projected by the caller's grant.")
    state: AlertState
    raised_at: dt.datetime
    closed_at: dt.datetime | None
    outcome: AlertOutcome | None
    note: str | None
    closed_by: str | None = Field(description="X-End-User of the closing request.")
