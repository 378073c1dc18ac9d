"""Golden files of the pure translations: every quirk of docs/sources.md, raw payload in, unified record out.

The cases are here; the expected outputs live in golden/<source>.json. After a deliberate change of a
translation, regenerate with ``GOLDEN_UPDATE=1 pytest tests/connectors/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from connectors.civil_affairs.models import CivilEnrollmentRow, CivilResidentRow, CivilServiceRow
from connectors.civil_affairs.translate import translate_enrollment, translate_resident, translate_service
from connectors.demo.reference import HR_SERVICES
from connectors.gazetteer import GazetteerRow, translate_region
from connectors.gazetteer.reader import VillageIndex
from connectors.hr_api.models import EXAMPLE_PERSON, HrPerson, HrService
from connectors.hr_api.translate import translate_person
from connectors.hr_api.translate import translate_service as translate_hr_service
from connectors.hr_migrant_register.models import RegisterRow
from connectors.hr_migrant_register.translate import translate_row
from connectors.publicity.models import FeedItem
from connectors.publicity.translate import translate_item
from connectors.sdk.errors import RecordInvalid
from connectors.sdk.records import RawRecord
from tests.connectors.conftest import make_id

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"

ID = make_id("19880421", 137)
ID_X = make_id("19610105", 644)  # ends in X
assert ID_X.endswith("X")
BAD_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")


def person_row(**changes: str) -> dict[str, str]:
    """A clean T_HJ_JMXX row, changed as a case needs."""
    row = {
        "JMID": "MZ00000001",
        "XM": "徐建琳",
        "SFZHM": ID,
        "XB": "1",
        "CSRQ": "19880421",
        "MZ": "01",
        "HH": "H511599000001",
        "YHZGX": "02",
        "XZQHDM": "511599101201",
        "HJDZ": "四川省宜宾市示范县龙头村2组30号",
        "LXDH": "15012986581",
        "RYZT": "1",
        "GXSJ": "2025-07-16 00:55:00",
    }
    return row | changes


def hr_item(**changes: Any) -> dict[str, Any]:
    """A clean HR person item, changed as a case needs."""
    item = copy.deepcopy(EXAMPLE_PERSON) | {"idCardNo": ID, "birthDate": "1988-04-21"}
    item["insurances"].append(
        {"type": "URBAN_RURAL_MEDICAL", "status": "TERMINATED", "since": "2014-01-01", "monthlyBenefit": None}
    )
    return item | changes


def register_row(**changes: str) -> dict[str, str]:
    """A clean register row of the October file, changed as a case needs."""
    row = {
        "_file": "hr_migrant_register_2026-10.csv",
        "序号": "7",
        "姓名": "徐建琳",
        "身份证号码": ID,
        "性别": "男",
        "户籍所在村": "龙头村",
        "村代码": "511599101201",
        "务工省份": "广东省",
        "务工城市": "东莞市",
        "外出时间": "2024/3/5",
        "返乡时间": "",
        "联系电话": "15012986581",
        "登记日期": "2026/10/17",
    }
    return row | changes


def feed_item(**changes: Any) -> dict[str, Any]:
    """A clean feed item, changed as a case needs."""
    item = {
        "guid": "notice-1",
        "title": "关于医保参保的通知",
        "link": "https://media.example/n/1",
        "description": "<p>关于医保参保的通知。</p>",
        "pubDate": "Mon, 13 Jul 2026 07:00:00 +0800",
        "category": "通知公告",
        "gov:region": ["511599100201"],
        "gov:audience": ["老年人", "务工人员"],
        "gov:expires": "2026-07-27T07:00:00+08:00",
    }
    return item | changes


VILLAGES = VillageIndex(
    county="511599",
    names={"511599101201": "龙头村", "511599100202": "松桥村", "511599101202": "松桥村"},
    codes={"龙头村": ["511599101201"], "松桥村": ["511599100202", "511599101202"]},
)

Translate = Callable[[Any], Any]


def translate_register(raw: RegisterRow) -> Any:
    """Translate a register row against the small village index above."""
    return translate_row(raw, villages=VILLAGES)


CASES: dict[str, list[tuple[str, type[RawRecord], Translate, dict[str, Any]]]] = {
    "civil_affairs": [
        ("clean resident", CivilResidentRow, translate_resident, person_row()),
        (
            "legacy 15-digit ID upgraded",
            CivilResidentRow,
            translate_resident,
            person_row(SFZHM=ID[:6] + ID[8:17]),
        ),
        (
            "lowercase x",
            CivilResidentRow,
            translate_resident,
            person_row(SFZHM=ID_X.lower(), CSRQ="19610105"),
        ),
        ("no ID at all: needs review", CivilResidentRow, translate_resident, person_row(SFZHM="")),
        ("wrong check character", CivilResidentRow, translate_resident, person_row(SFZHM=BAD_CHECK)),
        (
            "impossible date in ID",
            CivilResidentRow,
            translate_resident,
            person_row(SFZHM=ID[:10] + "1399" + ID[14:]),
        ),
        (
            "CSRQ 00000000: birth date from ID",
            CivilResidentRow,
            translate_resident,
            person_row(CSRQ="00000000"),
        ),
        (
            "spaces and U+3000 around a name",
            CivilResidentRow,
            translate_resident,
            person_row(XM="\u3000潘子刚 "),
        ),
        ("bullet middle dot", CivilResidentRow, translate_resident, person_row(XM=" 阿苏•拉则 ")),
        ("full stop middle dot", CivilResidentRow, translate_resident, person_row(XM="沙马.依作")),
        ("phone with dash and space", CivilResidentRow, translate_resident, person_row(LXDH="181-0177 4749")),
        (
            "full-width phone digits",
            CivilResidentRow,
            translate_resident,
            person_row(LXDH="１５０３５７２０３３９"),
        ),
        ("phone 无", CivilResidentRow, translate_resident, person_row(LXDH="无")),
        ("relation 01 self is head", CivilResidentRow, translate_resident, person_row(YHZGX="01")),
        ("deceased", CivilResidentRow, translate_resident, person_row(RYZT="2")),
        ("moved out", CivilResidentRow, translate_resident, person_row(RYZT="3", YHZGX="30", XB="2")),
        ("sex code outside GB/T 2261.1", CivilResidentRow, translate_resident, person_row(XB="5")),
        ("short region code padded", CivilResidentRow, translate_resident, person_row(XZQHDM="5115991012")),
        (
            "open-ended benefit",
            CivilEnrollmentRow,
            translate_enrollment,
            {
                "DBID": "DB1",
                "JMID": "MZ00000001",
                "JZLX": "01",
                "JE": "580.00",
                "KSRQ": "20250930",
                "JSRQ": "",
                "ZT": "1",
                "GXSJ": "2024-12-12 01:10:00",
            },
        ),
        (
            "stopped benefit",
            CivilEnrollmentRow,
            translate_enrollment,
            {
                "DBID": "DB2",
                "JMID": "MZ00000001",
                "JZLX": "05",
                "JE": "100",
                "KSRQ": "20211105",
                "JSRQ": "20220817",
                "ZT": "0",
                "GXSJ": "2026-05-19 06:12:00",
            },
        ),
        (
            "amount not a number",
            CivilEnrollmentRow,
            translate_enrollment,
            {"DBID": "DB3", "JMID": "MZ00000001", "JZLX": "04", "JE": "九十", "KSRQ": "20250101", "ZT": "1"},
        ),
        (
            "service item",
            CivilServiceRow,
            translate_service,
            {
                "SXBM": "MZ001",
                "SXMC": "城乡最低生活保障申请",
                "BLQD": "线上,线下,代办",
                "BLDD": "示范县政务服务中心",
                "CNQX": "20",
                "SXZT": "1",
                "GXSJ": "2026-01-05 10:00:00",
            },
        ),
        (
            "withdrawn service item",
            CivilServiceRow,
            translate_service,
            {
                "SXBM": "MZ005",
                "SXMC": "殡葬补贴申领",
                "BLQD": "线下",
                "BLDD": "",
                "CNQX": "10",
                "SXZT": "0",
                "GXSJ": "2026-01-05 10:00:00",
            },
        ),
    ],
    "hr_api": [
        ("person with employment and insurances", HrPerson, translate_person, hr_item()),
        ("no employment", HrPerson, translate_person, hr_item(employment=None, insurances=[])),
        ("gender 未知", HrPerson, translate_person, hr_item(gender="未知")),
        ("lowercase x", HrPerson, translate_person, hr_item(idCardNo=ID_X.lower(), birthDate="1961-01-05")),
        ("wrong check character", HrPerson, translate_person, hr_item(idCardNo=BAD_CHECK)),
        (
            "pension paid monthly",
            HrPerson,
            translate_person,
            hr_item(
                employment={"status": "RETIRED", "employer": None, "since": "1996-02"},
                insurances=[
                    {
                        "type": "EMPLOYEE_PENSION",
                        "status": "ACTIVE",
                        "since": "2010-01-01",
                        "monthlyBenefit": 169.8,
                    }
                ],
            ),
        ),
        ("full-width phone", HrPerson, translate_person, hr_item(phone="１３８００００００００")),
        (
            "service item",
            HrService,
            translate_hr_service,
            dict(HR_SERVICES[0]),  # RS101 城乡居民养老保险参保登记, as the demo's HR API serves it
        ),
    ],
    "hr_migrant_register": [
        ("clean row", RegisterRow, translate_register, register_row()),
        ("blank 村代码 resolved by name", RegisterRow, translate_register, register_row(村代码="")),
        ("unknown village", RegisterRow, translate_register, register_row(户籍所在村="水家村", 村代码="")),
        (
            "ambiguous village name",
            RegisterRow,
            translate_register,
            register_row(户籍所在村="松桥村", 村代码=""),
        ),
        ("code and name disagree", RegisterRow, translate_register, register_row(户籍所在村="松桥村")),
        ("scientific notation ID", RegisterRow, translate_register, register_row(身份证号码="5.11599E+17")),
        ("legacy 15-digit ID", RegisterRow, translate_register, register_row(身份证号码=ID[:6] + ID[8:17])),
        (
            "dates with dashes, returned home",
            RegisterRow,
            translate_register,
            register_row(外出时间="2023-05-02", 返乡时间="2024-03-26"),
        ),
        ("dates as 年月", RegisterRow, translate_register, register_row(外出时间="2023年4月")),
        (
            "dates as 2024.3",
            RegisterRow,
            translate_register,
            register_row(外出时间="2024.3", 登记日期="2026.10"),
        ),
        ("impossible date", RegisterRow, translate_register, register_row(外出时间="2024/2/30")),
    ],
    "publicity": [
        ("clean notice", FeedItem, translate_item, feed_item()),
        (
            "script dropped",
            FeedItem,
            translate_item,
            feed_item(description="<p>通知。</p><script>alert(1)</script>"),
        ),
        (
            "on* handler dropped",
            FeedItem,
            translate_item,
            feed_item(description='<p>通知。</p><p style="x" onclick="steal()">详情</p>'),
        ),
        (
            "javascript: link neutralised",
            FeedItem,
            translate_item,
            feed_item(description='<p>通知。</p><a href="javascript:alert(3)">点击</a>'),
        ),
        (
            "remote iframe dropped",
            FeedItem,
            translate_item,
            feed_item(description='<p>通知。</p><iframe src="http://example.invalid/"></iframe>'),
        ),
        (
            "remote image dropped",
            FeedItem,
            translate_item,
            feed_item(description='<p>通知。</p><img src="http://x.example/a.png" onerror="alert(2)">'),
        ),
        (
            "safe link kept",
            FeedItem,
            translate_item,
            feed_item(description='<p>详见<a href="https://gov.example/a" onmouseover="x()">公告</a>。</p>'),
        ),
        (
            "no audience: everyone, no expiry",
            FeedItem,
            translate_item,
            feed_item(**{"gov:audience": [], "gov:expires": None}),
        ),
        (
            "county-wide, region prefix padded",
            FeedItem,
            translate_item,
            feed_item(**{"gov:region": ["5115990000"]}),
        ),
        ("no region", FeedItem, translate_item, feed_item(**{"gov:region": []})),
        ("unknown category", FeedItem, translate_item, feed_item(category="娱乐新闻")),
    ],
    "gazetteer": [
        (
            "village",
            GazetteerRow,
            translate_region,
            {"code": "511599101201", "name": "龙头村", "level": "village", "parent_code": "511599101000"},
        ),
        (
            "province, short code padded",
            GazetteerRow,
            translate_region,
            {"code": "51", "name": "四川省", "level": "province", "parent_code": ""},
        ),
        (
            "unknown level",
            GazetteerRow,
            translate_region,
            {"code": "511599", "name": "示范县", "level": "district", "parent_code": "511500000000"},
        ),
    ],
}


def render(result: Any) -> Any:
    """Return a translation as JSON-ready data."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return orjson.loads(orjson.dumps(result))


def run_case(model: type[RawRecord], translate: Translate, payload: dict[str, Any]) -> Any:
    """Validate and translate one payload: the output, or the reason it is held back."""
    raw = model.model_validate(payload)
    try:
        return render(translate(raw))
    except RecordInvalid as exc:
        return {"held": exc.reason}


@pytest.mark.parametrize("source", sorted(CASES))
def test_golden(source: str) -> None:
    """Each case translates to exactly its golden output."""
    got = {
        name: {"raw": payload, "out": run_case(model, fn, payload)}
        for name, model, fn, payload in CASES[source]
    }
    path = GOLDEN / f"{source}.json"
    if UPDATE:
        path.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2) + b"\n")
    want = orjson.loads(path.read_bytes())
    assert set(got) == set(want), "cases added or removed: regenerate with GOLDEN_UPDATE=1"
    for name in got:
        assert got[name]["raw"] == want[name]["raw"], name
        assert got[name]["out"] == want[name]["out"], name
