"""Notice queries: active notices addressed to a region, category and audience, or to one resident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, false, or_, select

from gateway.pagination import cut_page
from gateway.residents import repository as residents
from schemas.codes import Audience, NoticeCategory, ResidentStatus, Tag
from schemas.regions import ancestors_or_self, prefix_range, region_prefix
from schemas.time import as_utc, today_cn
from store.read import ReadStore
from store.tables import table_of
from store.tables.records import NoticeRegionRow, NoticeRow

N = table_of(NoticeRow).c
NR = table_of(NoticeRegionRow).c


@dataclass(frozen=True, slots=True)
class NoticeFilter:
    """Filters of a notice listing."""

    region: str | None = None
    category: NoticeCategory | None = None
    audience: Audience | None = None
    now: dt.datetime | None = None
    # For one resident (see `for_resident`): these regions exactly (no subtree), any of these audiences.
    addressed_to: tuple[str, ...] | None = None
    audiences: tuple[Audience, ...] | None = None


ELDERLY_AGE = 60
ADULT_AGE = 18


@dataclass(frozen=True, slots=True)
class Target:
    """Where a resident is registered, which audiences they belong to, and the fields that told."""

    region: str | None
    audiences: tuple[Audience, ...]
    used: tuple[str, ...] = ()


View = Callable[[dict[str, Any]], dict[str, Any] | None]


def _age(birth: str | None, today: dt.date) -> int | None:
    if not birth:
        return None
    born = dt.date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


async def _has_child(db: ReadStore, person: dict[str, Any], view: View, today: dt.date) -> bool:
    """Tell whether another active member of the person's household the caller may see is under 18."""
    flt = residents.ResidentFilter(household_id=person["household_id"], status=ResidentStatus.ACTIVE)
    ids, docs, _ = await residents.list_docs(db, flt, after=None, limit=100)
    for rid, raw in zip(ids, docs, strict=True):
        other = view(orjson.loads(raw)) if rid != person["id"] else None
        age = _age(other.get("birth_date"), today) if other else None
        if age is not None and age < ADULT_AGE:
            return True
    return False


async def for_resident(
    db: ReadStore, resident_id: str, *, view: View, today: dt.date | None = None
) -> Target | None:
    """Return the region and audiences of a resident as the caller sees it (`view`), or None.

    Only the fields `view` shows are used, so targeting discloses nothing the caller could not read.
    Everyone: always. Elderly: aged 60 or more, or tagged elderly. Migrant workers: tagged
    migrant_worker. Parents: an adult (or of unknown age) whose household has another active member
    under 18; this includes the grandparents who look after left-behind children, who are the
    ones who need school notices read out.
    """
    doc = await residents.get_doc(db, resident_id)
    person = view(orjson.loads(doc)) if doc is not None else None
    if person is None:
        return None
    today = today or today_cn()
    tags = set(person.get("tags") or ())
    age = _age(person.get("birth_date"), today)
    audiences = [Audience.EVERYONE]
    if Tag.ELDERLY.value in tags or (age is not None and age >= ELDERLY_AGE):
        audiences.append(Audience.ELDERLY)
    if Tag.MIGRANT_WORKER.value in tags:
        audiences.append(Audience.MIGRANT_WORKERS)
    adult = age is None or age >= ADULT_AGE
    if person.get("household_id") and adult and await _has_child(db, person, view, today):
        audiences.append(Audience.PARENTS)
    used = tuple(f for f in ("region_code", "birth_date", "tags", "household_id") if person.get(f))
    return Target(region=person.get("region_code"), audiences=tuple(audiences), used=used)


def _any_region(codes: list[str] | tuple[str, ...]) -> ColumnElement[bool]:
    # Equalities, not IN (list): the read store runs compiled SQL without expanding list parameters.
    return or_(*(NR.region_code == c for c in codes)) if codes else false()


async def list_docs(
    db: ReadStore, flt: NoticeFilter, *, after: tuple[str, str] | None, limit: int
) -> tuple[list[str], tuple[str, str] | None]:
    """Return active notices, newest first, and the (published, id) key to continue from."""
    now = (flt.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stmt = select(N.id, N.doc, N.published_at).where(
        N.published_at <= now, or_(N.expires_at.is_(None), N.expires_at > now)
    )
    if flt.region is not None:
        # A notice to the county reaches every village in it; one to a village is inside a township's view.
        low, high = prefix_range(region_prefix(flt.region))
        in_subtree = (
            NR.region_code >= low if high is None else and_(NR.region_code >= low, NR.region_code < high)
        )
        addressed = select(NR.notice_id).where(or_(_any_region(ancestors_or_self(flt.region)), in_subtree))
        stmt = stmt.where(N.id.in_(addressed))
    if flt.addressed_to is not None:
        stmt = stmt.where(N.id.in_(select(NR.notice_id).where(_any_region(flt.addressed_to))))
    if flt.audiences is not None:
        stmt = stmt.where(or_(*(N.audiences.contains(f",{a.value},") for a in flt.audiences)))
    if flt.category is not None:
        stmt = stmt.where(N.category == flt.category.value)
    if flt.audience is not None:
        # A notice for everyone addresses every audience.
        stmt = stmt.where(
            or_(
                N.audiences.contains(f",{flt.audience.value},"),
                N.audiences.contains(f",{Audience.EVERYONE.value},"),
            )
        )
    if after is not None:
        published = as_utc(after[0])
        stmt = stmt.where(or_(N.published_at < published, and_(N.published_at == published, N.id > after[1])))
    found = await db.fetch_all(stmt.order_by(N.published_at.desc(), N.id).limit(limit + 1))
    rows, last = cut_page(found, limit)
    return [r[1] for r in rows], ((as_utc(last[2]).isoformat(), last[0]) if last else None)
