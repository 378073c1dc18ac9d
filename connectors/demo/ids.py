"""Build and corrupt GB 11643-1999 citizen ID numbers for the demo county."""

from __future__ import annotations

import datetime as dt
import random

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
COUNTY_PREFIX = "511599"

_PREFIX_SUM = sum(int(c) * w for c, w in zip(COUNTY_PREFIX, WEIGHTS[:6], strict=True))
_SEQ_STR = [f"{s:03d}" for s in range(1000)]
_SEQ_SUM = [sum(int(c) * w for c, w in zip(f"{s:03d}", WEIGHTS[14:], strict=True)) for s in range(1000)]


def check_char(first17: str) -> str:
    """Return the check character for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def to_legacy(number18: str) -> str:
    """Return the legacy 15-digit form of an 18-character ID born in the 1900s."""
    return number18[:6] + number18[8:17]


class DateTable:
    """Precomputed birth-date strings and their weighted digit sums, indexed by day."""

    def __init__(self, *, first: dt.date, last: dt.date) -> None:
        """Tabulate every day from first to last inclusive."""
        self.first_ordinal = first.toordinal()
        days = last.toordinal() - self.first_ordinal + 1
        self.compact: list[str] = []
        self.iso: list[str] = []
        self.sums: list[int] = []
        for i in range(days):
            day = dt.date.fromordinal(self.first_ordinal + i)
            compact = day.strftime("%Y%m%d")
            self.compact.append(compact)
            self.iso.append(day.isoformat())
            self.sums.append(sum(int(c) * w for c, w in zip(compact, WEIGHTS[6:14], strict=True)))

    def __len__(self) -> int:
        """Return the number of days tabulated."""
        return len(self.compact)


class IdAllocator:
    """Hand out unique, valid county ID numbers with the sequence parity matching sex."""

    def __init__(self, dates: DateTable) -> None:
        """Start with no number used."""
        self._heads = [COUNTY_PREFIX + compact for compact in dates.compact]
        self._sums = [_PREFIX_SUM + s for s in dates.sums]
        self._used: dict[int, int] = {}

    def allocate(self, day: int, *, male: bool) -> str:
        """Return a fresh valid ID for a person born on table day `day`."""
        key = day * 2 + male
        n = self._used.get(key, 0)
        if n >= 499:
            raise ValueError(f"more than 499 people of one sex born on day {day}: county too large")
        self._used[key] = n + 1
        seq = ((n * 37 + day * 7919) % 499) * 2 + 2 - male
        return self._heads[day] + _SEQ_STR[seq] + CHECK_CHARS[(self._sums[day] + _SEQ_SUM[seq]) % 11]


def wrong_check(number18: str, *, rng: random.Random) -> str:
    """Return the ID with a wrong (but well-formed) check character."""
    right = number18[17].upper()
    options = [c for c in CHECK_CHARS if c != right]
    return number18[:17] + options[int(rng.random() * len(options))]


def impossible_date(number18: str, *, rng: random.Random) -> str:
    """Return the ID with an impossible birth date and a matching check character."""
    year = number18[6:10]
    bad = ("0230", "0231", "1301", "0000", "0431", "0932", "1100")[int(rng.random() * 7)]
    first17 = number18[:6] + year + bad + number18[14:17]
    return first17 + check_char(first17)
