"""Raw items of the HR API (人社), with the API's camelCase names as aliases."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import (
    CODE_LEN,
    DATE_LEN,
    ID_LEN,
    KEY_LEN,
    NAME_LEN,
    PHONE_LEN,
    TEXT_LEN,
    RawRecord,
)


class HrEmployment(BaseModel):
    """`employment` of a person item."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str = Field(max_length=KEY_LEN)
    employer: str | None = Field(default=None, max_length=TEXT_LEN)
    since: str | None = Field(default=None, max_length=DATE_LEN)


class HrInsurance(BaseModel):
    """One of a person's `insurances`."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    type: str = Field(max_length=KEY_LEN)
    status: str = Field(max_length=KEY_LEN)
    since: str | None = Field(default=None, max_length=DATE_LEN)
    monthly_benefit: Decimal | None = Field(default=None, alias="monthlyBenefit")


class HrPerson(RawRecord):
    """A person item of GET /api/v2/persons."""

    key_alias = "personId"
    identity = ("id_card_no", "name", "region_code")  # a person needs a citizen ID, or a name and a village
    kind = "person"

    person_id: str = Field(max_length=KEY_LEN, alias="personId", min_length=1)
    id_card_no: str | None = Field(max_length=ID_LEN, default=None, alias="idCardNo")
    name: str | None = Field(default=None, max_length=NAME_LEN)
    gender: str | None = Field(default=None, max_length=CODE_LEN)
    birth_date: str | None = Field(max_length=DATE_LEN, default=None, alias="birthDate")
    phone: str | None = Field(default=None, max_length=PHONE_LEN)
    region_code: str | None = Field(max_length=CODE_LEN, default=None, alias="regionCode")
    employment: HrEmployment | None = None
    insurances: list[HrInsurance] = Field(default_factory=list)
    updated_at: str = Field(max_length=DATE_LEN, alias="updatedAt")


class HrService(RawRecord):
    """A service item of GET /api/v2/services."""

    key_alias = "serviceCode"
    kind = "service"

    service_code: str = Field(max_length=KEY_LEN, alias="serviceCode", min_length=1)
    service_name: str = Field(max_length=TEXT_LEN, alias="serviceName")
    channels: list[Annotated[str, StringConstraints(max_length=CODE_LEN)]] = Field(default_factory=list)
    hall: str | None = Field(default=None, max_length=TEXT_LEN)
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
