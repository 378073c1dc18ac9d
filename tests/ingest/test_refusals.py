"""What a push is refused for, and what it leaves in the audit log; HR and migrant-register pushes."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.civil_affairs.models import CivilAffairsPush
from connectors.sdk.batch import MAX_RECORDS
from gateway.ingest import repository
from gateway.ingest.repository import KeyRef
from gateway.ingest.service import LEASE, fingerprint
from store.bulk import Store
from tests.ingest.conftest import Api, civil_rows

PROBLEM = "application/problem+json"


def _problem(r: Any, status: int, slug: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == f"/problems/{slug}"


def _row(samples: Path) -> dict[str, Any]:
    return {"T_HJ_JMXX": civil_rows(samples, "T_HJ_JMXX")[:1]}


def test_scope_key_source_and_shape_refusals(sqlite_api: Api, samples: Path) -> None:
    """403 for another source's scope, 400 without a key, 404 for an unknown source, 422 for a bad batch."""
    api, batch = sqlite_api, _row(samples)
    _problem(api.push("publicity", {"items": [{"guid": "n1"}]}), 403, "insufficient-scope")
    _problem(api.push("civil_affairs", batch, who="cms"), 403, "insufficient-scope")
    _problem(
        api.tc.post("/v1/ingest/civil_affairs", json=batch, headers={"Idempotency-Key": "k"}),
        401,
        "invalid-token",
    )
    _problem(api.push("civil_affairs", batch, key=""), 400, "idempotency-key-missing")
    _problem(api.push("civil_affairs", batch, key="with space"), 400, "idempotency-key-missing")
    _problem(api.push("nowhere", batch), 404, "unknown-source")
    _problem(api.push("gazetteer", batch), 404, "unknown-source")  # installed, but takes no pushes
    _problem(api.push("civil_affairs", {"T_HJ_JMXX": "MZ1"}), 422, "validation-failed")
    _problem(api.push("civil_affairs", {"T_XX": []}), 422, "validation-failed")
    _problem(api.push("civil_affairs", {"T_HJ_JMXX": ["MZ1"]}), 422, "validation-failed")
    _problem(api.push("civil_affairs", {}), 422, "validation-failed")
    too_many = api.push("civil_affairs", {"T_HJ_JMXX": [{"JMID": str(n)} for n in range(MAX_RECORDS + 1)]})
    _problem(too_many, 422, "validation-failed")
    assert f"at most {MAX_RECORDS} records" in too_many.json()["detail"]
    assert api.rows("SELECT record_key FROM resident_source") == []
    assert api.rows("SELECT record_key FROM quarantine") == []


def test_a_key_in_flight_answers_409_until_its_lease_ends(sqlite_api: Api, samples: Path) -> None:
    """While another request holds the key: 409; once its holder is gone (lease over), a retry takes it."""
    api, batch = sqlite_api, _row(samples)
    ref = KeyRef(client_id=api.client_id("mz"), source="civil_affairs", key="held")
    digest = fingerprint(CivilAffairsPush.model_validate(batch))
    started = dt.datetime.now(dt.UTC)
    with api.engine.begin() as conn:
        repository.claim(Store(conn), ref=ref, fingerprint=digest, now=started, lease=LEASE)
    r = api.push("civil_affairs", batch, key="held")
    _problem(r, 409, "idempotency-key-in-flight")
    assert r.headers["Retry-After"] == "1"
    assert api.rows("SELECT record_key FROM resident_source") == []
    with api.engine.begin() as conn:  # the holder died: its lease ran out
        conn.exec_driver_sql("UPDATE ingest_key SET locked_until = ?", (started - LEASE,))
    r = api.push("civil_affairs", batch, key="held")
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


def test_the_audit_event_says_what_was_pushed(sqlite_api: Api, samples: Path) -> None:
    """The push's audit event names the source's record keys and the outcome."""
    api, batch = sqlite_api, _row(samples)
    r = api.push("civil_affairs", batch, key="audited-1")
    assert r.status_code == 200, r.text
    seq = int(r.headers["X-Audit-Seq"])
    [(resource, reason, status, client)] = api.rows(
        f"SELECT resource, reason, status, client_id FROM audit_event WHERE seq = {seq}"
    )
    key = batch["T_HJ_JMXX"][0]["JMID"]
    assert (resource, status, client) == ("ingest", 200, api.client_id("mz"))
    assert reason.startswith("ingest civil_affairs key audited-1: received 1, created 1")
    assert api.rows(f"SELECT record_id FROM audit_event_record WHERE seq = {seq}") == [
        (f"civil_affairs:{key}",)
    ]


def test_hr_pushes_link_to_the_civil_affairs_resident(sqlite_api: Api, samples: Path) -> None:
    """An HR person item pushed as the HR API returns it joins the resident civil affairs pushed."""
    api = sqlite_api
    civil = civil_rows(samples, "T_HJ_JMXX")[0]
    assert api.push("civil_affairs", {"T_HJ_JMXX": [civil]}).status_code == 200
    pages = sorted((samples / "hr_api").glob("persons_page*.json"))
    persons = [p for page in pages for p in json.loads(page.read_text(encoding="utf-8"))["data"]["items"]]
    same = next(p for p in persons if p["idCardNo"].upper() == civil["SFZHM"].upper())
    bad = {**same, "personId": "RS-BAD", "idCardNo": same["idCardNo"][:-1] + "0"}  # wrong check character
    r = api.push("hr_api", {"persons": [same, bad]}, who="hr")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["held_back"][0]["key"]) == (1, "RS-BAD")
    assert r.json()["held_back"][0]["reason"] == "invalid_id"
    residents = api.get("/v1/residents", who="hr").json()["items"]
    assert len(residents) == 1  # linked by citizen ID: one person, two sources
    assert residents[0]["employment_status"] == same["employment"]["status"].lower()


def _register_batch(samples: Path) -> dict[str, Any]:
    path = samples / "hr_migrant_register_2026-09.csv"
    with path.open(encoding="gb18030", newline="") as handle:
        return {"file": path.name, "rows": list(csv.DictReader(handle))}


def test_migrant_register_rows_are_held_back_as_a_sync_would(sqlite_api: Api, samples: Path) -> None:
    """Register rows resolve villages through the configured gazetteer; the samples' quirks are held back."""
    batch = _register_batch(samples)
    r = sqlite_api.push("hr_migrant_register", batch, who="hr")
    assert r.status_code == 200, r.text
    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    held = {h["key"]: h["reason"] for h in expected["held_back"] if h["key"].startswith(batch["file"])}
    assert {h["key"]: h["reason"] for h in r.json()["held_back"]} == held


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_unconfigured_register_answers_503(api: Api, samples: Path) -> None:
    """Without the register's gazetteer configured, its rows cannot be translated: 503, nothing stored."""
    r = api.push("hr_migrant_register", _register_batch(samples), who="hr")
    _problem(r, 503, "source-not-configured")
    assert api.rows("SELECT record_key FROM resident_source") == []


def test_odd_values_are_held_back_or_refused_never_a_500(sqlite_api: Api, samples: Path) -> None:
    """A number beyond 64 bits is quarantined like any wrong type; a key the store cannot hold: 422."""
    api = sqlite_api
    row = civil_rows(samples, "T_HJ_JMXX")[0]
    odd = {**row, "JMID": "MZ-ODD", "XM": 10**30}
    r = api.push("civil_affairs", {"T_HJ_JMXX": [{**row, "EXTRA": 10**30}, odd]})
    assert r.status_code == 200, r.text
    assert (r.json()["created"], [(h["key"], h["reason"]) for h in r.json()["held_back"]]) == (
        1,
        [("MZ-ODD", "invalid_record")],
    )
    assert api.rows("SELECT raw FROM quarantine")[0][0].count(str(10**30)) == 1  # kept exactly
    long_key = api.push("civil_affairs", {"T_HJ_JMXX": [{**row, "JMID": "M" * 65}]})
    _problem(long_key, 422, "validation-failed")
    assert "longer than 64 characters" in long_key.json()["detail"]
