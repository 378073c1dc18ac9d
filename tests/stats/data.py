"""A small county for the statistics and dashboard tests, inserted through the factories."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from opentelemetry import trace
from sqlalchemy import Engine, insert

from gateway.stats.snapshots import take_snapshot
from schemas.codes import Tag
from schemas.models import Enrollment, Migration
from store.engines import make_async_engine
from store.read import open_read_store
from store.tables.records import EnrollmentRow, MigrationRow
from tests.support import factories
from tests.support.factories import NOW

QINGSHAN, ZHULIN, SHIMEN = "511599100201", "511599100202", "511599200201"
TOWN_QS, TOWN_SM, COUNTY = "511599100000", "511599200000", "511599000000"
TODAY = dt.date(2026, 11, 1)
_seq = itertools.count(1)


def add_enrollment(engine: Engine, resident_id: str, kind: str, status: str = "active") -> None:
    """Insert one enrolment of a resident."""
    n = next(_seq)
    doc = Enrollment(
        id=f"E{n}",
        resident_id=resident_id,
        kind=kind,
        department="hr",
        status=status,  # type: ignore[arg-type]
        source="test",
        record_key=f"K{n}",
    )
    with engine.begin() as conn:
        conn.execute(
            insert(EnrollmentRow.__table__).values(  # type: ignore[arg-type]
                id=doc.id,
                resident_id=resident_id,
                kind=kind,
                status=status,
                source="test",
                record_key=doc.record_key,
                updated_at=NOW,
                doc=doc.model_dump_json(),
            )
        )


def add_migration(
    engine: Engine, resident_id: str, province: str, *, registered: dt.date, source: str = "hr_register"
) -> None:
    """Insert one migration record of a resident."""
    doc = Migration(
        resident_id=resident_id,
        work_province=province,
        registered_on=registered,
        source=source,
        record_key=f"M{next(_seq)}",
    )
    with engine.begin() as conn:
        conn.execute(
            insert(MigrationRow.__table__).values(  # type: ignore[arg-type]
                resident_id=resident_id,
                source=source,
                record_key=doc.record_key,
                updated_at=NOW,
                doc=doc.model_dump_json(),
            )
        )


def populate(engine: Engine) -> None:
    """Insert residents, households, enrolments and migrations with known counts (see the tests)."""
    add = factories.add_resident
    old = dt.date(1950, 1, 1)
    # Elderly living alone: 青山村 6, 竹林村 2, 石门村 7; others that must not count.
    for _ in range(6):
        add(engine, region_code=QINGSHAN, birth_date=old, name="独居甲", tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
    for _ in range(2):
        add(engine, region_code=ZHULIN, birth_date=old, tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
    for _ in range(7):
        add(engine, region_code=SHIMEN, birth_date=old, tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
    add(engine, region_code=QINGSHAN, birth_date=old, tags=[Tag.ELDERLY])
    add(engine, region_code=QINGSHAN, birth_date=old, status="deceased", tags=[Tag.ELDERLY, Tag.LIVING_ALONE])
    # Low-income households: one in 青山村 with two low-income members, one in 竹林村; one without household.
    factories.add_household(engine, hid="H1", household_no="QS-1", region_code=QINGSHAN, head=None)
    factories.add_household(engine, hid="H2", household_no="ZL-1", region_code=ZHULIN, head=None)
    factories.add_household(engine, hid="H3", household_no="ZL-2", region_code=ZHULIN, head=None)
    for hid in ("H1", "H1", "H2"):
        add(engine, region_code=QINGSHAN if hid == "H1" else ZHULIN, household_id=hid, tags=[Tag.LOW_INCOME])
    add(engine, region_code=ZHULIN, household_id="H3")
    add(engine, region_code=ZHULIN, tags=[Tag.LOW_INCOME])
    # Left-behind children: 石门村 3.
    for _ in range(3):
        add(engine, region_code=SHIMEN, birth_date=dt.date(2016, 5, 1), tags=[Tag.LEFT_BEHIND_CHILD])
    # Migrant workers of 青山村: 广东省 6 (one has an older 浙江省 record), 浙江省 1, 1 unregistered.
    for i in range(6):
        r = add(engine, region_code=QINGSHAN, birth_date=dt.date(1990, 1, 1), tags=[Tag.MIGRANT_WORKER])
        add_migration(engine, r.id, "广东省", registered=dt.date(2026, 3, 1))
        if i == 0:
            add_migration(engine, r.id, "浙江省", registered=dt.date(2025, 3, 1), source="village_register")
    r = add(engine, region_code=QINGSHAN, birth_date=dt.date(1990, 1, 1), tags=[Tag.MIGRANT_WORKER])
    add_migration(engine, r.id, "浙江省", registered=dt.date(2026, 3, 1))
    add(engine, region_code=QINGSHAN, birth_date=dt.date(1990, 1, 1), tags=[Tag.MIGRANT_WORKER])
    # Insurance of 竹林村 adults (2 elderly + 4 below, all born before 2008-11-01): pensions and medical.
    zl = [add(engine, region_code=ZHULIN, birth_date=dt.date(1980, 6, 1)) for _ in range(3)]
    add(engine, region_code=ZHULIN, birth_date=dt.date(2008, 11, 1))  # turns 18 on TODAY: an adult
    add(engine, region_code=ZHULIN, birth_date=dt.date(2008, 11, 2))  # 17: not an adult
    add_enrollment(engine, zl[0].id, "urban_rural_pension")
    add_enrollment(engine, zl[0].id, "urban_rural_medical")
    add_enrollment(engine, zl[1].id, "employee_pension")
    add_enrollment(engine, zl[1].id, "urban_rural_medical")
    add_enrollment(engine, zl[1].id, "urban_rural_medical", status="stopped")
    add_enrollment(engine, zl[2].id, "urban_rural_pension", status="stopped")


def snapshot(url: str, as_of: dt.date, *, root: str = COUNTY) -> None:
    """Keep a county's statistics release of a day, as `gateway stats snapshot` does."""

    async def run() -> None:
        engine = make_async_engine(url, pool_size=1)
        db = await open_read_store(url, pool_size=1, tracer=trace.get_tracer("test"))
        try:
            await take_snapshot(db, engine, root, today=as_of, k=5, by="test")
        finally:
            await db.close()
            await engine.dispose()

    asyncio.run(run())
