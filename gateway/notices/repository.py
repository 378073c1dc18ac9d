"""Notice queries: active notices addressed to a region, category and audience."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from gateway.store import ReadStore
from schemas.codes import Audience, NoticeCategory
from schemas.regions import ancestors_or_self, prefix_range, region_prefix
from schemas.tables import NoticeRegionRow, NoticeRow

N = NoticeRow.__table__.c  # type: ignore[attr-defined]
NR = NoticeRegionRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class NoticeFilter:
    """Filters of a notice listing."""

    region: str | None = None
    category: NoticeCategory | None = None
    audience: Audience | None = None
    now: dt.datetime | None = None


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
        addressed = select(NR.notice_id).where(
            or_(NR.region_code.in_(ancestors_or_self(flt.region)), in_subtree)
        )
        stmt = stmt.where(N.id.in_(addressed))
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
    rows = await db.fetch_all(stmt.order_by(N.published_at.desc(), N.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    last = (as_utc(rows[-1][2]).isoformat(), rows[-1][0]) if more else None
    return [r[1] for r in rows], last


def as_utc(value: dt.datetime | str) -> dt.datetime:
    """Return a stored timestamp as an aware UTC datetime (SQLite returns text without a zone)."""
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
