"""What one request did, filled in as it runs: the authenticator, the policy and the routes write it,
the audit middleware reads it once the response status is known."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import Scope

_KEY = "xz_record"


@dataclass(slots=True)
class RequestRecord:
    """Facts about one request for the audit event; every field may stay empty for anonymous probes."""

    client_id: str | None = None
    department: str | None = None
    token_id: str | None = None
    purpose: str | None = None
    end_user: str | None = None
    case_id: str | None = None
    on_behalf_of: str | None = None
    consent_id: str | None = None
    resource: str | None = None
    record_ids: list[str] = field(default_factory=list)
    fields_disclosed: list[str] = field(default_factory=list)
    fields_masked: list[str] = field(default_factory=list)
    decision: str | None = None
    reason: str | None = None
    policy_version: str | None = None
    details: dict[str, Any] | None = None  # actors beyond the columns (e.g. a token's claimed client)

    def note(self, **facts: Any) -> None:
        """Add facts to the event's details (e.g. the client or sharing request an action targets)."""
        self.details = {**(self.details or {}), **facts}

    def disclose(self, resource: str, ids: list[str]) -> None:
        """Note the records a response discloses (every one, for lists)."""
        self.resource = resource
        self.record_ids.extend(ids)


def record_of_scope(scope: Scope) -> RequestRecord:
    """Return the request's record, creating it on first use (ASGI middleware side)."""
    state = scope.setdefault("state", {})
    rec = state.get(_KEY)
    if rec is None:
        rec = state[_KEY] = RequestRecord()
    return rec


async def get_record(request: Request) -> RequestRecord:
    """Return the request's record (route side)."""
    return record_of_scope(request.scope)


RecordDep = Annotated[RequestRecord, Depends(get_record)]
