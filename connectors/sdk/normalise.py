"""Normalisers shared by the translations: citizen IDs, names, phones, dates and times."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from connectors.sdk.errors import Reason, RecordInvalid
from schemas.citizen_id import InvalidCitizenId, normalise_citizen_id
from schemas.time import CHINA

# GB 11643-1999: check = (12 - sum(w_i * d_i) mod 11) mod 11 with w_i = 2^(17-i) mod 11; 10 is written X.
_CHECK_OF = "0123456789X"
_DIGITS = frozenset("0123456789")


@lru_cache(maxsize=65536)
def _valid_date(text: str) -> bool:
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return True


def _stripped(raw: str | None) -> str | None:
    """Return the text without surrounding spaces; None for no value or a blank one."""
    if raw is None:
        return None
    return raw.strip() or None


def citizen_id(raw: str | None) -> str | None:
    """Return the normalised 18-character ID, None when the source has none, or raise RecordInvalid.

    The common clean 18-character case is checked inline (it is most of every source); anything else
    goes through schemas.citizen_id.normalise_citizen_id, which upgrades 15-digit numbers.
    """
    if raw is None:
        return None
    text = raw.strip()
    if len(text) == 18 and text.isascii():
        last = text[17]
        if last == "x":
            text = text[:17] + "X"
            last = "X"
        body = text[:17]
        # The weights are 2^(17-i) mod 11 and 13 = 2 (mod 11): reading the body in base 13 sums them.
        if (
            body.isdigit()
            and (last in _DIGITS or last == "X")
            and _valid_date(text[6:14])
            and _CHECK_OF[(1 - 2 * int(body, 13)) % 11] == last
        ):
            return text
    if not text:
        return None
    try:
        return normalise_citizen_id(text)
    except InvalidCitizenId as exc:
        if exc.reason == "missing_id":
            return None
        raise RecordInvalid(Reason.INVALID_ID, str(exc)) from exc


def birth_date_from_id(number: str) -> str:
    """Return the ISO birth date a normalised citizen ID encodes (GB 11643-1999 digits 7-14)."""
    return f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


def sex_from_id(number: str) -> str:
    """Return the sex the sequence digit implies: odd male, even female (GB 11643-1999)."""
    return "male" if int(number[16]) % 2 else "female"


# Names: ASCII and ideographic (U+3000) spaces around; the middle dot of minority names typed three ways.
_NAME_STRIP = " \t\r\n\u3000\u00a0"
_DOTS = str.maketrans({"•": "·", ".": "·", "．": "·", "・": "·", "‧": "·", "∙": "·"})


def person_name(raw: str | None) -> str | None:
    """Trim spaces (ASCII and U+3000) and write every middle-dot variant as U+00B7."""
    if raw is None:
        return None
    name = raw.strip(_NAME_STRIP).translate(_DOTS)
    return name or None


_PHONE_FOLD = str.maketrans("０１２３４５６７８９＋", "0123456789+", " -\u3000\t－")
_NO_PHONE = frozenset({"", "无", "無", "none", "null", "-", "/"})


def phone(raw: str | None) -> str | None:
    """Fold full-width digits to ASCII, drop '-' and spaces; '无' (none) and blanks are None."""
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() in _NO_PHONE:
        return None
    folded = text.translate(_PHONE_FOLD)
    return folded or None


def compact_date(raw: str | None, *, field: str) -> str | None:
    """Parse YYYYMMDD to ISO; empty or 00000000 (unknown) is None; an impossible date is invalid."""
    text = _stripped(raw)
    if text is None or text == "00000000":
        return None
    if len(text) != 8 or not text.isdigit() or not _valid_date(text):
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {text!r} is not a date YYYYMMDD")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}"


def as_date(iso: str | None) -> dt.date | None:
    """Return an ISO date text as a date (None stays None)."""
    return dt.date.fromisoformat(iso) if iso else None


_LOOSE_DATE = re.compile(r"^(\d{4})\s*(?:[/\-.年])\s*(\d{1,2})\s*(?:(?:[/\-.月])\s*(\d{1,2})\s*日?|月)?$")


def loose_date(raw: str | None, *, field: str) -> str | None:
    """Parse 2024/3/5, 2024-03-05, 2024年3月 or 2024.3 to ISO (day 1 when only a month); blank is None."""
    text = _stripped(raw)
    if text is None:
        return None
    match = _LOOSE_DATE.match(text)
    if match is None:
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {text!r} is not a date")
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {text!r} is not a date") from exc


@lru_cache(maxsize=65536)
def beijing_to_utc(text: str) -> dt.datetime:
    """Parse 'YYYY-MM-DD HH:MM:SS' in Beijing time (UTC+8, no DST since 1991) to an aware UTC datetime."""
    value = text.strip()
    if len(value) != 19 or value[10] != " ":
        raise ValueError(f"not a time YYYY-MM-DD HH:MM:SS: {text!r}")
    return dt.datetime.fromisoformat(value).replace(tzinfo=CHINA).astimezone(dt.UTC)


def utc_to_beijing_text(moment: dt.datetime) -> str:
    """Write a datetime as the legacy systems' 'YYYY-MM-DD HH:MM:SS' Beijing time."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_instant(text: str, *, field: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp to aware UTC (a naive one is taken as Beijing time)."""
    moment = _instant(text) if isinstance(text, str) else None
    if moment is None:
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {text!r} is not an RFC 3339 time")
    return moment


@lru_cache(maxsize=65536)
def _instant(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(dt.UTC)


@lru_cache(maxsize=65536)
def iso_utc(moment: dt.datetime) -> str:
    """Write an aware datetime in UTC as RFC 3339 with a Z, as pydantic serialises it."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def region_code(raw: str | None, *, field: str) -> str | None:
    """Return a 12-digit region code (shorter prefix codes padded with zeros); blank is None."""
    text = _stripped(raw)
    if text is None:
        return None
    if not text.isdigit() or not text.isascii() or len(text) > 12 or len(text) < 6:
        raise RecordInvalid(Reason.INVALID_REGION, f"{field}: {text!r} is not a region code")
    return text.ljust(12, "0")


def later_watermark(current: str | None, moment: dt.datetime | None) -> str | None:
    """Return the later of a UTC RFC 3339 watermark and `moment`, as a watermark (None changes nothing)."""
    if moment is None:
        return current
    if current is None or moment > parse_instant(current, field="watermark"):
        return iso_utc(moment)
    return current
