"""Push ingest routes: POST /v1/ingest/{source}, one operation per source that takes pushes.

One operation per source (not one with a path parameter) so that OpenAPI shows each source's own batch
schema and the one scope it needs, bound with Security. No `from __future__ import annotations` here:
FastAPI must see each route's batch model, which is a value of the loop that builds the routes.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Security
from starlette.responses import Response

from connectors.api import MAX_RECORDS
from gateway.auth.dependencies import PrincipalDep, authenticate, require_scope
from gateway.context import RecordDep
from gateway.errors import ValidationFailed
from gateway.ingest import service
from gateway.ingest.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    SourceNotConfigured,
    UnknownSource,
)
from gateway.ingest.models import IngestResult
from gateway.ingest.repository import KeyRef
from gateway.openapi import problem_responses
from gateway.routing import api_router
from gateway.runtime import runtime_of

MAX_KEY = 255


KEY_HELP = (
    "A unique key of this batch (a UUID, say), at most 255 visible ASCII characters (IETF "
    "draft-ietf-httpapi-idempotency-key-header). Retry with the same key and the same body to get the first "
    "answer again, with nothing applied twice; missing: 400; the same key with another body: 422; while the "
    "first push with it is still processed: 409. Keys are kept per client and source for 24 hours."
)
# Documented here, read in `idempotency_key`: a FastAPI Header(required) would answer a missing key with
# 422, and the draft says 400.
KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": KEY_HELP,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[!-~]+$"},
    "example": "mz-2026-11-02-0931-7",
}


async def idempotency_key(request: Request) -> str:
    """Return the request's Idempotency-Key, or refuse the push without a usable one (400)."""
    key = (request.headers.get("idempotency-key") or "").strip()
    if key.startswith('"') and key.endswith('"') and len(key) > 1:
        key = key[1:-1]  # the draft writes the key as a structured-field string: "…"
    if not key:
        raise IdempotencyKeyMissing("a push needs an Idempotency-Key header (a unique key per batch)")
    if len(key) > MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise IdempotencyKeyMissing(f"the Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters")
    return key


async def get_runtime(request: Request) -> service.IngestRuntime:
    """Return the app's push runtime (built in the lifespan)."""
    runtime: service.IngestRuntime = runtime_of(request).ingest
    return runtime


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]
RuntimeDep = Annotated[service.IngestRuntime, Depends(get_runtime)]
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer of an earlier push with the same key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _route(source: service.Pushable) -> Callable[..., Awaitable[Response]]:
    """Return the route function of one source's pushes."""

    async def push(
        batch: Annotated[source.model, Body()],  # type: ignore[name-defined]
        principal: PrincipalDep,
        record: RecordDep,
        runtime: RuntimeDep,
        key: IdempotencyKeyDep,
    ) -> Response:
        ref = KeyRef(client_id=principal.client_id, source=source.name, key=key)
        # The audit event names what was pushed: the source's record keys, and the outcome as its reason.
        record.resource = "ingest"
        record.record_ids.extend(f"{source.name}:{k}" for k in batch.record_keys())
        answer = await service.ingest(runtime, source=source, ref=ref, batch=batch)
        record.reason = f"ingest {source.name} key {key}: {answer.summary}"
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
        return Response(answer.body, media_type="application/json", headers=headers)

    push.__name__ = f"ingest_{source.name}"
    push.__doc__ = (
        f"Push changed {source.name} records in the source's own format (see its batch schema); they are "
        "translated, linked and stored by the same connector and rules as a sync, and a record it cannot "
        "translate is quarantined with the reason a sync would give. Every record is accounted for in the "
        f"answer. At most {MAX_RECORDS} records a batch (422 beyond: split it)."
    )
    return push


async def _unknown(source: str) -> Response:
    """Refuse a push to a source that takes none."""
    raise UnknownSource(f"no source {source!r} takes pushes")


def build_router() -> APIRouter:
    """Return the push routes of the installed sources (discovered through their entry points)."""
    router = api_router(prefix="/v1/ingest", tags=["ingest"])
    for source in service.pushable_sources():
        router.add_api_route(
            f"/{source.name}",
            _route(source),
            methods=["POST"],
            summary=f"Push {source.name} records",
            response_model=IngestResult,
            dependencies=[require_scope(source.scope)],
            openapi_extra={"parameters": [KEY_PARAMETER]},
            responses={
                200: {"description": "What the push did with every record.", "headers": _REPLAYED},
                **problem_responses(
                    IdempotencyKeyMissing,
                    IdempotencyKeyInFlight,
                    IdempotencyKeyReused,
                    ValidationFailed,
                    SourceNotConfigured,
                ),
            },
        )
    # Last: any other source name answers 404 (after the token is checked, so it reveals nothing).
    router.add_api_route(
        "/{source}",
        _unknown,
        methods=["POST"],
        include_in_schema=False,
        dependencies=[Security(authenticate)],
    )
    return router
