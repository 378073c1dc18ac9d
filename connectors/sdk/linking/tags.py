"""Derived tags of residents, computed a household at a time (some tags depend on the other members).

| tag | rule |
|---|---|
| elderly | aged 60 or more on the sync date (China's 老年人 threshold, 老年人权益保障法 art. 2) |
| living_alone | the only active member of a registered household |
| low_income | receiving 城乡低保 (JZLX 01) or 特困供养 (02) |
| disabled | receiving 残疾人两项补贴 (04) |
| migrant_worker | HR employment MIGRANT, or in the migrant register and not come back (返乡时间 blank) |
| left_behind_child | under 16, a parent in the household, and every such parent a migrant worker |
| needs_review | no citizen ID number in the source: kept apart for manual review |

Parents are read off the relation to the household head (GB/T 4761): a son or daughter (20, 30) of the
head has the head and the head's spouse (02, 10) as parents; a grandchild (40) has the head's sons and
daughters (20, 30) as parents; a head (02) has the head's parents (50). A child with any other relation
(99 other, 70 sibling) has no parent we can tell, and is not tagged. Tags other than needs_review are
given to active residents only: the deceased and the moved-out are nobody's visit list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from connectors.sdk.linking.merge import Merged
from schemas.codes import EnrollmentKind, EnrollmentStatus, Tag

ELDERLY_AGE: Final = 60
CHILD_AGE: Final = 16
LOW_INCOME: Final = frozenset(
    {EnrollmentKind.MINIMUM_LIVING_ALLOWANCE.value, EnrollmentKind.EXTREME_POVERTY_SUPPORT.value}
)
DISABLED: Final = frozenset({EnrollmentKind.DISABILITY_SUBSIDY.value})
HEAD, SPOUSE, SON, DAUGHTER, GRANDCHILD, PARENT = "02", "10", "20", "30", "40", "50"
_PARENTS_OF: Final[dict[str, frozenset[str]]] = {
    SON: frozenset({HEAD, SPOUSE}),
    DAUGHTER: frozenset({HEAD, SPOUSE}),
    GRANDCHILD: frozenset({SON, DAUGHTER}),
    HEAD: frozenset({PARENT}),
}
_ORDER: Final = {tag.value: n for n, tag in enumerate(Tag)}


def age_on(birth: str | None, day: dt.date) -> int | None:
    """Return the age in whole years on `day` of someone born on ISO date `birth`."""
    if not birth:
        return None
    born = dt.date.fromisoformat(birth)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def years_before(day: dt.date, years: int) -> dt.date:
    """Return the same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def is_migrant(person: Merged) -> bool:
    """Tell whether HR or the migrant register says the person works away from home now."""
    if person.values.get("employment_status") == "migrant":
        return True
    return person.migration is not None and not person.migration.get("returned_on")


def household_tags(
    members: Iterable[Merged], *, receiving: dict[str, set[str]], today: dt.date, registered: bool
) -> None:
    """Set `tags` on every member of one household (or on one person without a household).

    `receiving` maps resident id -> enrolment kinds being received; `registered` tells whether the
    members form a registered household (living_alone and left_behind_child need one).
    """
    people = list(members)
    active = [p for p in people if (p.values.get("status") or "active") == "active"]
    migrant = {p.resident_id: is_migrant(p) for p in active}
    for person in people:
        tags: list[str] = []
        if person.needs_review:
            tags.append(Tag.NEEDS_REVIEW.value)
        if person.resident_id in migrant:
            tags.extend(_own_tags(person, receiving.get(person.resident_id, set()), today, migrant))
            if registered and len(active) == 1:
                tags.append(Tag.LIVING_ALONE.value)
            if registered and _left_behind(person, active, today, migrant):
                tags.append(Tag.LEFT_BEHIND_CHILD.value)
        person.tags = sorted(tags, key=_ORDER.__getitem__)


def _own_tags(person: Merged, kinds: set[str], today: dt.date, migrant: dict[str, bool]) -> list[str]:
    tags = []
    age = age_on(person.values.get("birth_date"), today)
    if age is not None and age >= ELDERLY_AGE:
        tags.append(Tag.ELDERLY.value)
    if kinds & LOW_INCOME:
        tags.append(Tag.LOW_INCOME.value)
    if kinds & DISABLED:
        tags.append(Tag.DISABLED.value)
    if migrant[person.resident_id]:
        tags.append(Tag.MIGRANT_WORKER.value)
    return tags


def _left_behind(child: Merged, active: list[Merged], today: dt.date, migrant: dict[str, bool]) -> bool:
    age = age_on(child.values.get("birth_date"), today)
    if age is None or age >= CHILD_AGE:
        return False
    relations = _PARENTS_OF.get(child.values.get("relation") or "")
    if not relations:
        return False
    parents = [p for p in active if p is not child and p.values.get("relation") in relations]
    return bool(parents) and all(migrant[p.resident_id] for p in parents)


def receiving_kinds(rows: Iterable[tuple[str, str, str]]) -> dict[str, set[str]]:
    """Group (resident_id, kind, status) enrolment rows into the kinds each resident receives now."""
    out: dict[str, set[str]] = {}
    for rid, kind, status in rows:
        if status == EnrollmentStatus.ACTIVE.value:
            out.setdefault(rid, set()).add(kind)
    return out
