"""Statistics queries: every count is aggregated in SQL (GROUP BY region), no resident reaches Python."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, insert, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause

from schemas.codes import EnrollmentKind, EnrollmentStatus, ResidentStatus, Tag
from schemas.regions import pad_region_code, prefix_range, region_prefix
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import (
    EnrollmentRow,
    HouseholdRow,
    MigrationRow,
    RegionRow,
    ResidentRow,
    ResidentTagRow,
)
from store.tables.stats import StatsReleaseRow

R_T = table_of(ResidentRow)
T_T = table_of(ResidentTagRow)
R = R_T.c
H = table_of(HouseholdRow).c
M = table_of(MigrationRow).c
E = table_of(EnrollmentRow).c
G = table_of(RegionRow).c
SR_T = table_of(StatsReleaseRow)
SR = SR_T.c

PENSION = (EnrollmentKind.URBAN_RURAL_PENSION.value, EnrollmentKind.EMPLOYEE_PENSION.value)
MEDICAL = (EnrollmentKind.URBAN_RURAL_MEDICAL.value,)
ADULT_AGE = 18
UNKNOWN_PROVINCE = ""  # a migrant worker without a migration record


class json_text(FunctionElement[str]):
    """A top-level string member of a JSON text column (`doc ->> key`), rendered per dialect."""

    type = String()
    inherit_cache = True
    name = "json_text"

    def __init__(self, column: Any, key: str) -> None:
        # The key is inlined (it must be a constant for PostgreSQL's ->> to resolve its operand type).
        if not re.fullmatch(r"[a-z_]+", key):
            raise ValueError(f"not a plain JSON key: {key!r}")
        super().__init__(column, literal_column(f"'{key}'"))


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = list(element.clauses)
    return f"json_extract({compiler.process(column, **kw)}, '$.' || {compiler.process(key, **kw)})"


@compiles(json_text, "postgresql")
def _json_text_pg(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = list(element.clauses)
    return f"(CAST({compiler.process(column, **kw)} AS JSON) ->> {compiler.process(key, **kw)})"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which residents are counted and how they are grouped."""

    region: str
    level: str  # "village" or "township"

    def key(self, column: Any) -> ColumnElement[Any]:
        """Return the grouping key of a region-code column (a township is its first 9 digits)."""
        return column if self.level == "village" else func.substr(column, 1, 9)

    def within(self, column: Any) -> ColumnElement[bool]:
        """Return the condition that a region-code column lies in the subtree."""
        low, high = prefix_range(region_prefix(self.region))
        return column >= low if high is None else and_(column >= low, column < high)


def _norm(key: str) -> str:
    return pad_region_code(key)


async def region_names(db: ReadStore, scope: Scope) -> dict[str, str]:
    """Return code -> name of the gazetteer regions at the grouping level inside the subtree."""
    stmt = select(G.code, G.name).where(scope.within(G.code), G.level == scope.level).order_by(G.code)
    return {code: name for code, name in await db.fetch_all(stmt)}


async def region_name(db: ReadStore, code: str) -> str | None:
    """Return the name of one region, or None when the gazetteer lacks it."""
    row = await db.fetch_one(select(G.name).where(G.code == code))
    return row[0] if row else None


def _tagged(*tags: Tag) -> Any:
    """Return active residents joined to each of `tags` (every tag required)."""
    source: FromClause = R_T
    for n, tag in enumerate(tags):
        t = T_T.alias(f"t{n}")
        source = source.join(t, and_(t.c.resident_id == R.id, t.c.tag == tag.value))
    return source


async def _count_by_region(db: ReadStore, scope: Scope, *tags: Tag) -> dict[str, int]:
    key = scope.key(R.region_code)
    stmt = (
        select(key, func.count())
        .select_from(_tagged(*tags))
        .where(scope.within(R.region_code), R.status == ResidentStatus.ACTIVE.value)
        .group_by(key)
    )
    return {_norm(k): int(n) for k, n in await db.fetch_all(stmt)}


async def elderly_living_alone(db: ReadStore, scope: Scope) -> dict[str, int]:
    """Count active residents tagged both elderly and living alone, per region."""
    return await _count_by_region(db, scope, Tag.ELDERLY, Tag.LIVING_ALONE)


async def left_behind_children(db: ReadStore, scope: Scope) -> dict[str, int]:
    """Count active residents tagged left-behind child, per region."""
    return await _count_by_region(db, scope, Tag.LEFT_BEHIND_CHILD)


async def low_income_households(db: ReadStore, scope: Scope) -> dict[str, int]:
    """Count households with an active low-income member, per the household's own region."""
    # Grouped by the household's region, so each household counts once and rows add up to the total.
    members = (
        select(R.household_id)
        .select_from(_tagged(Tag.LOW_INCOME))
        .where(R.status == ResidentStatus.ACTIVE.value, R.household_id.is_not(None))
    )
    key = scope.key(H.region_code)
    stmt = select(key, func.count()).where(scope.within(H.region_code), H.id.in_(members)).group_by(key)
    return {_norm(k): int(n) for k, n in await db.fetch_all(stmt)}


async def migrant_workers(db: ReadStore, scope: Scope) -> dict[tuple[str, str], int]:
    """Count active migrant workers per (region, province of work); one migration record per person."""
    in_scope = select(R.id).where(scope.within(R.region_code))
    # Sources may disagree; the latest registration wins, as in the runner's merge.
    ranked = (
        select(
            M.resident_id,
            json_text(M.doc, "work_province").label("province"),
            func.row_number()
            .over(
                partition_by=M.resident_id,
                order_by=(json_text(M.doc, "registered_on").desc().nulls_last(), M.updated_at.desc()),
            )
            .label("rn"),
        )
        .where(M.resident_id.in_(in_scope))
        .subquery("latest")
    )
    key = scope.key(R.region_code)
    province = func.coalesce(ranked.c.province, UNKNOWN_PROVINCE)
    stmt = (
        select(key, province, func.count())
        .select_from(
            _tagged(Tag.MIGRANT_WORKER).outerjoin(
                ranked, and_(ranked.c.resident_id == R.id, ranked.c.rn == 1)
            )
        )
        .where(scope.within(R.region_code), R.status == ResidentStatus.ACTIVE.value)
        .group_by(key, province)
    )
    return {(_norm(k), p): int(n) for k, p, n in await db.fetch_all(stmt)}


def adult_cutoff(today: dt.date) -> str:
    """Return the latest ISO birth date of someone who is an adult on `today`."""
    try:
        return today.replace(year=today.year - ADULT_AGE).isoformat()
    except ValueError:  # 29 February
        return today.replace(year=today.year - ADULT_AGE, day=28).isoformat()


async def insurance_coverage(
    db: ReadStore, scope: Scope, *, today: dt.date
) -> dict[str, tuple[int, int, int]]:
    """Return region -> (adults, with active pension, with active medical insurance)."""
    active = EnrollmentStatus.ACTIVE.value
    # or_ of equalities, not IN (list): the read store runs compiled SQL without expanding parameters.
    pension = select(E.resident_id).where(or_(*(E.kind == k for k in PENSION)), E.status == active)
    medical = select(E.resident_id).where(or_(*(E.kind == k for k in MEDICAL)), E.status == active)
    birth = json_text(R.doc, "birth_date")
    key = scope.key(R.region_code)
    stmt = (
        select(
            key,
            func.count(),
            func.sum(case((R.id.in_(pension), 1), else_=0)),
            func.sum(case((R.id.in_(medical), 1), else_=0)),
        )
        .where(
            scope.within(R.region_code),
            R.status == ResidentStatus.ACTIVE.value,
            birth.is_not(None),
            birth <= adult_cutoff(today),  # ISO dates order as text
        )
        .group_by(key)
    )
    return {_norm(k): (int(a), int(p or 0), int(m or 0)) for k, a, p, m in await db.fetch_all(stmt)}


async def regions_within(db: ReadStore, root: str | None) -> list[tuple[str, str, str]]:
    """Return (code, name, level) of a region and the townships and villages below it, by code.

    Without a root (a county-wide client), the counties and townships of the gazetteer.
    """
    if root is None:
        stmt = select(G.code, G.name, G.level).where(or_(G.level == "county", G.level == "township"))
    else:
        stmt = select(G.code, G.name, G.level).where(
            Scope(region=root, level="village").within(G.code),
            or_(G.code == root, G.level == "township", G.level == "village"),
        )
    return [(c, n, lv) for c, n, lv in await db.fetch_all(stmt.order_by(G.code))]


async def village_labels(db: ReadStore, root: str | None) -> dict[str, str]:
    """Return "name(township)" for the villages inside root whose name another village shares."""
    region = table_of(RegionRow)
    town = region.alias("town")
    twins = select(G.name).where(G.level == "village").group_by(G.name).having(func.count() > 1)
    stmt = (
        select(G.code, G.name, town.c.name)
        .join(town, town.c.code == G.parent_code)
        .where(G.level == "village", G.name.in_(twins))
    )
    if root is not None:
        stmt = stmt.where(Scope(region=root, level="village").within(G.code))
    return {code: f"{name}({township})" for code, name, township in await db.fetch_all(stmt)}


# -- stored releases (through the engine: dates come back as dates on both backends) -----------------


async def stored_release(engine: AsyncEngine, root: str, as_of: dt.date) -> str | None:
    """Return the body of a county's release of one day, or None when none was taken."""
    async with engine.connect() as conn:
        return (await conn.execute(select(SR.body).where(SR.root == root, SR.as_of == as_of))).scalar()


async def release_before(engine: AsyncEngine, root: str, as_of: dt.date) -> str | None:
    """Return the body of a county's latest release before a day, or None."""
    stmt = select(SR.body).where(SR.root == root, SR.as_of < as_of).order_by(SR.as_of.desc()).limit(1)
    async with engine.connect() as conn:
        return (await conn.execute(stmt)).scalar()


async def insert_release(
    engine: AsyncEngine, *, root: str, as_of: dt.date, min_cell: int, kept: bool, by: str, body: str
) -> bool:
    """Store a release; False when one of that county and day exists already (it wins)."""
    row = {"root": root, "as_of": as_of, "min_cell": min_cell, "kept": kept, "taken_by": by[:128]}
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(SR_T).values(**row, taken_at=dt.datetime.now(dt.UTC), body=body))
    except IntegrityError:
        return False
    return True


async def keep_release(engine: AsyncEngine, *, root: str, as_of: dt.date) -> None:
    """Mark a stored release as a snapshot of the series."""
    async with engine.begin() as conn:
        await conn.execute(update(SR_T).where(SR.root == root, SR.as_of == as_of).values(kept=True))


async def kept_releases(
    engine: AsyncEngine, root: str, *, start: dt.date, end: dt.date
) -> list[tuple[dt.date, str]]:
    """Return (date, body) of a county's kept snapshots from start to end (inclusive), oldest first."""
    stmt = (
        select(SR.as_of, SR.body)
        .where(SR.root == root, SR.kept.is_(True), SR.as_of >= start, SR.as_of <= end)
        .order_by(SR.as_of)
    )
    async with engine.connect() as conn:
        return [(d, b) for d, b in (await conn.execute(stmt)).all()]


async def kept_roots(engine: AsyncEngine, *, since: dt.date) -> set[str]:
    """Return the counties with a kept snapshot on or after a day."""
    stmt = select(SR.root).where(SR.kept.is_(True), SR.as_of >= since).distinct()
    async with engine.connect() as conn:
        return set((await conn.execute(stmt)).scalars())


async def county_codes(engine: AsyncEngine) -> list[str]:
    """Return the codes of the gazetteer's counties."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(G.code).where(G.level == "county").order_by(G.code))
        return list(rows.scalars())
