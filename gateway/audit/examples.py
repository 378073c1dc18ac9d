"""Examples of the auditor API's answers (its routes return raw bytes, so no response model shows them)."""

from __future__ import annotations

from typing import Any

from gateway.audit.events import DISCLOSURE_FIELDS
from gateway.errors import SAMPLE_TRACE_ID

_EVENT_EXAMPLE: dict[str, Any] = {
    "seq": 1042,
    "time": "2026-11-01T08:00:00.123456Z",
    "kind": "access",
    "client_id": "civil-affairs",
    "department": "civil_affairs",
    "purpose": "social-assistance-review",
    "case_id": "MZ-2026-0042",
    "end_user": "0731",
    "on_behalf_of": None,
    "consent_id": None,
    "method": "GET",
    "route": "/v1/residents/{resident_id}",
    "resource": "resident",
    "record_ids": ["R7K3Q9M2X4T8"],
    "fields_disclosed": ["name", "sex", "birth_date", "region_code"],
    "fields_masked": ["national_id"],
    "decision": "allow",
    "reason": "grant civil-affairs-residents",
    "policy_version": "2026.11.01",
    "status": 200,
    "trace_id": SAMPLE_TRACE_ID,
}
_CHECKPOINT_EXAMPLE: dict[str, Any] = {
    "tree_size": 1042,
    "time": "2026-11-01T08:00:05Z",
    "root_hash": "9f" * 32,
    "chain_hash": "3c" * 32,
    "key_id": "audit-2026-11",
    "signed_body": '{"tree_size":1042,"time":"2026-11-01T08:00:05Z"}',
    "signature": "MEUCIQ...",
}
EXAMPLES: dict[tuple[str, str, str, str], Any] = {
    ("get", "/v1/audit/events", "200", "application/json"): {"items": [_EVENT_EXAMPLE], "next": "WzEwNDJd"},
    ("get", "/v1/audit/events/export", "200", "application/json"): _EVENT_EXAMPLE,
    ("get", "/v1/audit/events/export", "200", "application/jsonl"): _EVENT_EXAMPLE,
    ("get", "/v1/audit/events/export", "200", "text/csv"): "seq,time,kind,client_id,department,purpose\n"
    "1042,2026-11-01T08:00:00.123456Z,access,civil-affairs,civil_affairs,social-assistance-review\n",
    ("get", "/v1/audit/events/{seq}", "200", "application/json"): _EVENT_EXAMPLE,
    ("get", "/v1/audit/events/{seq}/proof", "200", "application/json"): {
        "seq": 1042,
        "leaf_index": 1041,
        "tree_size": 1042,
        "leaf_hash": "5a" * 32,
        "chain_hash": "3c" * 32,
        "audit_path": ["e1" * 32, "07" * 32],
        "event": _EVENT_EXAMPLE,
        "checkpoint": _CHECKPOINT_EXAMPLE,
    },
    ("get", "/v1/audit/checkpoints", "200", "application/json"): {
        "items": [_CHECKPOINT_EXAMPLE],
        "next": None,
    },
    ("get", "/v1/audit/checkpoints/consistency", "200", "application/json"): {
        "first": _CHECKPOINT_EXAMPLE,
        "second": {**_CHECKPOINT_EXAMPLE, "tree_size": 2084},
        "consistency_path": ["9b" * 32, "41" * 32, "d0" * 32],
    },
    ("get", "/v1/audit/keys", "200", "application/json"): {
        "items": [
            {
                "key_id": "audit-2026-11",
                "alg": "Ed25519",
                "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                "created_at": "2026-11-01 00:00:00+00:00",
            }
        ]
    },
    ("get", "/v1/residents/{resident_id}/disclosures", "200", "application/json"): {
        "items": [{k: _EVENT_EXAMPLE.get(k) for k in DISCLOSURE_FIELDS}],
        "next": None,
        "period": {
            "from": "2025-11-01T00:00:00.000000Z",
            "through": "2026-11-30T08:00:00.000000Z",
            "archives_included": 1,
            "archived_events_missing": False,
        },
    },
}


def ok_examples(method: str, path: str) -> dict[int | str, Any]:
    """Return a route's `responses` entry holding the examples of its 200 answer, per media type."""
    content = {media: {"example": v} for (m, p, _, media), v in EXAMPLES.items() if (m, p) == (method, path)}
    return {200: {"content": content}}
