"""Raw items of the HR API (人社), with the API's camelCase names as aliases."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import RawRecord


class HrEmployment(BaseModel):
    """`employment` of a person item."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str
    employer: str | None = None
    since: str | None = None


class HrInsurance(BaseModel):
    """One of a person's `insurances`."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    type: str
    status: str
    since: str | None = None
    monthly_benefit: Decimal | None = Field(default=None, alias="monthlyBenefit")


class HrPerson(RawRecord):
    """A person item of GET /api/v2/persons."""

    key_alias = "personId"
    kind = "person"

    person_id: str = Field(alias="personId", min_length=1)
    id_card_no: str | None = Field(default=None, alias="idCardNo")
    name: str | None = None
    gender: str | None = None
    birth_date: str | None = Field(default=None, alias="birthDate")
    phone: str | None = None
    region_code: str | None = Field(default=None, alias="regionCode")
    employment: HrEmployment | None = None
    insurances: list[HrInsurance] = Field(default_factory=list)
    updated_at: str = Field(alias="updatedAt")


class HrService(RawRecord):
    """A service item of GET /api/v2/services."""

    key_alias = "serviceCode"
    kind = "service"

    service_code: str = Field(alias="serviceCode", min_length=1)
    service_name: str = Field(alias="serviceName")
    channels: list[str] = Field(default_factory=list)
    hall: str | None = None
    promise_days: int | None = Field(default=None, alias="promiseDays", ge=0)
    active: bool = True


class HrApiPush(PushBatch):
    """Changed items of the HR API, each exactly as GET /api/v2/persons and /api/v2/services return it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "persons": [
                        {
                            "personId": "RS0000123",
                            "idCardNo": "511599198503120417",
                            "name": "王建国",
                            "gender": "男",
                            "birthDate": "1985-03-12",
                            "phone": "13800000000",
                            "regionCode": "511599100201",
                            "employment": {"status": "MIGRANT", "employer": "某建筑公司", "since": "2024-05"},
                            "insurances": [
                                {
                                    "type": "URBAN_RURAL_PENSION",
                                    "status": "ACTIVE",
                                    "since": "2019-01-01",
                                    "monthlyBenefit": None,
                                }
                            ],
                            "updatedAt": "2026-11-01T08:00:00+08:00",
                        }
                    ]
                }
            ]
        }
    )

    streams = (("persons", HrPerson), ("services", HrService))

    persons: list[Payload] = Field(default_factory=list, description="Person items of /api/v2/persons.")
    services: list[Payload] = Field(default_factory=list, description="Service items of /api/v2/services.")
