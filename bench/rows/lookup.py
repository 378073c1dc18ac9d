"""Rows of the issue-20 list: a resident by citizen ID, and a village agent's read under a consent."""

from __future__ import annotations

import orjson

from bench import rowkit
from bench.access import full_path_headers
from bench.scenarios import Fixture, Request, Scenario, register


def _lookups(fx: Fixture) -> list[Request]:
    # The number goes in the body, never in the URL (gateway/residents/endpoints.py).
    json = {"Content-Type": "application/json"}
    return [
        Request(
            "/v1/residents:lookup",
            method="POST",
            headers=json,
            body=orjson.dumps({"national_id": n}).decode(),
        )
        for n in rowkit.national_ids(fx)
    ]


def _consent_reads(fx: Fixture) -> list[Request]:
    return [
        Request(f"/v1/residents/{rid}", headers={"X-On-Behalf-Of": rid, "X-Consent-Id": cid})
        for rid, cid in rowkit.seed_consents(fx)
    ]


register(
    Scenario(
        name="lookup",
        title="`POST /v1/residents:lookup` (by citizen ID), full path",
        requests=_lookups,
        env=rowkit.env,
        headers=full_path_headers,
        order=30,
        notes="rotates through the citizen ID numbers of the sampled residents; the by-id client",
    )
)
register(
    Scenario(
        name="consent-read",
        title="`GET /v1/residents/{id}` by a village agent under the resident's consent, full path",
        requests=_consent_reads,
        env=rowkit.env,
        headers=lambda fx: rowkit.headers(fx, rowkit.agent(fx)),
        order=31,
        notes="X-On-Behalf-Of + X-Consent-Id over up to 1,000 consents recorded to a township's agent",
    )
)
