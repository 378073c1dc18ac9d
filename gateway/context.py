"""What one request did, filled in as it runs: the authenticator, the policy and the routes write it,
the audit middleware reads it once the response status is known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import Scope

from gateway.audit.events import RequestFacts

_KEY = "xz_record"


@dataclass(slots=True, kw_only=True)
class RequestRecord(RequestFacts):
    """Facts about one request for the audit event; every field may stay empty for anonymous probes."""

    decision: str | None = None  # unset: the middleware derives it from the response status
    reason: str | None = None

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
