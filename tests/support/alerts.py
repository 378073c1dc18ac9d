"""A county for the early-warning tests: one resident per shipped rule (and near misses), the evaluator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, insert

from gateway.alerts.evaluate import raise_alerts
from schemas.codes import ResidentStatus, Tag
from store.tables.alerts import AppealRow
from store.tables.records import EnrollmentRow, MigrationRow
from tests.support import factories

TODAY = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC)
VILLAGE, OTHER_TOWNSHIP_VILLAGE = "511599100201", "511599200201"
ALERT_SCOPES = ["residents:read", "alerts:read", "alerts:write", "changes:read", "subscriptions:write"]
# client id -> (department, region, scopes)
CLIENTS: dict[str, tuple[str, str, list[str]]] = {
    "civil-affairs": ("civil_affairs", "511599000000", ALERT_SCOPES),
    "hr": ("hr", "511599000000", ALERT_SCOPES),
    # 民政 of one township: the same rules, its own villages' residents only.
    "qingshan-civil": ("civil_affairs", "511599100000", ALERT_SCOPES),
    "civil-reader": ("civil_affairs", "511599000000", ["residents:read", "alerts:read"]),
}


@dataclass
class Cast:
    """Residents by the rule they should raise (and near misses that should raise nothing)."""

    ids: dict[str, str]


def add_enrollment(
    engine: Engine, rid: str, key: str, kind: str, *, status: str = "active", **extra: Any
) -> None:
    """Insert one enrolment (as the civil-affairs or HR sync would)."""
    # The filter columns are fields of the served document too.
    columns = {"id": f"civil_affairs:{key}", "resident_id": rid, "kind": kind, "status": status,
               "source": "civil_affairs", "record_key": key}  # fmt: skip
    doc = {**columns, "department": "civil_affairs", **extra}
    factories.insert_row(
        engine, EnrollmentRow, **columns, updated_at=factories.NOW, doc=orjson.dumps(doc).decode()
    )


def add_migration(engine: Engine, rid: str, *, returned_on: str | None) -> None:
    """Insert one migrant-register row."""
    columns = {"resident_id": rid, "source": "hr_migrant_register", "record_key": f"WG{rid}"}
    doc = {**columns, "work_province": "广东省", "returned_on": returned_on}
    factories.insert_row(
        engine, MigrationRow, **columns, updated_at=factories.NOW, doc=orjson.dumps(doc).decode()
    )


def _resident(engine: Engine, name: str, *, region: str = VILLAGE, **fields: Any) -> str:
    return factories.add_resident(engine, region_code=region, name=name, **fields).id


def populate(engine: Engine) -> Cast:
    """Insert one resident per shipped rule, near misses, and one case outside the township."""
    ids: dict[str, str] = {}
    dead = ResidentStatus.DECEASED
    ids["deceased"] = _resident(
        engine, "赵一", status=dead, birth_date=dt.date(1940, 1, 1), address="青山村1组1号"
    )
    add_enrollment(engine, ids["deceased"], "D1", "minimum_living_allowance")
    add_enrollment(engine, ids["deceased"], "P1", "urban_rural_pension")
    ids["deceased_stopped"] = _resident(engine, "赵二", status=dead, birth_date=dt.date(1941, 1, 1))
    add_enrollment(engine, ids["deceased_stopped"], "D2", "minimum_living_allowance", status="stopped")
    ids["deceased_elsewhere"] = _resident(engine, "赵三", status=dead, region=OTHER_TOWNSHIP_VILLAGE)
    add_enrollment(engine, ids["deceased_elsewhere"], "D3", "minimum_living_allowance")
    old_alone = [Tag.ELDERLY, Tag.LIVING_ALONE]
    ids["alone"] = _resident(
        engine, "钱一", birth_date=dt.date(1945, 5, 1), tags=old_alone, household_id="HA"
    )
    ids["alone_insured"] = _resident(engine, "钱二", birth_date=dt.date(1945, 5, 1), tags=old_alone)
    add_enrollment(engine, ids["alone_insured"], "M1", "urban_rural_medical")
    ids["child"] = _resident(engine, "孙一", birth_date=dt.date(2016, 2, 1), relation="20",
                             tags=[Tag.LEFT_BEHIND_CHILD], household_id="HC")  # fmt: skip
    ids["parent"] = _resident(engine, "孙父", birth_date=dt.date(1988, 1, 1), relation="02",
                              tags=[Tag.MIGRANT_WORKER], household_id="HC")  # fmt: skip
    ids["child_kept"] = _resident(engine, "李一", birth_date=dt.date(2016, 2, 1), relation="40",
                                  tags=[Tag.LEFT_BEHIND_CHILD], household_id="HK")  # fmt: skip
    ids["grandma"] = _resident(engine, "李奶奶", birth_date=dt.date(1958, 1, 1), relation="02",
                               tags=[Tag.ELDERLY], household_id="HK")  # fmt: skip
    add_enrollment(engine, ids["grandma"], "M2", "urban_rural_medical")
    ids["disabled"] = _resident(engine, "周一", birth_date=dt.date(1975, 1, 1), tags=[Tag.DISABLED])
    add_enrollment(engine, ids["disabled"], "S1", "disability_subsidy", end="2027-12-31")
    ids["ending"] = _resident(engine, "吴一", birth_date=dt.date(1970, 1, 1), tags=[Tag.LOW_INCOME])
    add_enrollment(engine, ids["ending"], "D4", "minimum_living_allowance", end="2026-11-21")
    ids["not_ending"] = _resident(engine, "吴二", birth_date=dt.date(1970, 1, 1), tags=[Tag.LOW_INCOME])
    add_enrollment(engine, ids["not_ending"], "D5", "minimum_living_allowance", end="2027-06-30")
    ids["returned"] = _resident(engine, "郑一", birth_date=dt.date(1990, 1, 1), address="青山村2组8号",
                                phone="13800000001")  # fmt: skip
    add_migration(engine, ids["returned"], returned_on="2026-10-10")
    ids["away"] = _resident(engine, "郑二", birth_date=dt.date(1991, 1, 1), tags=[Tag.MIGRANT_WORKER])
    add_migration(engine, ids["away"], returned_on=None)
    return Cast(ids)


def evaluate(engine: Engine) -> int:
    """Run the evaluator the sync and the push run; return how many items it raised."""
    with engine.connect() as conn:
        return len(raise_alerts(conn, now=NOW, today=TODAY))


def add_appeals(engine: Engine, n: int, *, region: str, category: str, state: str) -> None:
    """Insert `n` requests of a region, category and state (the dashboard's worklist tables count them)."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(
                insert(AppealRow.__table__).values(  # type: ignore[arg-type]
                    id=f"Q{category[:4].upper()}{region[-3:]}{state[:2].upper()}{i:04d}"[:17],
                    resident_id="R1",
                    region_code=region,
                    category=category,
                    description="—",
                    urgency="normal",
                    channel="agent",
                    recorded_by_client="x",
                    department="hr",
                    due_date=dt.date(2026, 11, 15),
                    state=state,
                    overdue=False,
                    created_at=now,
                    updated_at=now,
                )
            )
