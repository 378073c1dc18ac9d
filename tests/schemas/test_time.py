"""One time module: the China zone, today's China date, stored timestamps read back as UTC."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from schemas.time import CHINA, as_utc, in_china, sqlite_text, today_cn

ROOT = Path(__file__).resolve().parents[2]


def test_china_day_turns_at_utc_four_in_the_afternoon() -> None:
    assert today_cn(dt.datetime(2026, 11, 1, 15, 59, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
    assert today_cn(dt.datetime(2026, 11, 1, 16, 0, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 2)
    assert in_china(dt.datetime(2026, 11, 2, 0, 30)).astimezone(dt.UTC) == dt.datetime(
        2026, 11, 1, 16, 30, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-01 08:00:00.123456",  # SQLite: SQLAlchemy's naive UTC text
        dt.datetime(2026, 11, 1, 8, 0, 0, 123456),  # SQLite through a DateTime column: naive UTC
        dt.datetime(2026, 11, 1, 16, 0, 0, 123456, tzinfo=CHINA),  # PostgreSQL in another session zone
    ],
)
def test_stored_timestamps_read_back_as_utc(stored: str | dt.datetime) -> None:
    moment = as_utc(stored)
    assert moment == dt.datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    assert moment.tzinfo is dt.UTC
    assert sqlite_text(moment) == "2026-11-01 08:00:00.123456"
    assert as_utc(None) is None


def test_the_china_zone_is_defined_once() -> None:
    """Nobody outside schemas/time.py builds UTC+8 or hard-codes its SQL (migrations excepted)."""
    pattern = re.compile(r"timedelta\(hours=8\)|'\+8 hours'|8 \* 3600|'Asia/Shanghai'")
    found = [
        str(p.relative_to(ROOT))
        for top in ("gateway", "connectors", "schemas", "policies", "bench")
        for p in (ROOT / top).rglob("*.py")
        if "migrations" not in p.parts and p.name != "time.py" and pattern.search(p.read_text("utf-8"))
    ]
    assert found == []
