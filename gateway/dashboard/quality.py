"""The dashboard's quality page (数据质量反馈): for each source of the caller's department, the records
held back by reason over time, the records to correct (downloadable as CSV) and those released after the
department corrected them. The same report as GET /v1/quality/{source}, and the same reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.tokens import Principal
from gateway.quality import service
from gateway.quarantine.service import reach

# Reason codes (connectors/sdk/errors.py) as village and department staff read them.
REASONS = {
    "invalid_id": "身份证号码校验不通过",
    "missing_id": "缺少身份证号码",
    "unknown_village": "村名或村代码不在区划表中",
    "unrecoverable_id": "身份证号码被表格软件改坏",
    "ambiguous_village": "村名重名,无法确定是哪个村",
    "village_mismatch": "村代码与村名不一致",
    "invalid_code": "代码不在国家标准代码表中",
    "invalid_date": "日期无效",
    "invalid_region": "区划代码无效",
    "invalid_amount": "金额无效",
    "invalid_record": "记录格式不符合约定",
    "missing_identity": "既无身份证号码,也无姓名和村",
    "unknown_resident": "关联的人员记录不存在",
    "id_conflict": "重号:同一身份证号码对应不同的人",
    "resident_held_back": "所属人员记录被暂扣",
}
SOURCES = {
    "civil_affairs": "民政 户籍与救助系统",
    "hr_api": "人社 业务系统接口",
    "hr_migrant_register": "人社 外出务工人员登记表",
    "publicity": "宣传 融媒体中心公告",
}
SHOWN = 200  # rows of each list on the page; the CSV holds all of them


def reason_label(code: str) -> str:
    """Return the Chinese label of a reason code (the code itself when unknown)."""
    return REASONS.get(code, code)


@dataclass(frozen=True, slots=True)
class SourceQuality:
    """One source's section of the quality page."""

    source: str
    name: str
    open_by_reason: list[tuple[str, int]]  # (label, records held back now)
    reasons: list[tuple[str, str]]  # (code, label): the columns of the table over time
    by_day: list[tuple[str, list[int]]]  # (day, count per reason)
    to_correct: list[dict[str, Any]]
    to_correct_total: int
    released: list[dict[str, Any]]
    released_total: int


async def build(engine: AsyncEngine, principal: Principal) -> list[SourceQuality]:
    """Return the quality sections of every source of the caller's department."""
    out: list[SourceQuality] = []
    for source in reach(principal):
        report = await service.feedback(engine, source, principal=principal)
        days = report["held_back_by_day"]
        codes = sorted({code for d in days for code in d["reasons"]})
        open_counts = sorted(report["open_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(
            SourceQuality(
                source=source,
                name=SOURCES.get(source, source),
                open_by_reason=[(reason_label(code), n) for code, n in open_counts],
                reasons=[(code, reason_label(code)) for code in codes],
                by_day=[(d["day"], [d["reasons"].get(code, 0) for code in codes]) for d in days],
                to_correct=report["to_correct"][:SHOWN],
                to_correct_total=len(report["to_correct"]),
                released=report["released"][:SHOWN],
                released_total=report["released_total"],
            )
        )
    return out
