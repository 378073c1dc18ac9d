"""The policy side of assisted access, without HTTP: consent grants, narrowing, compile checks."""

from __future__ import annotations

import dataclasses
import datetime as dt

from policies.assisted import narrow
from policies.compile import compile_grant
from policies.decision import Subject
from policies.engine import PolicyEngine
from policies.models import Grant

DAY = dt.date(2026, 11, 29)
AGENT = Subject("qingshan-agent", "village_service", "511599100201")
COUNTY = Subject("civil-affairs", "civil_affairs", "511599000000")


def test_consent_grants_count_only_when_assisted() -> None:
    engine = PolicyEngine.load()
    refused = engine.decide(AGENT, "residents", "pension-eligibility", today=DAY)
    assert not refused.allowed and refused.missing == "consent-required"
    # A purpose no consent grant names stays a plain grant-missing refusal.
    other = engine.decide(AGENT, "residents", "statistics", today=DAY, assisted=True)
    assert not other.allowed and other.missing == "grant-missing"
    allowed = engine.decide(AGENT, "residents", "pension-eligibility", today=DAY, assisted=True)
    assert allowed.allowed and allowed.grants == ("qingshan-agent-residents",)
    assert engine.policy.consent_bound(AGENT.client_id, AGENT.department)
    assert not engine.policy.consent_bound(COUNTY.client_id, COUNTY.department)


def test_narrowing_keeps_the_region_and_adds_the_resident() -> None:
    engine = PolicyEngine.load()
    county = engine.decide(COUNTY, "residents", "social-assistance-review", today=DAY)
    everywhere = dataclasses.replace(county, scopes=None)  # as a grant with no region limit decides
    one = narrow(everywhere, "R1")
    assert one.project_doc({"id": "R1", "region_code": "511599200201"}) is not None
    assert one.project_doc({"id": "R2", "region_code": "511599200201"}) is None
    agent = narrow(engine.decide(AGENT, "residents", "elderly-care", today=DAY, assisted=True), "R1")
    assert agent.scopes is not None and agent.scopes[0].prefixes == ("511599100201",)
    assert agent.project_doc({"id": "R1", "region_code": "511599200201"}) is None  # moved away: no
    open_data = engine.decide(AGENT, "services", None, today=DAY, assisted=True)
    assert narrow(open_data, "R1") is open_data


def test_a_consent_grant_needs_rows_that_name_a_resident() -> None:
    engine = PolicyEngine.load()
    resources = dict(engine.policy.resources)
    resources["enrollments"] = dataclasses.replace(resources["enrollments"], resident_field=None)
    grant = Grant(
        id="x",
        client="qingshan-agent",
        resource="enrollments",
        fields=["id", "resident_id"],
        purposes=["pension-eligibility"],
        requires_consent=True,
    )
    compiled, problems = compile_grant(grant, resources, engine.policy.purposes, origin="test")
    assert compiled is None and problems == [
        (("requires_consent",), "enrollments has no resident_field to narrow rows to")
    ]
    # ... and a decision over such rows cannot be narrowed: refused, never widened.
    decision = engine.decide(COUNTY, "residents", "social-assistance-review", today=DAY)
    info = dataclasses.replace(decision.info, resident_field=None)  # type: ignore[type-var]
    refused = narrow(dataclasses.replace(decision, info=info), "R1")
    assert not refused.allowed and refused.missing == "consent-invalid"
