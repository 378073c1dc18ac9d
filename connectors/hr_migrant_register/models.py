"""Raw rows of the monthly migrant-worker register (外出务工人员登记表), keyed by their Chinese headers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ConfigDict, Field

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import RawItem, RawRecord, identity_missing, text

FILE_FIELD = "_file"  # added by extract: the file a row came from (its month)
HEADER = (
    "序号",
    "姓名",
    "身份证号码",
    "性别",
    "户籍所在村",
    "村代码",
    "务工省份",
    "务工城市",
    "外出时间",
    "返乡时间",
    "联系电话",
    "登记日期",
)


class RegisterRow(RawRecord):
    """One row of a monthly register file; the record key is '<file name>#<序号>'."""

    key_alias = "序号"
    kind = "person"

    file: str = text.long(FILE_FIELD, required=True, min_length=1)
    seq: str = text.key("序号", required=True, min_length=1)
    name: str | None = text.name("姓名")
    id_no: str | None = text.id("身份证号码")
    sex: str | None = text.code("性别")
    village: str | None = text.long("户籍所在村")
    village_code: str | None = text.code("村代码")
    work_province: str | None = text.long("务工省份")
    work_city: str | None = text.long("务工城市")
    left_on: str | None = text.date("外出时间")
    returned_on: str | None = text.date("返乡时间")
    phone: str | None = text.phone("联系电话")
    registered_on: str | None = text.date("登记日期")

    @classmethod
    def with_village(cls, payload: dict[str, Any], code: str | None) -> dict[str, Any]:
        """Return the row with 村代码 set to the steward's choice (its 户籍所在村 name is checked still)."""
        return payload if code is None else {**payload, "村代码": code}

    def missing_identity(self) -> str | None:
        """A person needs a citizen ID number, or else a name and a village (never just a record key)."""
        return identity_missing(self.id_no, self.name, self.village_code or self.village)

    @classmethod
    def key_of(cls, payload: Mapping[str, Any]) -> str:
        """Return '<file>#<序号>' even for a payload that fails validation."""
        return f"{payload.get(FILE_FIELD)}#{payload.get('序号')}"

    def key(self) -> str:
        """Return '<file>#<序号>'."""
        return f"{self.file}#{self.seq}"


class MigrantRegisterPush(PushBatch):
    """Rows of one monthly register file, keyed by its Chinese header; `file` names the month they are for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "file": "hr_migrant_register_2026-11.csv",
                    "rows": [
                        {
                            "序号": "1",
                            "姓名": "徐建琳",
                            "身份证号码": "51159919880421137X",
                            "性别": "男",
                            "户籍所在村": "龙头村",
                            "村代码": "511599101201",
                            "务工省份": "广东省",
                            "务工城市": "东莞市",
                            "外出时间": "2020-04-02",
                            "返乡时间": "",
                            "联系电话": "15012986581",
                            "登记日期": "2026/11/03",
                        }
                    ],
                }
            ]
        }
    )

    streams = (("rows", RegisterRow),)
    max_key = 80  # '<file>#<序号>'

    file: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[^/\\]*\d{4}-\d{2}[^/\\]*$",
        description="The monthly file these rows belong to (its YYYY-MM decides which month wins), "
        "e.g. hr_migrant_register_2026-11.csv.",
    )
    rows: list[Payload] = Field(default_factory=list, description="Rows keyed by the file's Chinese header.")

    def raw_items(self) -> Iterator[RawItem]:
        """Yield the rows with the file they belong to, as extract reads them from the directory."""
        for payload in self.rows:
            yield RawItem(RegisterRow, {**payload, FILE_FIELD: self.file})
