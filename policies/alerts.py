"""Early-warning rules (预警规则), declared in alerts.yaml beside the policy; evaluated per resident.

A rule names its legal or programme basis, the department whose worklist receives what it raises and
the purpose under which that department reads it; its `when` holds conditions that must all be true of
one resident (with their enrolments, migration record and household). The same evaluator runs after
every sync and push (gateway/alerts/evaluate.py) and in `gateway policy test` (alert_cases files).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from policies.models import Ident, Strict
from schemas.codes import Department, EnrollmentKind, ResidentStatus, Tag

ALERT_RAISED = "alert.raised"  # the change-feed and webhook event of a new item
ADULT_AGE = 18  # a guardian is an adult (民法典 第十七条)


class When(Strict):
    """Conditions on one resident; every one given must hold."""

    status: ResidentStatus | None = Field(default=None, description="The resident's status (人员状态).")
    tags: list[Tag] = Field(default_factory=list, description="Tags the resident has, all of them.")
    without_tags: list[Tag] = Field(default_factory=list, description="Tags the resident has none of.")
    age_from: int | None = Field(default=None, ge=0, le=150, description="Aged at least this on the day.")
    age_below: int | None = Field(default=None, ge=0, le=150, description="Aged less than this on the day.")
    enrolled: list[EnrollmentKind] = Field(
        default_factory=list, description="An active enrolment of one of these programmes."
    )
    not_enrolled: list[EnrollmentKind] = Field(
        default_factory=list, description="No active enrolment of any of these programmes."
    )
    ending_within_days: int | None = Field(
        default=None, ge=1, le=366, description="With `enrolled`: that enrolment ends within this many days."
    )
    no_guardian: bool = Field(
        default=False, description="No active adult household member who is not a migrant worker."
    )
    returned_within_days: int | None = Field(
        default=None, ge=1, le=366, description="Came back from migrant work within this many days."
    )

    @model_validator(mode="after")
    def _meaningful(self) -> When:
        if self.ending_within_days is not None and not self.enrolled:
            raise ValueError("ending_within_days needs `enrolled` (which enrolment ends)")
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one condition")
        return self


class AlertRule(Strict):
    """One early-warning rule."""

    id: Ident
    name: str = Field(min_length=2, max_length=80, description="Title on the worklist (Chinese).")
    basis: str = Field(min_length=4, description="Legal or programme basis (依据).")
    department: Department = Field(description="Responsible department: its worklist receives the items.")
    purpose: Ident = Field(description="Purpose under which the department reads the items (purposes.yaml).")
    action: str = Field(min_length=2, description="What the department is expected to do (处置要求).")
    when: When


class AlertRules(Strict):
    """The alerts.yaml document."""

    rules: list[AlertRule] = Field(default_factory=list)


@dataclass(slots=True)
class Facts:
    """What the rules may read of one resident: their served document (at least id, status, birth_date,
    region_code, household_id and tags: what the evaluator reads off columns) and related records."""

    resident: dict[str, Any]
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    migration: dict[str, Any] | None = None
    household: list[dict[str, Any]] = field(default_factory=list)  # the other members, likewise


@dataclass(frozen=True, slots=True)
class Hit:
    """One item a rule raises: its key (one open item per key) and a short detail."""

    rule: AlertRule
    key: str
    detail: str


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def age_on(birth: Any, day: dt.date) -> int | None:
    """Return the age in whole years on `day` of someone born on `birth` (None when unknown)."""
    born = _day(birth)
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def returned_within(migration: Mapping[str, Any] | None, *, day: dt.date, days: int) -> bool:
    """Tell whether a migration record says its person came back in the `days` up to `day`."""
    back = _day((migration or {}).get("returned_on"))
    return back is not None and day - dt.timedelta(days=days) <= back <= day


def ends_within(enrolment: Mapping[str, Any], *, day: dt.date, days: int) -> bool:
    """Tell whether an enrolment ends in the `days` from `day` on."""
    end = _day(enrolment.get("end"))
    return end is not None and day <= end <= day + dt.timedelta(days=days)


def _active(facts: Facts, kinds: Sequence[str]) -> list[dict[str, Any]]:
    return [e for e in facts.enrollments if e.get("status") == "active" and e.get("kind") in kinds]


def _has_guardian(facts: Facts, day: dt.date) -> bool:
    for member in facts.household:
        if (member.get("status") or "active") != "active" or "migrant_worker" in (member.get("tags") or ()):
            continue
        age = age_on(member.get("birth_date"), day)
        if age is not None and age >= ADULT_AGE:
            return True
    return False


def _person_holds(when: When, facts: Facts, day: dt.date) -> bool:
    doc = facts.resident
    tags = set(doc.get("tags") or ())
    if when.status is not None and (doc.get("status") or "active") != when.status.value:
        return False
    if not tags.issuperset(t.value for t in when.tags) or tags.intersection(
        t.value for t in when.without_tags
    ):
        return False
    if when.age_from is not None or when.age_below is not None:
        age = age_on(doc.get("birth_date"), day)
        if age is None or (when.age_from is not None and age < when.age_from):
            return False
        if when.age_below is not None and age >= when.age_below:
            return False
    if when.not_enrolled and _active(facts, [k.value for k in when.not_enrolled]):
        return False
    if when.no_guardian and _has_guardian(facts, day):
        return False
    days = when.returned_within_days
    return days is None or returned_within(facts.migration, day=day, days=days)


def evaluate(rule: AlertRule, facts: Facts, *, today: dt.date) -> list[Hit]:
    """Return what `rule` raises for one resident on `today` (empty when it does not apply)."""
    when, rid = rule.when, str(facts.resident.get("id"))
    if not _person_holds(when, facts, today):
        return []
    if not when.enrolled:
        return [Hit(rule, f"{rule.id}:{rid}", "")]
    hits = []
    for enrolment in _active(facts, [k.value for k in when.enrolled]):
        kind = EnrollmentKind(enrolment["kind"]).label
        if when.ending_within_days is not None:
            end = _day(enrolment.get("end"))
            if not ends_within(enrolment, day=today, days=when.ending_within_days):
                continue
            # Keyed by the end date too: a renewed enrolment that nears its new end warns again.
            hits.append(Hit(rule, f"{rule.id}:{enrolment['id']}:{end}", f"{kind} {end} 到期"))
        else:
            hits.append(Hit(rule, f"{rule.id}:{enrolment['id']}", f"{kind} 仍在享受"))
    return hits


def evaluate_all(rules: Iterable[AlertRule], facts: Facts, *, today: dt.date) -> list[Hit]:
    """Return what every rule raises for one resident."""
    return [hit for rule in rules for hit in evaluate(rule, facts, today=today)]
