"""Write the monthly migrant-worker registers (外出务工人员登记表): GBK CSV files, one a month."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
from pathlib import Path

from connectors.demo.gazetteer import Gazetteer, Village
from connectors.demo.ids import to_legacy, wrong_check
from connectors.demo.people import Household, Person
from connectors.demo.quirks import (
    REASON_AMBIGUOUS_VILLAGE,
    REASON_INVALID,
    REASON_UNKNOWN_VILLAGE,
    REASON_UNRECOVERABLE,
    QuirkBook,
    QuirkyWriter,
)
from connectors.demo.reference import REFERENCE_DAY, WORK_PLACES
from connectors.hr_migrant_register.models import (
    HEADER,  # the register's columns, as the department keeps them
)

SOURCE = "hr_migrant_register"
SCIENTIFIC_ID = "5.11599E+17"  # what a spreadsheet makes of any 18-digit 511599... number
_LEFT_SINCE = dt.date(2019, 1, 1).toordinal()
DATE_FORMS = ("slash", "dash", "cn_month", "dot")


def register_months(months: int) -> list[dt.date]:
    """Return the first day of each register month, oldest first, ending before the reference day."""
    if months < 1:
        raise ValueError("months must be at least 1")
    out: list[dt.date] = []
    year, month = REFERENCE_DAY.year, REFERENCE_DAY.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(dt.date(year, month, 1))
    return out[::-1]


def register_filename(month: dt.date) -> str:
    """Return the file name of a month's register."""
    return f"hr_migrant_register_{month:%Y-%m}.csv"


def format_date(day: dt.date, *, form: str) -> str:
    """Write a date in one of the four forms spreadsheet users type."""
    if form == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if form == "dash":
        return day.isoformat()
    if form == "cn_month":
        return f"{day.year}年{day.month}月"
    return f"{day.year}.{day.month}"


class _Trip:
    """A migrant's current stint away: where, since when, and when they came back."""

    __slots__ = ("left", "place", "returned")

    def __init__(self, place: tuple[str, str], *, left: int) -> None:
        """Start a stint at `place`, away since day ordinal `left`."""
        self.place = place
        self.left = left
        self.returned: int | None = None


class RegisterWriter(QuirkyWriter):
    """Stream MIGRANT workers into every month's register, with the registers' quirks."""

    def __init__(
        self, out_dir: Path, *, months: int, rng: random.Random, quirks: QuirkBook, gazetteer: Gazetteer
    ) -> None:
        """Open one GBK CSV per month and write the headers."""
        for stale in out_dir.glob("hr_migrant_register_*.csv"):
            stale.unlink()
        self._months = register_months(months)
        self.names = [register_filename(m) for m in self._months]
        self._handles = [(out_dir / n).open("w", encoding="gbk", newline="") for n in self.names]
        self._writers = [csv.writer(fh) for fh in self._handles]
        for writer in self._writers:
            writer.writerow(HEADER)
        self._seq = [0] * months
        self._starts = [m.toordinal() for m in self._months]
        last = self._starts[-1] + 31
        self._date_forms = [
            tuple(format_date(dt.date.fromordinal(o), form=form) for form in DATE_FORMS)
            for o in range(_LEFT_SINCE, last)
        ]
        self._form_counts = [0] * len(DATE_FORMS)
        super().__init__("reg_", rng=rng, quirks=quirks)
        self._gaz = gazetteer

    def add(self, household: Household) -> None:
        """Register the household's migrant workers in the months they were registered."""
        r = self._rng.random
        for person in household.members:
            if person.employment == "MIGRANT" and person.status == "1" and r() < 0.85:
                self._person(person, village=household.village)

    def _person(self, person: Person, *, village: Village) -> None:
        """Write one migrant's rows across the months."""
        r = self._rng.random
        first = self._starts[0]
        trip = _Trip(self._place(), left=_LEFT_SINCE + int(r() * (first - _LEFT_SINCE)))
        if r() < 0.04:
            trip.returned = trip.left + 1 + int(r() * (first - trip.left - 1))
        present = False
        written: list[tuple[str, bool]] = []
        for k, start in enumerate(self._starts):
            if k:
                prev = self._starts[k - 1]
                if trip.returned is None and r() < 0.1:
                    trip.returned = max(trip.left + 1, prev + int(r() * (start - prev)))
                elif trip.returned is None and r() < 0.15:
                    trip = _Trip(self._place(exclude=trip.place), left=prev + int(r() * (start - prev)))
            present = r() < (0.8 if k == 0 else 0.92 if present else 0.5)
            if not present and k == len(self._starts) - 1 and not written:
                present = True
            if present:
                self._row(k, person=person, village=village, trip=trip)
                written.append((trip.place[1], trip.returned is not None))
        if len(written) > 1:
            self._q.note("reg_repeat_person")
            for (city_a, back_a), (city_b, back_b) in itertools.pairwise(written):
                if city_a != city_b:
                    self._q.note("reg_city_changed")
                if back_b and not back_a:
                    self._q.note("reg_returned_added")

    def _place(self, *, exclude: tuple[str, str] | None = None) -> tuple[str, str]:
        """Draw a work place (province, city), favouring the Pearl River Delta."""
        r = self._rng.random
        while True:
            u = r()
            place = WORK_PLACES[int(u * u * len(WORK_PLACES))]
            if place != exclude:
                return place

    def _row(self, k: int, *, person: Person, village: Village, trip: _Trip) -> None:
        """Write one register row for month k."""
        q = self._q
        hit = self._hit
        pick = self._pick
        r = self._rng.random
        self._seq[k] += 1
        seq = self._seq[k]
        key = f"{self.names[k]}#{seq}"
        number = person.id18
        broken = pick["reg_id_broken"]()
        if broken == "reg_unrecoverable_id":
            q.broke(SOURCE, key=key, reason=REASON_UNRECOVERABLE)
            number = SCIENTIFIC_ID
        elif broken:
            q.broke(SOURCE, key=key, reason=REASON_INVALID)
            number = wrong_check(number, rng=self._rng)
        else:
            if number[6:8] == "19" and number[8:10] < "99" and hit["reg_legacy_15_id"]():
                number = to_legacy(number)
            elif number[17] == "X" and hit["reg_lowercase_x"]():
                number = number[:17] + "x"
        name, code = village.name, village.code
        duplicate = self._gaz.is_duplicate(village)
        if not broken and hit["reg_unknown_village"]():
            q.broke(SOURCE, key=key, reason=REASON_UNKNOWN_VILLAGE)
            name = self._gaz.unknown_names[int(r() * len(self._gaz.unknown_names))]
            code = ""
        elif not broken and duplicate and hit["reg_ambiguous_village"]():
            q.broke(SOURCE, key=key, reason=REASON_AMBIGUOUS_VILLAGE)
            code = ""
        elif not duplicate and hit["reg_blank_code"]():
            code = ""
        registered = self._starts[k] + int(r() * 28)
        self._writers[k].writerow(
            (
                seq,
                person.name,
                number,
                "男" if person.male else "女",
                name,
                code,
                trip.place[0],
                trip.place[1],
                self._date(trip.left, cuts=(0.35, 0.6, 0.8)),
                "" if trip.returned is None else self._date(trip.returned, cuts=(0.7, 1, 1)),
                person.phone,
                self._date(registered, cuts=(0.85, 0.95, 0.98)),
            )
        )

    def _date(self, ordinal: int, *, cuts: tuple[float, float, float]) -> str:
        """Write a date in a form drawn by the cumulative cut-offs (slash, dash, 年月, dotted)."""
        u = self._rng.random()
        form = 0 if u < cuts[0] else 1 if u < cuts[1] else 2 if u < cuts[2] else 3
        self._form_counts[form] += 1
        return self._date_forms[ordinal - _LEFT_SINCE][form]

    def close(self) -> dict[str, int]:
        """Close the files; return row counts per file."""
        for handle in self._handles:
            handle.close()
        for form, n in zip(DATE_FORMS, self._form_counts, strict=True):
            self._q.note(f"reg_date_{form}", n=n)
        self._form_counts = [0] * len(DATE_FORMS)
        return dict(zip(self.names, self._seq, strict=True))
