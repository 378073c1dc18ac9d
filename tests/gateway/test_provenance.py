"""GET /v1/residents/{id}/provenance: each source's value of each visible field, masked as served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.app import create_app
from tests.auth.helpers import auth_settings, fetch_token, register
from tests.connectors.test_reconcile import hr_item
from tests.support.civil import CivilDb, make_id, sync_civil_and_hr

NUMBER = make_id("19700101", 81)


@pytest.fixture
def synced(store_engine: Engine, tmp_path: Path) -> Engine:
    """A store holding one resident known to civil affairs and HR, with different phones."""
    civil = CivilDb(tmp_path / "civil.sqlite")
    civil.person("A", NUMBER, name="王五", phone="13800000001")
    sync_civil_and_hr(
        store_engine, civil=civil, hr_items=[hr_item("P1", NUMBER, name="王伍", stamp="2026-10-05T00:00:00Z")]
    )
    return store_engine


def _client(store_url: str, engine: Engine, *, department: str, purpose: str) -> Iterator[TestClient]:
    client_id, secret = register(engine, department=department)
    with TestClient(create_app(auth_settings(store_url)), raise_server_exceptions=False) as c:
        assert secret is not None
        c.headers["Authorization"] = f"Bearer {fetch_token(c, client_id, secret)}"
        c.headers["X-Purpose"] = purpose
        yield c


def _rid(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT id FROM resident")).scalar_one())


@pytest.mark.backends
def test_every_source_value_and_the_rule(store_url: str, synced: Engine) -> None:
    """Civil affairs sees both names, the civil one served by precedence, the fresher phone served."""
    for c in _client(store_url, synced, department="civil_affairs", purpose="social-assistance-review"):
        r = c.get(f"/v1/residents/{_rid(synced)}/provenance")
        assert r.status_code == 200, r.text
        fields = r.json()["fields"]
        names = {v["source"]: v for v in fields["name"]}
        assert names["civil_affairs"]["value"] == "王五" and names["civil_affairs"]["served"]
        assert names["civil_affairs"]["rule"].startswith("precedence: civil_affairs")
        assert names["hr_api"]["value"] == "王伍" and not names["hr_api"]["served"]
        assert {v["source"] for v in fields["phone"] if v["served"]} == {"hr_api"}
        assert c.get("/v1/residents/RNOSUCHONE00/provenance").status_code == 404


def test_masked_and_hidden_fields_stay_so(store_url: str, synced: Engine) -> None:
    """HR sees addresses masked in every source value and no ethnicity, household or tags at all."""
    for c in _client(store_url, synced, department="hr", purpose="pension-eligibility"):
        r = c.get(f"/v1/residents/{_rid(synced)}/provenance")
        assert r.status_code == 200, r.text
        fields = r.json()["fields"]
        served = c.get(f"/v1/residents/{_rid(synced)}").json()
        assert [v["value"] for v in fields["address"]] == [served["address"]]
        assert served["address"] != "青山村1组"
        assert not {"ethnicity", "household_id", "relation"} & set(fields)
