"""Time in one place: the China zone, today's China date, and stored timestamps read back as UTC.

The store keeps instants in UTC: PostgreSQL as `timestamptz`, SQLite as naive text in SQLAlchemy's
form ("YYYY-MM-DD HH:MM:SS.ffffff"). Calendar days (grant validity, quotas, ages, the audit's daily
counts) are China Standard Time days: UTC+8 all year, no daylight saving.
"""

from __future__ import annotations

import datetime as dt
from typing import overload

CHINA_UTC_OFFSET_HOURS = 8
CHINA_ZONE_NAME = "Asia/Shanghai"  # the IANA name, for PostgreSQL's AT TIME ZONE
CHINA = dt.timezone(dt.timedelta(hours=CHINA_UTC_OFFSET_HOURS), CHINA_ZONE_NAME)
CHINA_OFFSET_SECONDS = CHINA_UTC_OFFSET_HOURS * 3600


def today_cn(now: dt.datetime | None = None) -> dt.date:
    """Return today's (or `now`'s) date in China Standard Time."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(CHINA).date()


def in_china(moment: dt.datetime) -> dt.datetime:
    """Return a moment as China Standard Time; a naive one is taken as already being China time."""
    return moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment.astimezone(CHINA)


@overload
def as_utc(value: dt.datetime | str) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """Return a stored timestamp as an aware UTC datetime (SQLite gives naive UTC, often as text)."""
    if value is None:
        return None
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def sqlite_text(moment: dt.datetime) -> str:
    """Return an aware moment as SQLite stores it: naive UTC text with microseconds."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
