"""Retention floors by calendar date: how long audit records stay in the store before archiving.

- access and network logs: at least six calendar months (网络安全法 Art. 21; 180 days falls short of
  six months whenever those months hold 181 days or more);
- records of providing personal data to other departments (disclosed records, sharing-request
  decisions, policy grants): at least three calendar years (网络数据安全管理条例 Art. 12,
  PIPL Art. 56 keeps impact assessments and processing records three years).
Archiving moves records out of the store into signed archives; it refuses anything younger than its
floor, and an override is itself an audit event.
"""

from __future__ import annotations

import calendar
import datetime as dt

ACCESS_FLOOR_MONTHS = 6
PROVISION_FLOOR_MONTHS = 36

# Events that record providing personal data to another department: a read that disclosed records,
# and the decisions that let departments share (sharing requests answered, grants changed).
PROVISION_SQL = (
    "((kind = 'access' AND decision = 'allow' AND seq IN (SELECT seq FROM audit_event_record))"
    " OR route LIKE '%sharing-requests%' OR route LIKE '%grant%')"
)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """Return the same wall-clock moment `months` calendar months earlier (day clamped to the month)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def access_floor(now: dt.datetime) -> dt.datetime:
    """Return the newest moment an access event may have and still be archived."""
    return months_before(now, ACCESS_FLOOR_MONTHS)


def provision_floor(now: dt.datetime) -> dt.datetime:
    """Return the newest moment a record of providing personal data may have and still be archived."""
    return months_before(now, PROVISION_FLOOR_MONTHS)
