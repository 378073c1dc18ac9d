"""Response models of the village statistics (村级统计): counts only, never a person."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import LabelledEnum
from schemas.models import RegionCode

Count = Annotated[
    int | str | None,
    Field(
        description=(
            'A count of people or households. `"<5"` (with the configured minimum cell size) when it is '
            'between 1 and k-1; `"*"` when it is hidden to protect another cell (then it is at least k); '
            "null when the whole table is withheld."
        ),
        examples=[12, "<5", "*"],
    ),
]


class GroupLevel(LabelledEnum):
    """Level the rows of a statistics table are grouped by."""

    VILLAGE = "village", "村(社区)"
    TOWNSHIP = "township", "乡镇"


class RegionCount(BaseModel):
    """One region's count."""

    code: RegionCode
    name: str | None = Field(description="Region name from the gazetteer (名称).")
    count: Count


class CountTable(BaseModel):
    """Counts per region with their total."""

    title: str = Field(description="Chinese title of the table.")
    rows: list[RegionCount]
    total: Count
    withheld: bool = Field(description="True when no protection was possible and nothing is published.")


class MigrantRow(BaseModel):
    """One region's migrant workers by province of work, aligned with `MigrantTable.provinces`."""

    code: RegionCode
    name: str | None
    counts: list[Count]
    total: Count


class MigrantTable(BaseModel):
    """Migrant workers (外出务工人员) per region and province of work (务工省份)."""

    title: str
    provinces: list[str] = Field(description="Column headings; `未登记` when no migration record exists.")
    rows: list[MigrantRow]
    province_totals: list[Count]
    total: Count
    withheld: bool


class CoverageRow(BaseModel):
    """Adults (18+) of one region and how many hold an active pension and medical insurance."""

    code: RegionCode
    name: str | None
    adults: Count
    pension: Count = Field(description="With an active 城乡居民养老保险 or 职工养老保险.")
    pension_uncovered: Count
    pension_share: float | None = Field(description="pension / adults, when both are published.")
    medical: Count = Field(description="With an active 城乡居民医疗保险.")
    medical_uncovered: Count
    medical_share: float | None = Field(description="medical / adults, when both are published.")


class CoverageTable(BaseModel):
    """Pension and medical insurance coverage of adults (参保率), protected together."""

    title: str
    rows: list[CoverageRow]
    total: CoverageRow
    withheld: bool


class StatsReport(BaseModel):
    """Aggregated, small-cell-protected statistics of a region's subtree."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region": "511599100000",
                    "region_name": "青山镇",
                    "level": "village",
                    "min_cell": 5,
                    "as_of": "2026-11-01",
                    "elderly_living_alone": {
                        "title": "独居老人",
                        "rows": [
                            {"code": "511599100201", "name": "青山村", "count": 12},
                            {"code": "511599100202", "name": "竹林村", "count": "<5"},
                            {"code": "511599100203", "name": "石桥村", "count": "*"},
                        ],
                        "total": 25,
                        "withheld": False,
                    },
                    "low_income_households": {
                        "title": "低收入家庭(户)",
                        "rows": [],
                        "total": 0,
                        "withheld": False,
                    },
                    "left_behind_children": {"title": "留守儿童", "rows": [], "total": 0, "withheld": False},
                    "migrant_workers": {
                        "title": "外出务工人员(按务工省份)",
                        "provinces": ["广东省", "浙江省"],
                        "rows": [
                            {"code": "511599100201", "name": "青山村", "counts": [40, "<5"], "total": "*"},
                            {"code": "511599100202", "name": "竹林村", "counts": [22, "*"], "total": "*"},
                        ],
                        "province_totals": [62, 11],
                        "total": 73,
                        "withheld": False,
                    },
                    "insurance_coverage": {
                        "title": "成年人养老、医疗保险参保情况",
                        "rows": [],
                        "total": {
                            "code": "511599100000",
                            "name": "青山镇",
                            "adults": 812,
                            "pension": 760,
                            "pension_uncovered": 52,
                            "pension_share": 0.936,
                            "medical": 801,
                            "medical_uncovered": 11,
                            "medical_share": 0.986,
                        },
                        "withheld": False,
                    },
                }
            ]
        }
    )

    region: RegionCode = Field(description="Root of the subtree counted.")
    region_name: str | None
    level: GroupLevel = Field(description="Rows are regions of this level.")
    min_cell: int = Field(description='Counts from 1 to min_cell-1 are shown as "<min_cell".')
    as_of: dt.date = Field(description="Ages are computed on this date (UTC+8).")
    elderly_living_alone: CountTable = Field(description="独居老人: tagged both elderly and living alone.")
    low_income_households: CountTable = Field(
        description="低收入家庭: households with a member tagged low-income, by the household's region."
    )
    left_behind_children: CountTable = Field(description="留守儿童: residents tagged left-behind child.")
    migrant_workers: MigrantTable
    insurance_coverage: CoverageTable


class StatsTable(LabelledEnum):
    """A table of the statistics, as a series over months."""

    ELDERLY_LIVING_ALONE = "elderly_living_alone", "独居老人"
    LOW_INCOME_HOUSEHOLDS = "low_income_households", "低收入家庭(户)"
    LEFT_BEHIND_CHILDREN = "left_behind_children", "留守儿童"
    MIGRANT_WORKERS = "migrant_workers", "外出务工人员"
    INSURANCE_COVERAGE = "insurance_coverage", "成年人养老、医疗保险参保情况"


class SeriesPoint(BaseModel):
    """One kept snapshot's view of the table: the same cells `GET /v1/stats` published that day."""

    period: str = Field(description="Month of the snapshot (YYYY-MM).", examples=["2026-11"])
    as_of: dt.date = Field(description="Day the snapshot was taken (UTC+8).")
    min_cell: int = Field(description='Counts from 1 to min_cell-1 were shown as "<min_cell".')
    table: CountTable | MigrantTable | CoverageTable


class StatsSeries(BaseModel):
    """A table of a region's statistics over months, from the kept snapshots (monthly and on demand)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "table": "elderly_living_alone",
                    "region": "511599100000",
                    "region_name": "青山镇",
                    "level": "village",
                    "start": "2026-10",
                    "end": "2026-11",
                    "points": [
                        {
                            "period": "2026-10",
                            "as_of": "2026-10-01",
                            "min_cell": 5,
                            "table": {
                                "title": "独居老人",
                                "rows": [
                                    {"code": "511599100201", "name": "青山村", "count": 12},
                                    {"code": "511599100202", "name": "竹林村", "count": "<5"},
                                ],
                                "total": "*",
                                "withheld": False,
                            },
                        }
                    ],
                }
            ]
        }
    )

    table: StatsTable
    region: RegionCode
    region_name: str | None
    level: GroupLevel
    start: str = Field(description="First month asked for (YYYY-MM).")
    end: str = Field(description="Last month asked for (YYYY-MM).")
    points: list[SeriesPoint] = Field(description="Kept snapshots in the months asked for, oldest first.")
