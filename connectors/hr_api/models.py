"""Raw items of the HR API (人社), with the API's camelCase names as aliases."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import CODE_LEN, RawRecord, text


class HrEmployment(BaseModel):
    """`employment` of a person item."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str = text.key(required=True)
    employer: str | None = text.long()
    since: str | None = text.date()


class HrInsurance(BaseModel):
    """One of a person's `insurances`."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    type: str = text.key(required=True)
    status: str = text.key(required=True)
    since: str | None = text.date()
    monthly_benefit: Decimal | None = Field(default=None, alias="monthlyBenefit")


class HrPerson(RawRecord):
    """A person item of GET /api/v2/persons."""

    key_alias = "personId"
    identity = ("id_card_no", "name", "region_code")  # a person needs a citizen ID, or a name and a village
    kind = "person"

    person_id: str = text.key("personId", required=True, min_length=1)
    id_card_no: str | None = text.id("idCardNo")
    name: str | None = text.name()
    gender: str | None = text.code()
    birth_date: str | None = text.date("birthDate")
    phone: str | None = text.phone()
    region_code: str | None = text.code("regionCode")
    employment: HrEmployment | None = None
    insurances: list[HrInsurance] = Field(default_factory=list)
    updated_at: str = text.date("updatedAt", required=True)


class HrService(RawRecord):
    """A service item of GET /api/v2/services."""

    key_alias = "serviceCode"
    kind = "service"

    service_code: str = text.key("serviceCode", required=True, min_length=1)
    service_name: str = text.long("serviceName", required=True)
    channels: list[Annotated[str, StringConstraints(max_length=CODE_LEN)]] = Field(default_factory=list)
    hall: str | None = text.long()
    promise_days: int | None = Field(default=None, alias="promiseDays", ge=0)
    active: bool = True


# A person item as GET /api/v2/persons returns it: the push example (the golden tests' item starts from it).
EXAMPLE_PERSON: dict[str, Any] = {
    "personId": "RS0000123",
    "idCardNo": "511599198503120417",
    "name": "王建国",
    "gender": "男",
    "birthDate": "1985-03-12",
    "phone": "13800000000",
    "regionCode": "511599100201",
    "employment": {"status": "MIGRANT", "employer": "某建筑公司", "since": "2024-05"},
    "insurances": [
        {"type": "URBAN_RURAL_PENSION", "status": "ACTIVE", "since": "2019-01-01", "monthlyBenefit": None}
    ],
    "updatedAt": "2026-11-01T08:00:00+08:00",
}


class HrApiPush(PushBatch):
    """Changed items of the HR API, each exactly as GET /api/v2/persons and /api/v2/services return it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"persons": [EXAMPLE_PERSON]}]})

    streams = (("persons", HrPerson), ("services", HrService))

    persons: list[Payload] = Field(default_factory=list, description="Person items of /api/v2/persons.")
    services: list[Payload] = Field(default_factory=list, description="Service items of /api/v2/services.")
