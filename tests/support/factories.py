"""Insert unified records straight into a store, for read-API tests that need exact, small data."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import SQLModel

from schemas.models import Household, Notice, Region, Resident, Service
from schemas.regions import region_level
from store.tables.records import (
    HouseholdRow,
    NoticeRegionRow,
    NoticeRow,
    RegionRow,
    ResidentRow,
    ResidentTagRow,
    ServiceRow,
)

_ids = itertools.count(1)
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def insert_row(engine: Engine, model: type[SQLModel], **values: Any) -> None:
    """Insert one row of a table model, its columns by name."""
    with engine.begin() as conn:
        conn.execute(insert(model.__table__).values(**values))  # type: ignore[attr-defined]


def add_region(engine: Engine, code: str, name: str, *, parent: str | None = None) -> Region:
    """Insert a gazetteer region."""
    region = Region(code=code, name=name, level=region_level(code), parent_code=parent)  # type: ignore[arg-type]
    insert_row(
        engine,
        RegionRow,
        code=code,
        name=name,
        level=region.level.value,
        parent_code=parent,
        doc=region.model_dump_json(),
    )
    return region


def county(engine: Engine) -> None:
    """Insert a small gazetteer: one county, two townships, three villages."""
    add_region(engine, "510000000000", "四川省")
    add_region(engine, "511500000000", "宜宾市", parent="510000000000")
    add_region(engine, "511599000000", "示范县", parent="511500000000")
    add_region(engine, "511599100000", "青山镇", parent="511599000000")
    add_region(engine, "511599200000", "石门乡", parent="511599000000")
    add_region(engine, "511599100201", "青山村", parent="511599100000")
    add_region(engine, "511599100202", "竹林村", parent="511599100000")
    add_region(engine, "511599200201", "石门村", parent="511599200000")


def resident_id(n: int) -> str:
    """Return a deterministic test resident id."""
    return f"R{n:011d}"


def add_resident(
    engine: Engine, *, rid: str | None = None, updated_at: dt.datetime = NOW, **fields: Any
) -> Resident:
    """Insert one resident (document plus filter columns and tags)."""
    rid = rid or resident_id(next(_ids))
    res = Resident(id=rid, updated_at=updated_at, **fields)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(ResidentRow.__table__).values(  # type: ignore[arg-type]
                id=rid,
                national_id=res.national_id,
                region_code=res.region_code,
                household_id=res.household_id,
                status=res.status.value,
                needs_review=res.needs_review,
                birth_date=res.birth_date,  # as the sync writes it (rules and birthday marks read it)
                updated_at=updated_at.astimezone(dt.UTC).replace(tzinfo=None)
                if engine.dialect.name == "sqlite"
                else updated_at,
                created_at=now,
                doc=res.model_dump_json(),
            )
        )
        if res.tags:
            conn.execute(
                insert(ResidentTagRow.__table__),  # type: ignore[arg-type]
                [{"resident_id": rid, "tag": t.value} for t in res.tags],
            )
    return res


def add_household(
    engine: Engine, *, hid: str, household_no: str, region_code: str, head: str | None
) -> Household:
    """Insert a household row."""
    insert_row(
        engine,
        HouseholdRow,
        id=hid,
        household_no=household_no,
        region_code=region_code,
        head_resident_id=head,
        updated_at=NOW,
    )
    return Household(id=hid, household_no=household_no, region_code=region_code, head_resident_id=head)


def add_service(engine: Engine, service: Service) -> None:
    """Insert a service item."""
    insert_row(
        engine,
        ServiceRow,
        id=service.id,
        department=service.department.value,
        active=service.active,
        updated_at=NOW,
        doc=service.model_dump_json(),
    )


def add_notice(engine: Engine, notice: Notice) -> None:
    """Insert a notice with its regions."""
    with engine.begin() as conn:
        conn.execute(
            insert(NoticeRow.__table__).values(  # type: ignore[arg-type]
                id=notice.id,
                category=notice.category.value,
                audiences="," + ",".join(a.value for a in notice.audiences) + ",",
                published_at=notice.published_at,
                expires_at=notice.expires_at,
                updated_at=NOW,
                doc=notice.model_dump_json(),
            )
        )
        conn.execute(
            insert(NoticeRegionRow.__table__),  # type: ignore[arg-type]
            [{"notice_id": notice.id, "region_code": r} for r in notice.regions],
        )
