"""One committed audit event per decision, before the response; 503 when the log cannot commit."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text

from tests.audit.conftest import Audited
from tests.support import factories


def _event(audited: Audited, seq: int) -> dict:
    with audited.engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM audit_event WHERE seq = :s"), {"s": seq}).scalar_one()
    return orjson.loads(bytes(body))


def _count(audited: Audited) -> int:
    with audited.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one())


@pytest.mark.backends
def test_every_decision_has_one_event(audited: Audited) -> None:
    a = factories.add_resident(audited.engine, region_code="511599100201")
    b = factories.add_resident(audited.engine, region_code="511599100202")
    tc = audited.as_reader()
    before = _count(audited)
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    ok = tc.get(
        f"/v1/residents/{a.id}",
        headers={
            "X-End-User": "staff-0042",
            "X-Case-Id": "DB-2026-117",
            "X-On-Behalf-Of": "511599100000",
            "traceparent": tp,
        },
    )
    listed = tc.get("/v1/residents", params={"region": "511599100000"})
    missing = tc.get("/v1/residents/R99999999999")
    anonymous = tc.get(f"/v1/residents/{a.id}", headers={"Authorization": ""})
    wrong_scope = audited.as_auditor().get(f"/v1/residents/{a.id}")
    responses = [ok, listed, missing, anonymous, wrong_scope]
    assert [r.status_code for r in responses] == [200, 200, 404, 401, 403]
    assert _count(audited) == before + len(responses)

    ev = _event(audited, int(ok.headers["x-audit-seq"]))
    assert ev["route"] == "/v1/residents/{resident_id}" and ev["method"] == "GET"
    assert ev["record_ids"] == [a.id] and ev["resource"] == "resident"
    assert (ev["end_user"], ev["case_id"], ev["on_behalf_of"]) == (
        "staff-0042",
        "DB-2026-117",
        "511599100000",
    )
    assert ev["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" == ok.headers["x-trace-id"]
    assert ev["decision"] == "allow" and ev["status"] == 200 and ev["client_id"] and ev["department"]
    assert ev["purpose"] == "social-assistance-review" and ev["source"] and ev["duration_us"] > 0
    assert ev["fields_disclosed"], "the policy's projection names the disclosed fields"

    lst = _event(audited, int(listed.headers["x-audit-seq"]))
    assert sorted(lst["record_ids"]) == sorted([a.id, b.id])  # every record of a list
    for r, status, decision in (
        (missing, 404, "error"),
        (anonymous, 401, "deny"),
        (wrong_scope, 403, "deny"),
    ):
        ev = _event(audited, int(r.headers["x-audit-seq"]))
        assert ev["status"] == status
        if status != 404:  # a 404 may be the policy's allow that found nothing
            assert ev["decision"] == decision
        assert ev["trace_id"] == r.headers["x-trace-id"]
    assert _event(audited, int(wrong_scope.headers["x-audit-seq"]))["department"] == "county_audit"


def test_token_requests_are_audited(audited: Audited) -> None:
    tc = audited.as_reader()
    r = tc.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "wrong"))
    assert r.status_code in (400, 401)
    ev = _event(audited, int(r.headers["x-audit-seq"]))
    assert ev["kind"] == "token" and ev["route"] == "/oauth/token" and ev["decision"] == "deny"


def test_invalid_accountability_header_is_refused_and_audited(audited: Audited) -> None:
    r = audited.as_reader().get("/v1/regions", headers={"X-Case-Id": "x" * 129})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert _event(audited, int(r.headers["x-audit-seq"]))["reason"] == "http-400"


@pytest.mark.backends
def test_audit_store_failure_fails_the_request(audited: Audited) -> None:
    a = factories.add_resident(audited.engine, region_code="511599100201")
    writer = audited.app.state.runtime.audit_writer  # type: ignore[attr-defined]
    before = _count(audited)

    async def broken(events: list) -> list[int]:
        raise OSError("disk full")

    real, writer._seq.append = writer._seq.append, broken
    try:
        r = audited.as_reader().get(f"/v1/residents/{a.id}")
    finally:
        writer._seq.append = real
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/audit-unavailable"
    assert "徐" not in r.text and a.id not in r.text  # nothing of the record leaked
    assert _count(audited) == before
    assert audited.as_reader().get(f"/v1/residents/{a.id}").status_code == 200  # recovers


def test_openapi_documents_accountability_headers(audited: Audited) -> None:
    spec = audited.as_reader().get("/openapi.json").json()
    params = spec["paths"]["/v1/residents/{resident_id}"]["get"]["parameters"]
    names = {p["name"] for p in params if p["in"] == "header"}
    assert {"X-End-User", "X-Case-Id", "X-On-Behalf-Of"} <= names
