"""Raw rows of the civil-affairs database (民政), with the legacy pinyin-initial column names as aliases."""

from __future__ import annotations

from pydantic import ConfigDict, Field

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


class CivilResidentRow(RawRecord):
    """T_HJ_JMXX: a registered resident (户籍居民信息). Every column is text."""

    key_alias = "JMID"
    identity = ("sfzhm", "xm", "xzqhdm")  # a person needs a citizen ID, or a name and a village
    kind = "person"

    jmid: str = Field(
        max_length=KEY_LEN, alias="JMID", min_length=1, description="resident id in this system, stable"
    )
    xm: str | None = Field(max_length=NAME_LEN, default=None, alias="XM", description="name")
    sfzhm: str | None = Field(max_length=ID_LEN, default=None, alias="SFZHM", description="citizen ID number")
    xb: str | None = Field(max_length=CODE_LEN, default=None, alias="XB", description="sex, GB/T 2261.1")
    csrq: str | None = Field(
        max_length=DATE_LEN, default=None, alias="CSRQ", description="birth date YYYYMMDD"
    )
    mz: str | None = Field(max_length=CODE_LEN, default=None, alias="MZ", description="ethnicity, GB/T 3304")
    # The store keys households by this number (64 characters at most).
    hh: str | None = Field(default=None, alias="HH", max_length=64, description="household number 户号")
    yhzgx: str | None = Field(
        max_length=CODE_LEN, default=None, alias="YHZGX", description="relation to head, GB/T 4761"
    )
    xzqhdm: str | None = Field(
        max_length=CODE_LEN, default=None, alias="XZQHDM", description="village of registration"
    )
    hjdz: str | None = Field(
        max_length=TEXT_LEN, default=None, alias="HJDZ", description="registered address"
    )
    lxdh: str | None = Field(max_length=PHONE_LEN, default=None, alias="LXDH", description="phone")
    ryzt: str | None = Field(
        max_length=CODE_LEN, default=None, alias="RYZT", description="1 active, 2 deceased, 3 moved out"
    )
    gxsj: str | None = Field(
        max_length=DATE_LEN, default=None, alias="GXSJ", description="last updated, Beijing time"
    )


class CivilEnrollmentRow(RawRecord):
    """T_JZ_DBXX: a social-assistance enrolment (社会救助)."""

    key_alias = "DBID"
    kind = "enrollment"

    dbid: str = Field(max_length=KEY_LEN, alias="DBID", min_length=1)
    jmid: str | None = Field(
        max_length=KEY_LEN, default=None, alias="JMID", description="the resident (T_HJ_JMXX.JMID)"
    )
    jzlx: str | None = Field(
        max_length=CODE_LEN, default=None, alias="JZLX", description="assistance type 01-05"
    )
    je: str | None = Field(
        max_length=CODE_LEN, default=None, alias="JE", description="yuan per month, decimal text"
    )
    ksrq: str | None = Field(max_length=DATE_LEN, default=None, alias="KSRQ", description="start YYYYMMDD")
    jsrq: str | None = Field(
        max_length=DATE_LEN, default=None, alias="JSRQ", description="end YYYYMMDD, empty while open"
    )
    zt: str | None = Field(
        max_length=CODE_LEN, default=None, alias="ZT", description="1 receiving, 0 stopped"
    )
    gxsj: str | None = Field(max_length=DATE_LEN, default=None, alias="GXSJ")


class CivilServiceRow(RawRecord):
    """T_FW_FWSX: a service item offered by civil affairs (服务事项)."""

    key_alias = "SXBM"
    kind = "service"

    sxbm: str = Field(max_length=KEY_LEN, alias="SXBM", min_length=1, description="item code")
    sxmc: str | None = Field(max_length=TEXT_LEN, default=None, alias="SXMC", description="name")
    blqd: str | None = Field(
        max_length=TEXT_LEN, default=None, alias="BLQD", description="channels: 线上,线下,代办"
    )
    bldd: str | None = Field(max_length=TEXT_LEN, default=None, alias="BLDD", description="where")
    cnqx: str | None = Field(max_length=CODE_LEN, default=None, alias="CNQX", description="promised days")
    sxzt: str | None = Field(
        max_length=CODE_LEN, default=None, alias="SXZT", description="1 offered, 0 withdrawn"
    )
    gxsj: str | None = Field(max_length=DATE_LEN, default=None, alias="GXSJ")


class CivilAffairsPush(PushBatch):
    """Changed rows of the civil-affairs tables, as the department's database holds them (all text)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "T_HJ_JMXX": [
                        {
                            "JMID": "MZ00000001",
                            "XM": "何斌勇",
                            "SFZHM": "511599199412303173",
                            "XB": "1",
                            "CSRQ": "19941230",
                            "MZ": "01",
                            "HH": "H511599000002",
                            "YHZGX": "02",
                            "XZQHDM": "511599100203",
                            "HJDZ": "四川省宜宾市示范县竹林村6组86号",
                            "LXDH": "13235106842",
                            "RYZT": "2",
                            "GXSJ": "2026-11-02 09:30:00",
                        }
                    ],
                    "T_JZ_DBXX": [
                        {
                            "DBID": "DB00000002",
                            "JMID": "MZ00000001",
                            "JZLX": "01",
                            "JE": "580.00",
                            "KSRQ": "20240609",
                            "JSRQ": "20261102",
                            "ZT": "0",
                            "GXSJ": "2026-11-02 09:30:00",
                        }
                    ],
                }
            ]
        }
    )

    streams = (
        ("residents", CivilResidentRow),
        ("enrollments", CivilEnrollmentRow),
        ("services", CivilServiceRow),
    )

    residents: list[Payload] = Field(
        default_factory=list,
        alias="T_HJ_JMXX",
        description="Registered residents (户籍居民信息), columns JMID, XM, SFZHM, XB, CSRQ, MZ, HH, YHZGX, "
        "XZQHDM, HJDZ, LXDH, RYZT, GXSJ.",
    )
    enrollments: list[Payload] = Field(
        default_factory=list,
        alias="T_JZ_DBXX",
        description="Social-assistance enrolments (社会救助), columns DBID, JMID, JZLX, JE, KSRQ, JSRQ, ZT, "
        "GXSJ.",
    )
    services: list[Payload] = Field(
        default_factory=list,
        alias="T_FW_FWSX",
        description="Service items (服务事项), columns SXBM, SXMC, BLQD, BLDD, CNQX, SXZT, GXSJ.",
    )
