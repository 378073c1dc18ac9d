"""Request and response bodies of consents for assisted access (代办)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gateway.deps import IsoDate
from schemas.citizen_id import CitizenId

CONSENT_ID_PATTERN = r"^C[0-9A-F]{16}$"
CONSENT_ID_MAX = 17
_TEXT = ConfigDict(extra="forbid", str_strip_whitespace=True)  # "   " is as empty as ""
GUARDIAN_AGE = 14  # PIPL Art. 31: under 14, a parent or other guardian consents
_SHA256 = Field(
    pattern=r"^[0-9a-f]{64}$",
    description="SHA-256 (64 lower-case hex digits) of the scan as kept, so it cannot be swapped later.",
    examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
)


class ConsentMethod(StrEnum):
    """How the resident gave consent at the village service point."""

    PAPER_FORM = "paper_form"  # signed a paper form; the scan is kept
    FINGERPRINT = "fingerprint"  # pressed a fingerprint at the counter terminal
    VERBAL = "verbal"  # said so, before a named witness


class PaperForm(BaseModel):
    """The resident signed a paper consent form; the service point keeps its scan."""

    model_config = _TEXT

    method: Literal[ConsentMethod.PAPER_FORM]
    scan_reference: str = Field(
        min_length=1,
        max_length=128,
        description="Reference of the scanned, signed form in the service point's records.",
        examples=["QS-2026-11-0042.pdf"],
    )
    scan_sha256: str = _SHA256


class Fingerprint(BaseModel):
    """The resident confirmed with a fingerprint at the counter terminal."""

    model_config = _TEXT

    method: Literal[ConsentMethod.FINGERPRINT]
    reference: str | None = Field(
        default=None,
        max_length=128,
        description="The terminal's record of the confirmation, where it keeps one.",
        examples=["T03-20261129-0815"],
    )
    scan_sha256: str = _SHA256


class Verbal(BaseModel):
    """The resident consented aloud (e.g. cannot write) before a named witness other than the agent."""

    model_config = _TEXT

    method: Literal[ConsentMethod.VERBAL]
    witness_name: str = Field(
        min_length=1, max_length=64, description="Who witnessed it.", examples=["李村医"]
    )


Evidence = Annotated[PaperForm | Fingerprint | Verbal, Field(discriminator="method")]


class Guardian(BaseModel):
    """The parent or other guardian consenting for a resident under 14 (PIPL Art. 31), with own evidence."""

    model_config = _TEXT

    name: str = Field(min_length=1, max_length=64, examples=["王建国"])
    national_id: CitizenId = Field(description="The guardian's citizen ID number (an adult's).")
    relationship: Literal["parent", "grandparent", "sibling", "other_guardian"] = Field(
        description="Who the guardian is to the resident (民法典 Art. 27)."
    )
    evidence: Evidence = Field(description="How the guardian gave consent.")


_EXAMPLE: dict[str, Any] = {
    "resident_id": "R7K3Q9M2X4T8",
    "purpose": "pension-eligibility",
    "valid_from": "2026-11-29",
    "valid_until": "2027-05-31",
    "evidence": {
        "method": "paper_form",
        "scan_reference": "QS-2026-11-0042.pdf",
        "scan_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    },
}


class ConsentCreate(BaseModel):
    """A resident's consent that a village agent act for them: for one purpose, over one period."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    resident_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        pattern=r"^[A-Za-z0-9]+$",
        description="Gateway id of the resident; or give `national_id` instead.",
    )
    national_id: CitizenId | None = Field(
        default=None,
        description="The resident's citizen ID number, as on the card shown at the counter; or give "
        "`resident_id` instead. Sent in the body, never in a URL.",
    )
    purpose: str = Field(
        max_length=64,
        pattern=r"^[a-z][a-z0-9\-]{0,63}$",
        description="One of the policy's purposes (GET /v1/catalog); requests under the consent must "
        "state it in X-Purpose.",
    )
    valid_from: IsoDate = Field(description="First day in force (China Standard Time), inclusive.")
    valid_until: IsoDate = Field(description="Last day in force (China Standard Time), inclusive.")
    evidence: Evidence = Field(
        description="How consent was given (PIPL Art. 14: informed, voluntary and explicit)."
    )
    guardian: Guardian | None = Field(
        default=None,
        description=f"Required when the resident is under {GUARDIAN_AGE} (from the birth date): the "
        "guardian's consent (PIPL Art. 31).",
    )

    @model_validator(mode="after")
    def _one_resident(self) -> ConsentCreate:
        if (self.resident_id is None) == (self.national_id is None):
            raise ValueError("name the resident by exactly one of resident_id or national_id")
        return self

    @field_validator("valid_until")
    @classmethod
    def _after_start(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("valid_from")
        if start is not None and value < start:
            raise ValueError(f"valid_until {value} is before valid_from {start}")
        return value


class ConsentRevoke(BaseModel):
    """Why a consent is withdrawn (PIPL Art. 15: the resident may withdraw consent at any time)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"reason": "居民本人到便民服务站撤回授权"}]},
    )

    reason: str = Field(min_length=2, max_length=2000)


class Consent(BaseModel):
    """A recorded consent and its state today."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "id": "C3F9A1B27C4D5E6F0",
                    "agent_client_id": "qingshan-agent",
                    "recorded_by": "0731",
                    "created_at": "2026-11-29T08:15:02Z",
                    "revoked_at": None,
                    "revoked_by": None,
                    "revoked_reason": None,
                    "status": "active",
                }
            ]
        }
    )

    id: str = Field(description="The consent reference to send as X-Consent-Id.")
    resident_id: str
    purpose: str
    valid_from: dt.date
    valid_until: dt.date
    evidence: Evidence
    guardian: Guardian | None = None
    agent_client_id: str = Field(description="The client that recorded it, the only one that may use it.")
    recorded_by: str | None = Field(
        description="X-End-User of the recording request (the agent at the counter)."
    )
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoked_reason: str | None
    status: Literal["pending", "active", "expired", "revoked"] = Field(
        description="pending: before valid_from; active: in force today; expired: after valid_until."
    )
