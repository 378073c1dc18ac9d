"""Merge precedence and derived tags, as pure functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sdk.linking.merge import Merged, SourceRow, merge
from connectors.sdk.linking.tags import household_tags

TODAY = dt.date(2026, 11, 1)


def row(source: str, key: str, updated: str, **values: Any) -> SourceRow:
    """A stored source record."""
    dept = {"civil_affairs": "civil_affairs", "hr_api": "hr", "hr_migrant_register": "hr"}[source]
    return SourceRow(source, key, updated, {"department": dept, "national_id": "X", **values})


def test_civil_affairs_wins_identity_and_the_freshest_phone_wins() -> None:
    """Name from civil affairs although HR is newer; phone from the newest source; employment from HR."""
    m = merge(
        "R1",
        [
            row(
                "civil_affairs",
                "MZ1",
                "2025-01-01T00:00:00Z",
                name="王五",
                phone="13800000001",
                status="active",
            ),
            row(
                "hr_api",
                "RS1",
                "2026-01-01T00:00:00Z",
                name="王伍",
                phone="13800000002",
                employment_status="migrant",
                employment={"status": "migrant"},
            ),
        ],
    )
    assert m.values["name"] == "王五" and m.provenance["name"]["source"] == "civil_affairs"
    assert m.values["phone"] == "13800000002" and m.provenance["phone"]["record_key"] == "RS1"
    assert m.values["employment_status"] == "migrant" and m.employment is not None
    assert m.sources == ["civil_affairs", "hr_api"]


def test_unknown_sex_yields_and_the_later_month_wins() -> None:
    """HR's 未知 yields to the register's 男; of two register rows the later month is the view."""
    m = merge(
        "R1",
        [
            row("hr_api", "RS1", "2026-01-01T00:00:00Z", sex="unknown"),
            row(
                "hr_migrant_register",
                "f09#3",
                "2026-09-03T00:00:00Z",
                sex="male",
                version="2026-09#3",
                migration={"work_city": "深圳市"},
            ),
            row(
                "hr_migrant_register",
                "f10#9",
                "2026-10-09T00:00:00Z",
                sex="male",
                version="2026-10#9",
                migration={"work_city": "东莞市"},
            ),
        ],
    )
    assert m.values["sex"] == "male" and m.provenance["sex"]["source"] == "hr_migrant_register"
    assert (
        m.migration is not None
        and m.migration["work_city"] == "东莞市"
        and m.migration["record_key"] == "f10#9"
    )


def person(rid: str, relation: str, birth: str, *, status: str = "active", migrant: bool = False) -> Merged:
    """A merged household member."""
    values = {"relation": relation, "birth_date": birth, "status": status}
    if migrant:
        values["employment_status"] = "migrant"
    return Merged(rid, "X", values, {}, ["civil_affairs"], False)


def test_left_behind_child_needs_every_parent_away() -> None:
    """A child of the head is left behind when head and spouse both work away; not when one is home."""
    head, spouse = (
        person("H", "02", "1985-01-01", migrant=True),
        person("S", "10", "1986-01-01", migrant=True),
    )
    child, grandma = person("C", "20", "2015-05-05"), person("G", "50", "1955-01-01")
    household_tags(
        [head, spouse, child, grandma], receiving={"G": {"old_age_allowance"}}, today=TODAY, registered=True
    )
    assert child.tags == ["left_behind_child"] and grandma.tags == ["elderly"]
    assert head.tags == ["migrant_worker"]
    spouse = person("S", "10", "1986-01-01")
    household_tags([head, spouse, child], receiving={}, today=TODAY, registered=True)
    assert child.tags == []


def test_grandchild_parents_are_the_heads_children() -> None:
    """For a grandchild (40) the parents are the head's sons and daughters (20, 30)."""
    grandpa, son, grandchild = (
        person("G", "02", "1950-01-01"),
        person("F", "20", "1980-01-01", migrant=True),
        person("K", "40", "2012-01-01"),
    )
    household_tags([grandpa, son, grandchild], receiving={}, today=TODAY, registered=True)
    assert grandchild.tags == ["left_behind_child"]
    orphan = person("O", "99", "2014-01-01")  # no relation that names parents: never tagged
    household_tags([grandpa, orphan], receiving={}, today=TODAY, registered=True)
    assert orphan.tags == []


def test_living_alone_income_disability_and_inactive() -> None:
    """The only active member lives alone; 低保/特困 is low income, 04 disabled; the deceased get nothing."""
    alone, gone = person("A", "02", "1960-06-01"), person("D", "10", "1958-01-01", status="deceased")
    receiving = {"A": {"minimum_living_allowance", "disability_subsidy"}, "D": {"extreme_poverty_support"}}
    household_tags([alone, gone], receiving=receiving, today=TODAY, registered=True)
    assert alone.tags == ["elderly", "living_alone", "low_income", "disabled"]
    assert gone.tags == []
    loner = person("L", "02", "1990-01-01")
    household_tags([loner], receiving={}, today=TODAY, registered=False)  # no registered household
    assert loner.tags == []
