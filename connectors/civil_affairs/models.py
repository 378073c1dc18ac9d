"""Raw rows of the civil-affairs database (民政), with the legacy pinyin-initial column names as aliases."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import RawRecord, text


class CivilResidentRow(RawRecord):
    """T_HJ_JMXX: a registered resident (户籍居民信息). Every column is text."""

    key_alias = "JMID"
    identity = ("sfzhm", "xm", "xzqhdm")  # a person needs a citizen ID, or a name and a village
    kind = "person"

    jmid: str = text.key("JMID", "resident id in this system, stable", required=True, min_length=1)
    xm: str | None = text.name("XM", "name")
    sfzhm: str | None = text.id("SFZHM", "citizen ID number")
    xb: str | None = text.code("XB", "sex, GB/T 2261.1")
    csrq: str | None = text.date("CSRQ", "birth date YYYYMMDD")
    mz: str | None = text.code("MZ", "ethnicity, GB/T 3304")
    # The store keys households by this number (64 characters at most).
    hh: str | None = Field(default=None, alias="HH", max_length=64, description="household number 户号")
    yhzgx: str | None = text.code("YHZGX", "relation to head, GB/T 4761")
    xzqhdm: str | None = text.code("XZQHDM", "village of registration")
    hjdz: str | None = text.long("HJDZ", "registered address")
    lxdh: str | None = text.phone("LXDH", "phone")
    ryzt: str | None = text.code("RYZT", "1 active, 2 deceased, 3 moved out")
    gxsj: str | None = text.date("GXSJ", "last updated, Beijing time")


class CivilEnrollmentRow(RawRecord):
    """T_JZ_DBXX: a social-assistance enrolment (社会救助)."""

    key_alias = "DBID"
    kind = "enrollment"

    dbid: str = text.key("DBID", required=True, min_length=1)
    jmid: str | None = text.key("JMID", "the resident (T_HJ_JMXX.JMID)")
    jzlx: str | None = text.code("JZLX", "assistance type 01-05")
    je: str | None = text.code("JE", "yuan per month, decimal text")
    ksrq: str | None = text.date("KSRQ", "start YYYYMMDD")
    jsrq: str | None = text.date("JSRQ", "end YYYYMMDD, empty while open")
    zt: str | None = text.code("ZT", "1 receiving, 0 stopped")
    gxsj: str | None = text.date("GXSJ")


class CivilServiceRow(RawRecord):
    """T_FW_FWSX: a service item offered by civil affairs (服务事项)."""

    key_alias = "SXBM"
    kind = "service"

    sxbm: str = text.key("SXBM", "item code", required=True, min_length=1)
    sxmc: str | None = text.long("SXMC", "name")
    blqd: str | None = text.long("BLQD", "channels: 线上,线下,代办")
    bldd: str | None = text.long("BLDD", "where")
    cnqx: str | None = text.code("CNQX", "promised days")
    sxzt: str | None = text.code("SXZT", "1 offered, 0 withdrawn")
    gxsj: str | None = text.date("GXSJ")


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
