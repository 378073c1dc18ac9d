"""OpenAPI helpers: the problem+json responses every operation declares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway.errors import PROBLEM_JSON


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(
        description="Stable URI reference naming the problem type.", examples=["/problems/not-found"]
    )
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no resident R7K3Q9M2X4T8"])
    instance: str | None = Field(default=None, description="The request path.")
    trace_id: str | None = Field(default=None, description="W3C trace id of the request, for operators.")


_DESCRIPTIONS = {
    400: "Malformed request (for example a cursor this gateway did not issue).",
    401: "Missing, malformed, invalid or expired bearer token.",
    403: "The token or policy does not allow this.",
    404: "Not found, or outside what the caller may see.",
    409: "Conflicts with the current state.",
    422: "The request does not match the schema.",
    429: "Too many requests; see Retry-After.",
    503: "The store or the audit log cannot serve now; retry later.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI `responses` entries for the given problem statuses."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {
                PROBLEM_JSON: {
                    "schema": Problem.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
        for status in statuses
    }
