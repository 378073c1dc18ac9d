"""Generate the demo county's true population, household by household (before any source quirk)."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass

from connectors.demo.gazetteer import Gazetteer, Village
from connectors.demo.ids import DateTable, IdAllocator
from connectors.demo.reference import (
    EMPLOYERS,
    ETHNICITY_WEIGHTS,
    FEMALE_CHARS,
    MALE_CHARS,
    PHONE_PREFIXES,
    SURNAMES,
    YI_FAMILY,
    YI_GIVEN_FEMALE,
    YI_GIVEN_MALE,
)

DAYS_PER_YEAR = 365.2425
Member = tuple[str, int, bool]  # (relation code, age in years, male)

_Table = tuple[tuple[str | None, ...], tuple[float, ...]]
_ADULT_JOBS: _Table = (
    ("MIGRANT", "EMPLOYED", "FLEXIBLE", "UNEMPLOYED", "NONE", None),
    (0.38, 0.58, 0.73, 0.80, 0.90),
)
_YOUNG_JOBS: _Table = (("MIGRANT", "EMPLOYED", "NONE", None), (0.30, 0.40, 0.55))
_OLD_JOBS: _Table = (("RETIRED", "NONE", "FLEXIBLE", None), (0.45, 0.80, 0.85))
_JAN_FIRST = tuple(f"{2000 + i}-01-01" for i in range(30))
_ETH_CODES = tuple(code for code, _ in ETHNICITY_WEIGHTS)
_ETH_CUTS = tuple(cut for _, cut in ETHNICITY_WEIGHTS[:-1])


@dataclass(slots=True, eq=False)
class Person:
    """One true person: identity, household role, and their HR profile if HR knows them."""

    num: int
    _: KW_ONLY
    name: str
    male: bool
    age: int
    day: int
    id18: str
    mz: str
    # No household role or HR profile yet: the generator fills them in.
    relation: str = "02"
    phone: str = ""
    status: str = "1"
    hr_only: bool = False
    in_hr: bool = False
    employment: str | None = None
    employer: str | None = None
    emp_since: str = ""
    insurances: Sequence[dict[str, object]] = ()


@dataclass(slots=True, eq=False, kw_only=True)
class Household:
    """A registered household (户): its number, village, address and members."""

    hh: str
    village: Village
    address: str
    members: list[Person]


class Population:
    """Stream households until the requested number of registered residents is reached."""

    def __init__(self, gazetteer: Gazetteer, *, rng: random.Random, dates: DateTable) -> None:
        """Prepare the generator over a county layout."""
        self._gaz = gazetteer
        self._rng = rng
        self._dates = dates
        self._ids = IdAllocator(dates)
        self._last_day = len(dates) - 1
        self._num = 0
        self._hh = 0

    def households(self, residents: int) -> Iterator[Household]:
        """Yield households whose registered members add up to exactly `residents`."""
        left = residents
        while left > 0:
            household = self._household(left)
            members = household.members
            left -= len(members) - (members[-1].hr_only and 1)
            yield household

    def _household(self, room: int) -> Household:
        """Build one household with at most `room` registered members."""
        r = self._rng.random
        self._hh += 1
        village = self._gaz.pick_village(r())
        address = (
            f"四川省宜宾市示范县{village.township.name}{village.name}"
            f"{1 + int(r() * 12)}组{1 + int(r() * 120)}号"
        )
        mz = _ETH_CODES[bisect.bisect_right(_ETH_CUTS, r())]
        members: list[Person] = []
        family = SURNAMES[int(r() * len(SURNAMES))] if mz != "07" else YI_FAMILY[int(r() * len(YI_FAMILY))]
        for relation, age, male in self._compose()[:room]:
            inherits = relation in ("02", "20", "30", "40", "70")
            person = self._person(age, male=male, mz=mz, family=family if inherits else None, hr_only=False)
            person.relation = relation
            members.append(person)
        head_phone = members[0].phone
        for person in members:
            if person.age < 16:
                person.phone = head_phone
        if r() < 0.025:
            extra = self._person(18 + int(r() * 40), male=r() < 0.55, mz=mz, family=None, hr_only=True)
            extra.hr_only = True
            members.append(extra)
        return Household(hh=f"H511599{self._hh:06d}", village=village, address=address, members=members)

    def _compose(self) -> list[Member]:
        """Draw a household shape: relation, age and sex of each member, head first."""
        r = self._rng.random
        u = r()
        head_male = r() < 0.72
        if u < 0.10:
            return [("02", 60 + int(r() * 36), head_male)]
        if u < 0.22:
            age = 60 + int(r() * 28)
            return [("02", age, head_male), ("10", max(55, age - 4 + int(r() * 8)), not head_male)]
        if u < 0.30:
            return [("02", 20 + int(r() * 40), head_male)]
        head = 25 + int(r() * 31) if u < 0.78 else 32 + int(r() * 29)
        out: list[Member] = [("02", head, head_male)]
        if r() < 0.92:
            out.append(("10", max(20, head - 5 + int(r() * 9)), not head_male))
        kids: list[int] = []
        for _ in range(1 + int(r() * 2.6)):
            kid = int(r() * min(head - 20, 32))
            male = r() < 0.52
            out.append(("20" if male else "30", kid, male))
            kids.append(kid)
        if u >= 0.78:
            for _ in range(1 + int(r() * 1.6)):
                out.append(("50", min(98, head + 20 + int(r() * 16)), r() < 0.45))
            if max(kids) >= 21 and r() < 0.7:
                for _ in range(1 + int(r() * 1.8)):
                    out.append(("40", int(r() * (max(kids) - 19)), r() < 0.52))
        v = r()
        if v < 0.03:
            out.append(("70", max(16, head - 6 + int(r() * 12)), r() < 0.5))
        elif v < 0.04:
            out.append(("99", 16 + int(r() * 50), r() < 0.5))
        elif v < 0.045:
            out.append(("60", min(99, head + 45 + int(r() * 10)), r() < 0.4))
        return out

    def _person(self, age: int, *, male: bool, mz: str, family: str | None, hr_only: bool) -> Person:
        """Create one person with a fresh ID, name, phone, status and HR profile."""
        r = self._rng.random
        self._num += 1
        day = max(0, self._last_day - int((age + r()) * DAYS_PER_YEAR))
        if mz == "07":
            surname = family or YI_FAMILY[int(r() * len(YI_FAMILY))]
            given = YI_GIVEN_MALE if male else YI_GIVEN_FEMALE
            name = f"{surname}·{given[int(r() * len(given))]}"
        else:
            chars = MALE_CHARS if male else FEMALE_CHARS
            name = (family or SURNAMES[int(r() * len(SURNAMES))]) + chars[int(r() * len(chars))]
            if r() < 0.6:
                name += chars[int(r() * len(chars))]
        person = Person(
            self._num, name=name, male=male, age=age, day=day, id18=self._ids.allocate(day, male=male), mz=mz
        )
        person.phone = f"{PHONE_PREFIXES[int(r() * len(PHONE_PREFIXES))]}{int(r() * 100_000_000):08d}"
        u = r()
        if u < (0.07 if age >= 75 else 0.004):
            person.status = "2"
        elif u < (0.09 if 18 <= age <= 40 else 0.01):
            person.status = "3"
        self._hr_profile(person, force=hr_only)
        return person

    def _hr_profile(self, person: Person, *, force: bool) -> None:
        """Decide whether HR knows the person and, if so, their employment and insurances."""
        age = person.age
        if age < 16:
            return
        r = self._rng.random
        share = 0.6 if age < 22 else 0.9 if age < 60 else 0.75
        if not force and r() >= (share if person.status == "1" else 0.3):
            return
        person.in_hr = True
        jobs, cuts = _YOUNG_JOBS if age < 22 else _ADULT_JOBS if age < 60 else _OLD_JOBS
        status = jobs[bisect.bisect_right(cuts, r())]
        person.employment = status
        birth_year = 2026 - age
        if status is not None:
            if status == "RETIRED":
                year = min(2026, birth_year + 60)
            else:
                year = max(birth_year + 16, 2005) + int(r() * (2027 - max(birth_year + 16, 2005)))
            person.emp_since = f"{min(year, 2026)}-{1 + int(r() * (10 if year >= 2026 else 12)):02d}"
            if status in ("MIGRANT", "EMPLOYED"):
                person.employer = EMPLOYERS[int(r() * len(EMPLOYERS))]
            elif status == "FLEXIBLE" and r() < 0.5:
                person.employer = "个体"
        person.insurances = self._insurances(person, rand=r)

    @staticmethod
    def _insurances(person: Person, *, rand: Callable[[], float]) -> list[dict[str, object]]:
        """Draw the person's social-insurance enrolments."""
        out: list[dict[str, object]] = []
        employee = person.employment == "EMPLOYED" and rand() < 0.6
        if rand() < 0.92:
            u = rand()
            status = "ACTIVE" if u < 0.9 else "SUSPENDED" if u < 0.97 else "TERMINATED"
            kind = "EMPLOYEE_PENSION" if employee else "URBAN_RURAL_PENSION"
            benefit: float | None = None
            if person.age >= 60 and status == "ACTIVE":
                base, spread = (1800.0, 2200.0) if employee else (150.0, 300.0)
                benefit = round(base + rand() * spread, 2)
            since = _JAN_FIRST[9 + int(rand() * 16)]
            out.append({"type": kind, "status": status, "since": since, "monthlyBenefit": benefit})
        if rand() < 0.95:
            since = _JAN_FIRST[8 + int(rand() * 17)]
            out.append(
                {"type": "URBAN_RURAL_MEDICAL", "status": "ACTIVE", "since": since, "monthlyBenefit": None}
            )
        if employee:
            for kind, share in (("WORK_INJURY", 0.4), ("UNEMPLOYMENT", 0.3)):
                if rand() < share:
                    since = _JAN_FIRST[12 + int(rand() * 13)]
                    out.append({"type": kind, "status": "ACTIVE", "since": since, "monthlyBenefit": None})
        return out
