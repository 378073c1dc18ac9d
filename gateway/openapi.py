"""OpenAPI contract: problem+json responses, and one hook completing every operation of the document.

Routes declare what is particular to them (summary, docstring, response model, the problems their own
code raises). `install_openapi` adds what follows from the gateway's layers, so no route can forget it:
401/403/429 where a bearer token is checked (every such request is rate-limited), 429 on the token
endpoint (sign-in limits), 422 where FastAPI validates, 404 under a path parameter, 400 and 503 on
audited paths (a bad accountability header; the audit log unavailable), response headers, examples,
OpenAPI links between resources and explicit `security`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from gateway.audit.events import DISCLOSURE_FIELDS
from gateway.errors import (
    PROBLEM_JSON,
    BadGateway,
    BadRequest,
    Conflict,
    GatewayError,
    InsufficientScope,
    InvalidCursor,
    InvalidToken,
    NotFound,
    RateLimited,
    Unavailable,
    UpstreamTimeout,
    ValidationFailed,
)

PROBLEM_REF = "#/components/schemas/Problem"
OAUTH_ERROR_REF = "#/components/schemas/OAuthError"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
# Requests to these prefixes pass the audit middleware (gateway/audit/middleware.py AUDITED_PREFIXES).
AUDITED_PREFIXES = ("/v1/", "/oauth/")
PURPOSE_HEADER = "X-Purpose"
# Tags some routers use that create_app's openapi_tags may not describe yet.
TAG_DESCRIPTIONS = {
    "policy": "The sharing catalogue, decisions explained, conditional-sharing requests (有条件共享).",
    "statistics": "Aggregate village statistics (村级统计), small cells suppressed.",
    "audit": "The tamper-evident access log (scope audit:read): events, proofs, checkpoints, keys.",
    "ingest": "Push ingest: department systems push changed records in their source's own format "
    "(scope ingest:{source}), with an Idempotency-Key.",
}
SAMPLE_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Problem(BaseModel):
    """An RFC 9457 problem detail; problem types may add members (e.g. `errors`, `missing`)."""

    type: str = Field(
        description="Stable URI reference naming the problem type; GET it for its documentation.",
        examples=["/problems/not-found"],
    )
    title: str = Field(description="Short summary of the problem type.", examples=["Not found"])
    status: int = Field(description="The HTTP status code.", examples=[404])
    detail: str = Field(description="Explanation of this occurrence.", examples=["no resident R7K3Q9M2X4T8"])
    instance: str | None = Field(default=None, description="The request path.")
    trace_id: str | None = Field(default=None, description="W3C trace id of the request, for operators.")


class OAuthError(BaseModel):
    """An OAuth 2.0 error response (RFC 6749 §5.2), as the token endpoints answer."""

    error: str = Field(description="Error code.", examples=["invalid_client"])
    error_description: str | None = Field(default=None, description="Human-readable explanation.")


_DESCRIPTIONS = {
    400: "Malformed request (a cursor this gateway did not issue, an invalid X-End-User/X-Case-Id/"
    "X-On-Behalf-Of header, or parameters that cannot be combined).",
    401: "Missing, malformed, invalid, expired or revoked bearer token.",
    403: "The token lacks a scope, the request has no X-Purpose, no policy grant allows it, or (assisted "
    "access) the resident's consent is missing or does not cover the request.",
    404: "Not found, or outside what the caller may see (the two are indistinguishable).",
    409: "Conflicts with the current state.",
    422: "The request does not match the schema.",
    429: "Too many requests or records; wait the seconds in Retry-After.",
    502: "A federation member answered with something that cannot be passed on.",
    503: "The store or the audit log cannot serve now, or a federation member is down or its circuit is "
    "open; retry later (the request was not answered).",
    504: "A federation member did not answer in time.",
}


def _problem_example(cls: type[GatewayError], detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": cls.title,
        "value": {
            "type": cls.type_uri(),
            "title": cls.title,
            "status": cls.status,
            "detail": detail,
            "instance": "/v1/residents",
            "trace_id": SAMPLE_TRACE_ID,
            **extra,
        },
    }


def _problem_examples(status: int) -> dict[str, Any]:
    """Return named problem examples of one status (the problem types a client should expect)."""
    # Imported here: gateway.policy imports this module.
    from gateway.policy.errors import (
        ConsentInvalid,
        ConsentRequired,
        FilterNotAllowed,
        GrantMissing,
        PurposeRequired,
    )

    table: dict[int, dict[str, Any]] = {
        400: {
            "invalid-cursor": _problem_example(InvalidCursor, "the cursor is not one this gateway issued"),
            "bad-request": _problem_example(
                BadRequest, "`for_resident` decides region and audience: pass neither with it"
            ),
        },
        401: {"invalid-token": _problem_example(InvalidToken, "a bearer token is required")},
        403: {
            "purpose-required": _problem_example(
                PurposeRequired,
                "residents holds personal data: state a purpose in X-Purpose",
                missing="purpose-required",
                resource="residents",
            ),
            "grant-missing": _problem_example(
                GrantMissing,
                "no grant allows client hr residents for purpose elderly-care",
                missing="grant",
                purpose="elderly-care",
                resource="residents",
            ),
            "filter-not-allowed": _problem_example(
                FilterNotAllowed,
                "parameter tag filters on tags, which the policy does not show this client for purpose "
                "social-assistance-review",
                parameter="tag",
                field="tags",
            ),
            "insufficient-scope": _problem_example(
                InsufficientScope, "this operation needs scope residents:read"
            ),
            "consent-required": _problem_example(
                ConsentRequired,
                "qingshan-agent-residents reach residents for 'pension-eligibility' only acting for one "
                "resident with their recorded consent (代办): send X-On-Behalf-Of and X-Consent-Id",
                missing="consent-required",
                purpose="pension-eligibility",
                resource="residents",
            ),
            "consent-invalid": _problem_example(
                ConsentInvalid,
                "consent C3F9A1B27C4D5E6F0 ended on 2027-05-31",
                consent_id="C3F9A1B27C4D5E6F0",
                problem="expired",
            ),
        },
        404: {"not-found": _problem_example(NotFound, "no resident R7K3Q9M2X4T8")},
        409: {"conflict": _problem_example(Conflict, "sharing request 7 is no longer pending")},
        422: {
            "validation-failed": _problem_example(
                ValidationFailed,
                "query.limit: Input should be less than or equal to 500",
                errors=[
                    {
                        "loc": ["query", "limit"],
                        "msg": "Input should be less than or equal to 500",
                        "type": "less_than_equal",
                    }
                ],
            )
        },
        429: {"rate-limited": _problem_example(RateLimited, "limit of 1200 per 60 s reached for requests")},
        502: {"bad-gateway": _problem_example(BadGateway, "county-b answered 400 without a JSON object")},
        503: {"unavailable": _problem_example(Unavailable, "the audit log cannot commit; retry later")},
        504: {"upstream-timeout": _problem_example(UpstreamTimeout, "county-b did not answer in time")},
    }
    return copy.deepcopy(table.get(status, {}))


def _string_header(description: str, *, required: bool = False, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"description": description, "required": required, "schema": schema}


def _problem_headers(status: int) -> dict[str, Any]:
    if status == 429:
        return {
            "Retry-After": _string_header(
                "Seconds to wait before retrying.", required=True, pattern=r"^\d+$"
            ),
            "RateLimit-Limit": _string_header("The limit that was reached.", pattern=r"^\d+$"),
            "RateLimit-Remaining": _string_header("Units left in the window (0).", pattern=r"^\d+$"),
            "RateLimit-Reset": _string_header("Seconds until the window resets.", pattern=r"^\d+$"),
            "RateLimit-Policy": _string_header("The limit and its window, e.g. `1200;w=60`."),
        }
    if status in (401, 403):
        return {"WWW-Authenticate": _string_header("Bearer challenge (RFC 6750 §3).")}
    return {}


def oauth_error(description: str, error: str) -> dict[str, Any]:
    """Return an OpenAPI response of an RFC 6749 §5.2 error (the OAuth endpoints' own format)."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": OAUTH_ERROR_REF},
                "example": {"error": error, "error_description": f"{error.replace('_', ' ')}."},
            }
        },
    }


def problem_content() -> dict[str, Any]:
    """Return the problem+json media type entry referencing the Problem component."""
    return {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI `responses` entries for the given problem statuses."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {
                PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}, "examples": _problem_examples(status)}
            },
        }
        for status in statuses
    }


# OpenAPI links (3.0 §4.7.20): how a response's values feed the next operation. Stateful tests follow them.
# (method, path, status) -> {link name: (target method, target path, parameters, description)}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str], str]]] = {
    ("get", "/v1/residents", "200"): {
        "GetResident": (
            "get",
            "/v1/residents/{resident_id}",
            {"resident_id": "$response.body#/items/0/id"},
            "The first resident of the page.",
        ),
        "GetResidentDisclosures": (
            "get",
            "/v1/residents/{resident_id}/disclosures",
            {"resident_id": "$response.body#/items/0/id"},
            "Who saw the first resident's data.",
        ),
        "GetHousehold": (
            "get",
            "/v1/households/{household_id}",
            {"household_id": "$response.body#/items/0/household_id"},
            "The household of the first resident.",
        ),
    },
    ("get", "/v1/residents/{resident_id}", "200"): {
        "GetHousehold": (
            "get",
            "/v1/households/{household_id}",
            {"household_id": "$response.body#/household_id"},
            "The resident's household.",
        ),
        "GetDisclosures": (
            "get",
            "/v1/residents/{resident_id}/disclosures",
            {"resident_id": "$response.body#/id"},
            "Who saw this resident's data.",
        ),
        "ListNoticesForResident": (
            "get",
            "/v1/notices",
            {"for_resident": "$response.body#/id"},
            "Notices a village agent can read out to this resident.",
        ),
        "GetProvenance": (
            "get",
            "/v1/residents/{resident_id}/provenance",
            {"resident_id": "$response.body#/id"},
            "Every source's value of this resident's fields, and which is served.",
        ),
        "ListEnrollments": (
            "get",
            "/v1/residents/{resident_id}/enrollments",
            {"resident_id": "$response.body#/id"},
            "This resident's benefit and insurance enrolments.",
        ),
        "GetEmployment": (
            "get",
            "/v1/residents/{resident_id}/employment",
            {"resident_id": "$response.body#/id"},
            "This resident's employment as HR records it.",
        ),
        "ListMigrations": (
            "get",
            "/v1/residents/{resident_id}/migrations",
            {"resident_id": "$response.body#/id"},
            "Where this resident works away from home.",
        ),
    },
    ("get", "/v1/enrollments", "200"): {
        "GetEnrollment": (
            "get",
            "/v1/enrollments/{enrollment_id}",
            {"enrollment_id": "$response.body#/items/0/id"},
            "The first enrolment of the page.",
        ),
        "GetResident": (
            "get",
            "/v1/residents/{resident_id}",
            {"resident_id": "$response.body#/items/0/resident_id"},
            "The resident of the first enrolment.",
        ),
    },
    ("get", "/v1/quarantine", "200"): {
        "GetQuarantined": (
            "get",
            "/v1/quarantine/{record_id}",
            {"record_id": "$response.body#/items/0/id"},
            "The first held-back record of the page.",
        ),
    },
    ("post", "/v1/residents:lookup", "200"): {
        "GetResident": (
            "get",
            "/v1/residents/{resident_id}",
            {"resident_id": "$response.body#/id"},
            "The same resident by gateway id.",
        ),
    },
    ("get", "/v1/households/{household_id}", "200"): {
        "GetFirstMember": (
            "get",
            "/v1/residents/{resident_id}",
            {"resident_id": "$response.body#/members/0/resident_id"},
            "The household's first member.",
        ),
    },
    ("get", "/v1/services", "200"): {
        "GetService": (
            "get",
            "/v1/services/{service_id}",
            {"service_id": "$response.body#/items/0/id"},
            "The first service item of the page.",
        ),
    },
    ("get", "/v1/regions", "200"): {
        "GetRegion": (
            "get",
            "/v1/regions/{code}",
            {"code": "$response.body#/items/0/code"},
            "The first region of the page.",
        ),
    },
    ("get", "/v1/regions/{code}", "200"): {
        "ListResidentsInRegion": (
            "get",
            "/v1/residents",
            {"region": "$response.body#/code"},
            "Residents of this region's subtree.",
        ),
        "ListSubregions": (
            "get",
            "/v1/regions",
            {"within": "$response.body#/code"},
            "This region's subtree.",
        ),
    },
    ("get", "/v1/audit/events", "200"): {
        "GetEvent": (
            "get",
            "/v1/audit/events/{seq}",
            {"seq": "$response.body#/items/0/seq"},
            "The newest event of the page.",
        ),
        "GetEventProof": (
            "get",
            "/v1/audit/events/{seq}/proof",
            {"seq": "$response.body#/items/0/seq"},
            "Its inclusion proof.",
        ),
    },
    ("get", "/v1/audit/events/{seq}", "200"): {
        "GetEventProof": (
            "get",
            "/v1/audit/events/{seq}/proof",
            {"seq": "$response.body#/seq"},
            "The event's inclusion proof.",
        ),
    },
    ("post", "/v1/sharing-requests", "201"): {
        "GetSharingRequest": (
            "get",
            "/v1/sharing-requests/{request_id}",
            {"request_id": "$response.body#/id"},
            "The request just made.",
        ),
        "ApproveSharingRequest": (
            "post",
            "/v1/sharing-requests/{request_id}:approve",
            {"request_id": "$response.body#/id"},
            "The owner approves it.",
        ),
        "RefuseSharingRequest": (
            "post",
            "/v1/sharing-requests/{request_id}:refuse",
            {"request_id": "$response.body#/id"},
            "The owner refuses it.",
        ),
    },
    ("post", "/v1/subscriptions", "201"): {
        "ListDeadLetters": (
            "get",
            "/v1/subscriptions/{subscription_id}/dead-letters",
            {"subscription_id": "$response.body#/id"},
            "Messages of the new subscription whose every attempt failed.",
        ),
        "DeleteSubscription": (
            "delete",
            "/v1/subscriptions/{subscription_id}",
            {"subscription_id": "$response.body#/id"},
            "Stop the new subscription.",
        ),
    },
    ("post", "/v1/consents", "201"): {
        "GetConsent": (
            "get",
            "/v1/consents/{consent_id}",
            {"consent_id": "$response.body#/id"},
            "The consent just recorded.",
        ),
        "RevokeConsent": (
            "post",
            "/v1/consents/{consent_id}:revoke",
            {"consent_id": "$response.body#/id"},
            "The resident withdraws it.",
        ),
    },
    ("get", "/v1/consents", "200"): {
        "GetConsent": (
            "get",
            "/v1/consents/{consent_id}",
            {"consent_id": "$response.body#/items/0/id"},
            "The first consent of the page.",
        ),
    },
    ("post", "/v1/admin/clients", "201"): {
        "ShowClient": (
            "get",
            "/v1/admin/clients/{client_id}",
            {"client_id": "$response.body#/client_id"},
            "The client just registered.",
        ),
        "DisableClient": (
            "post",
            "/v1/admin/clients/{client_id}:disable",
            {"client_id": "$response.body#/client_id"},
            "Disable it.",
        ),
        "RotateSecret": (
            "post",
            "/v1/admin/clients/{client_id}:rotate-secret",
            {"client_id": "$response.body#/client_id"},
            "Rotate its secret.",
        ),
    },
}


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
# Examples of responses whose routes return raw bytes (no response model): (method, path, status, media type).
RESPONSE_EXAMPLES: dict[tuple[str, str, str, str], Any] = {
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
    ("get", "/.well-known/jwks.json", "200", "application/json"): {
        "keys": [
            {"kty": "RSA", "kid": "2026-11-01", "use": "sig", "alg": "RS256", "n": "0vx7...", "e": "AQAB"}
        ]
    },
    ("get", "/.well-known/oauth-authorization-server", "200", "application/json"): {
        "issuer": "http://127.0.0.1:8000",
        "token_endpoint": "http://127.0.0.1:8000/oauth/token",
        "jwks_uri": "http://127.0.0.1:8000/.well-known/jwks.json",
        "introspection_endpoint": "http://127.0.0.1:8000/oauth/introspect",
        "revocation_endpoint": "http://127.0.0.1:8000/oauth/revoke",
        "scopes_supported": ["residents:read", "households:read"],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
    },
}


def _example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """Build an example value from a JSON Schema (its own examples first), for documentation only."""
    if depth > 8:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _example_of(components.get(name, {}), components, depth + 1)
    for key in ("example", "const", "default"):
        if key in schema and not (key == "default" and schema[key] is None):
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return _example_of(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _example_of(sub, components, depth + 1)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_example_of(schema.get("items", {}), components, depth + 1)]
    fmt = schema.get("format")
    samples: dict[str, Any] = {
        "date-time": "2026-11-01T08:00:00+08:00",
        "date": "2026-11-01",
        "uri": "https://xiangzhi.example.gov.cn/",
    }
    if kind == "string":
        return samples.get(fmt or "", "string")
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind or "")


def _has_example(media: dict[str, Any], components: dict[str, Any]) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return bool(schema.get("examples")) or "example" in schema


def standard_statuses(path: str, method: str, op: dict[str, Any]) -> set[int]:
    """Return the problem statuses an operation can answer by the layers it passes through."""
    statuses: set[int] = set()
    params = op.get("parameters", [])
    audited = path.startswith(AUDITED_PREFIXES)
    if audited:
        statuses |= {400, 503}  # an invalid accountability header; the audit log cannot commit
    if any("oauth2" in req for req in op.get("security", [])):
        statuses |= {401, 403, 429}  # every authenticated request counts against its client's rate
    if path == "/oauth/token":
        statuses.add(429)  # sign-in limits per address and client id, back-off after failures
    if not path.startswith("/oauth/") and (params or "requestBody" in op):
        statuses.add(422)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if any(p.get("in") == "header" and p.get("name") == PURPOSE_HEADER for p in params):
        statuses |= {403, 429}
    return statuses


def _complete_operation(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> None:
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    op.setdefault("security", [])  # explicit: public operations say so
    responses: dict[str, Any] = op.setdefault("responses", {})
    for code in sorted(standard_statuses(path, method, op)):
        entry = responses.setdefault(str(code), {"description": _DESCRIPTIONS[code]})
        content = entry.setdefault("content", {})
        content.setdefault(PROBLEM_JSON, {"schema": {"$ref": PROBLEM_REF}})
    for status, entry in responses.items():
        code = int(status) if status.isdigit() else 0
        headers = entry.setdefault("headers", {})
        headers.setdefault(
            "X-Request-Id",
            _string_header(
                "Id of this request (an incoming sane X-Request-Id, else the trace id).", required=True
            ),
        )
        if path.startswith(AUDITED_PREFIXES):
            headers.setdefault(
                "X-Audit-Seq",
                _string_header("Sequence number of the request's audit event.", pattern=r"^\d+$"),
            )
        for name, header in _problem_headers(code).items():
            headers.setdefault(name, header)
        for media_type, media in entry.get("content", {}).items():
            if media_type == PROBLEM_JSON:
                media["schema"] = {"$ref": PROBLEM_REF}
                if not media.get("examples"):
                    media["examples"] = _problem_examples(code)
            elif (method, path, status, media_type) in RESPONSE_EXAMPLES:
                media.setdefault("example", RESPONSE_EXAMPLES[(method, path, status, media_type)])
            elif not _has_example(media, components):
                media["example"] = _example_of(media.get("schema", {}), components)
        link_table = LINKS.get((method, path, status))
        if link_table:
            entry["links"] = _links(link_table, doc)
    body = op.get("requestBody", {})
    for media in body.get("content", {}).values():
        if not _has_example(media, components):
            media["example"] = _example_of(media.get("schema", {}), components)


def _links(table: dict[str, tuple[str, str, dict[str, str], str]], doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (method, path, parameters, description) in table.items():
        target = doc["paths"].get(path, {}).get(method)
        if target is None or "operationId" not in target:
            continue
        out[name] = {
            "operationId": target["operationId"],
            "parameters": parameters,
            "description": description,
        }
    return out


def complete_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem component and complete every operation of an OpenAPI document in place."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["OAuthError"] = OAuthError.model_json_schema(ref_template="#/components/schemas/{model}")
    schemes = doc["components"].setdefault("securitySchemes", {})
    schemes.setdefault(
        "clientBasic",
        {
            "type": "http",
            "scheme": "basic",
            "description": "OAuth client authentication (client_secret_basic, RFC 6749 §2.3.1); "
            "client_secret_post and private_key_jwt go in the form body instead.",
        },
    )
    tags: list[dict[str, Any]] = doc.setdefault("tags", [])
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                _complete_operation(path, method, op, doc)
                for tag in op.get("tags", []):
                    if not any(t["name"] == tag for t in tags):
                        tags.append({"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag)})
    return doc


def install_openapi(app: FastAPI) -> None:
    """Complete the app's OpenAPI document once, after every other hook (call last in create_app)."""
    inner: Callable[[], dict[str, Any]] = app.openapi
    done: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        if "doc" not in done:
            done["doc"] = complete_document(inner())
            app.openapi_schema = done["doc"]
        return done["doc"]

    app.openapi = openapi  # type: ignore[method-assign]
