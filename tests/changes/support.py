"""Helpers of the change-feed and webhook tests: a civil-affairs source synced for real, API clients."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from connectors.civil_affairs import CivilAffairsConnector, CivilAffairsSettings
from connectors.sdk.runner import SyncReport, run_connectors
from tests.auth.helpers import fetch_token, register
from tests.support.civil import CivilDb
from tests.support.webhooks import Receiver, verify

__all__ = ["Receiver", "verify"]  # imported from here by the change, alert and SSRF tests

COUNTY = "511599000000"
QINGSHAN = "511599100000"  # the township of CivilDb's village 511599100201
SHIMEN = "511599200000"  # another township


def sync(store: Engine, civil: CivilDb) -> SyncReport:
    """Run the civil-affairs connector against its source, as `gateway sync` does."""
    report = run_connectors(store, [CivilAffairsConnector(CivilAffairsSettings(url=SecretStr(civil.url)))])
    assert report.ok, report
    return report


def api_client(
    tc: TestClient, store: Engine, *, department: str, region: str, purpose: str, scopes: list[str]
) -> dict[str, str]:
    """Register a client and return the headers its requests carry (bearer token, purpose)."""
    client_id, secret = register(store, scopes=scopes, department=department, region_code=region)
    assert secret is not None
    return {"Authorization": f"Bearer {fetch_token(tc, client_id, secret)}", "X-Purpose": purpose}


def hr_reader(tc: TestClient, store: Engine, *, scopes: list[str]) -> dict[str, str]:
    """Register a county-wide HR client reading for pension eligibility; return its headers."""
    return api_client(tc, store, department="hr", region=COUNTY, purpose="pension-eligibility", scopes=scopes)


def civil_reader(tc: TestClient, store: Engine, *, region: str, scopes: list[str]) -> dict[str, str]:
    """Register a civil-affairs client of `region` reviewing social assistance; return its headers."""
    return api_client(
        tc,
        store,
        department="civil_affairs",
        region=region,
        purpose="social-assistance-review",
        scopes=scopes,
    )


def feed(tc: TestClient, headers: dict[str, str], *, limit: int = 500) -> list[dict[str, Any]]:
    """Follow the change feed from its start to its end."""
    items: list[dict[str, Any]] = []
    since: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if since:
            params["since"] = since
        r = tc.get("/v1/changes", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        since = body["next"]
        if not body["more"]:
            return items
