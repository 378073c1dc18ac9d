"""Pydantic models of the policy documents: catalogue, grants, purposes, rate limits."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.codes import Department, Tag

Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,63}$")]
FieldRef = Annotated[str, Field(pattern=r"^(\*|@?[a-z][a-z0-9_]{0,63})$")]
RegionRef = Annotated[str, Field(pattern=r"^(\d{12}|client)$")]


class Strict(BaseModel):
    """Base of every document model: unknown keys are errors (a typo must not widen access)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SharingClass(StrEnum):
    """Sharing class of a data item (政务数据共享条例)."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class Sensitivity(StrEnum):
    """Sensitivity of a data item; `sensitive` is PIPL Art. 28 sensitive personal information."""

    PUBLIC = "public"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"


class MaskKind(StrEnum):
    """How a masked value is shown."""

    NATIONAL_ID = "national_id"  # 511599********0417
    PHONE = "phone"  # 138****0000
    NAME = "name"  # 王*
    ADDRESS = "address"  # the village name only
    REDACT = "redact"  # null


class Frequency(StrEnum):
    """Update frequency of a data item (更新周期)."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ON_CHANGE = "on_change"


class CatalogueField(Strict):
    """One data item of a resource (数据项)."""

    owner: Department | None = Field(default=None, description="Owning department; default: the resource's.")
    sharing: SharingClass
    sensitivity: Sensitivity
    update_frequency: Frequency | None = None
    mask: MaskKind | None = Field(default=None, description="Applied when the field is granted masked.")
    description: str = ""


class CatalogueResource(Strict):
    """A unified resource with its data items (数据资源目录)."""

    owner: Department
    description: str = ""
    update_frequency: Frequency = Frequency.DAILY
    region_field: str | None = Field(default=None, description="Field holding the row's region code.")
    tags_field: str | None = Field(default=None, description="Field holding the row's tags.")
    provenance_field: str | None = Field(default=None, description="Field mapping field names to sources.")
    resident_field: str | None = Field(
        default=None,
        description="Field naming the resident(s) a row is about (a resident id, or a list of objects "
        "with `resident_id`); assisted access (代办) reaches only that resident's rows.",
    )
    resident_region: bool = Field(
        default=False,
        description="Rows lie in the region of the resident `resident_field` names (an enrolment in its "
        "resident's village): grants' `regions` reach them there.",
    )
    fields: dict[str, CatalogueField]
    groups: dict[Ident, list[str]] = Field(default_factory=dict, description="Named field groups.")


class Catalogue(Strict):
    """The sharing catalogue (政务数据共享目录)."""

    resources: dict[Ident, CatalogueResource]


class Purpose(Strict):
    """A purpose of use with its legal basis (PIPL Art. 6, Art. 34)."""

    id: Ident
    name: str
    legal_basis: str
    sensitive: bool = Field(
        default=False, description="May sensitive personal information be used for it (PIPL Art. 28)."
    )


class Purposes(Strict):
    """The enumerated purposes of use."""

    purposes: list[Purpose]


class RowConditions(Strict):
    """Row conditions a grant adds (all must hold)."""

    tags: list[Tag] = Field(default_factory=list, description="Only rows carrying every one of these tags.")


class Grant(Strict):
    """What a client or department may see, for which purposes, where, and until when."""

    id: Ident
    client: str | None = None
    department: Department | None = None
    resource: Ident
    fields: list[FieldRef] = Field(default_factory=list, description="Disclosed in clear.")
    masked: list[FieldRef] = Field(default_factory=list, description="Disclosed masked.")
    regions: list[RegionRef] = Field(
        default_factory=lambda: ["client"], description="Region subtrees; `client` is the client's own."
    )
    purposes: list[Ident]
    rows: RowConditions = Field(default_factory=RowConditions)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    approval: str | None = Field(default=None, description="Approval that allows conditional fields.")
    requires_consent: bool = Field(
        default=False,
        description="Usable only acting for one resident (代办) under that resident's recorded consent "
        "(X-On-Behalf-Of and X-Consent-Id); rows are then that resident's only.",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Grant:
        if (self.client is None) == (self.department is None):
            raise ValueError("a grant names exactly one of `client` or `department`")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class Grants(Strict):
    """The grants document."""

    grants: list[Grant]


class Limit(Strict):
    """Rate limit and quota of one client or department."""

    client: str | None = None
    department: Department | None = None
    requests_per_minute: int = Field(ge=1)
    records_per_day: int = Field(ge=1)

    @model_validator(mode="after")
    def _one_subject(self) -> Limit:
        if self.client is not None and self.department is not None:
            raise ValueError("a limit names at most one of `client` or `department`")
        return self


class RateLimits(Strict):
    """Rate limits: a default and per-client or per-department overrides."""

    default: Limit
    limits: list[Limit] = Field(default_factory=list)
