"""The assisted-access world (tests/consents, tests/appeals): a village, a village agent, a department."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from schemas.codes import Tag
from schemas.models import Resident
from schemas.time import today_cn
from tests.support import callers, factories
from tests.support.keys import write_audit_key

VILLAGE, OTHER_VILLAGE = "511599100201", "511599200201"
AGENT = "qingshan-agent"
# client id -> (department, region, scopes)
CLIENTS = {
    AGENT: (
        "village_service",
        VILLAGE,
        ["residents:read", "households:read", "notices:read", "consents:read", "consents:write"],
    ),
    "civil-affairs": ("civil_affairs", "511599000000", ["residents:read", "consents:read"]),
}
PURPOSE = "pension-eligibility"
SCAN_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PAPER = {"method": "paper_form", "scan_reference": "QS-2026-11-0042.pdf", "scan_sha256": SCAN_SHA256}
VERBAL = {"method": "verbal", "witness_name": "李村医"}


def consent_body(resident: str | None, **changes: object) -> dict[str, object]:
    """Return a consent request's body: `resident` for the purpose, today for 30 days, a paper form."""
    today = today_cn()
    return {
        "resident_id": resident,
        "purpose": PURPOSE,
        "valid_from": str(today),
        "valid_until": str(today + dt.timedelta(days=30)),
        "evidence": PAPER,
        **changes,
    }


def add_family(engine: Engine) -> tuple[Resident, Resident]:
    """Insert a (born 1950, elderly) and b (born 2010): household H1 of the agent's village."""
    a = factories.add_resident(
        engine,
        region_code=VILLAGE,
        name="王建国",
        national_id="511599195003120415",
        birth_date=dt.date(1950, 3, 12),
        household_id="H1",
        tags=[Tag.ELDERLY],
    )
    b = factories.add_resident(
        engine, region_code=VILLAGE, name="王小明", national_id="511599201003120413", household_id="H1"
    )
    return a, b


@dataclass
class People:
    """The residents of the tests: a and b share household H1 in the agent's village; c lives alone
    in H2 there; d lives in another township's village."""

    a: str
    b: str
    c: str
    d: str
    a_nid: str
    b_nid: str


@dataclass
class World:
    """A started app over the store, a header helper minting real tokens, the residents."""

    tc: TestClient
    engine: Engine
    people: People
    headers: Callable[..., dict[str, str]]

    def consent(self, resident: str, **changes: object) -> dict[str, object]:
        """Record a consent by the agent (today for 30 days, paper form) and return it."""
        r = self.tc.post("/v1/consents", json=consent_body(resident, **changes), headers=self.headers(AGENT))
        assert r.status_code == 201, r.text
        out: dict[str, object] = r.json()
        return out

    def acting(self, resident: str, consent: object, *, purpose: str = PURPOSE) -> dict[str, str]:
        """Return the agent's headers acting for `resident` under `consent`."""
        return {**self.headers(AGENT, purpose), "X-On-Behalf-Of": resident, "X-Consent-Id": str(consent)}


def _people(engine: Engine) -> People:
    a, b = add_family(engine)
    c = factories.add_resident(engine, region_code=VILLAGE, name="李四", household_id="H2")
    d = factories.add_resident(engine, region_code=OTHER_VILLAGE, name="张三")
    factories.add_household(engine, hid="H1", household_no="0001", region_code=VILLAGE, head=a.id)
    factories.add_household(engine, hid="H2", household_no="0002", region_code=VILLAGE, head=c.id)
    assert a.national_id is not None and b.national_id is not None
    return People(a.id, b.id, c.id, d.id, a.national_id, b.national_id)


@pytest.fixture
def world(store_url: str, store_engine: Engine, tmp_path: Path) -> Iterator[World]:
    """Return the started app with the agent and civil-affairs clients registered."""
    factories.county(store_engine)
    people = _people(store_engine)
    for cid, (dept, region, scopes) in CLIENTS.items():
        callers.register(store_engine, client_id=cid, department=dept, region_code=region, scopes=scopes)
    with callers.make_app(store_url, audit_key_file=write_audit_key(tmp_path / "audit-key.pem")) as tc:
        headers = callers.token_headers(tc, {cid: c[2] for cid, c in CLIENTS.items()})

        yield World(tc, store_engine, people, headers)
