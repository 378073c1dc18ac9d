"""Fixtures of the policy tests: an app with registered demo clients and real access tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support import callers, factories
from tests.support.callers import make_app

COUNTY, QINGSHAN, SHIMEN = "511599000000", "511599100000", "511599200000"
# client id -> (department, region, scopes): the demo's clients, one per department.
DEMO = {
    "civil-affairs": ("civil_affairs", COUNTY, ["residents:read", "households:read"]),
    "hr": ("hr", COUNTY, ["residents:read"]),
    # Approving sharing requests is security administration: a client of its own (separation of duties).
    "civil-affairs-approver": ("civil_affairs", COUNTY, ["sharing:approve"]),
    "hr-approver": ("hr", COUNTY, ["sharing:approve"]),
    "publicity": ("publicity", COUNTY, ["notices:read"]),
    "qingshan-township": ("township", QINGSHAN, ["residents:read", "households:read"]),
    "qingshan-village": ("township", "511599100201", ["residents:read"]),
    "auditor": ("audit", COUNTY, ["audit:read"]),
    "policy-admin": ("county_it", COUNTY, ["admin:policies"]),
}


def register(engine: Engine, client_id: str, department: str, region: str | None, scopes: list[str]) -> None:
    """Register a demo client under its id (positional: the DEMO table's order)."""
    callers.register(engine, client_id=client_id, department=department, region_code=region, scopes=scopes)


Headers = callers.Headers


def token_headers(tc: TestClient) -> Headers:
    """Return a helper making Authorization (+ X-Purpose) headers for a demo client."""
    return callers.token_headers(tc, {cid: c[2] for cid, c in DEMO.items()})


@pytest.fixture
def demo_store(store_url: str, store_engine: Engine) -> str:
    """Return a store holding the small county and the demo clients."""
    factories.county(store_engine)
    for cid, (dept, region, scopes) in DEMO.items():
        register(store_engine, cid, dept, region, scopes)
    return store_url


@pytest.fixture
def api(demo_store: str) -> Iterator[tuple[TestClient, Headers]]:
    """Return a started app over the demo store and the token helper."""
    with make_app(demo_store) as tc:
        yield tc, token_headers(tc)
