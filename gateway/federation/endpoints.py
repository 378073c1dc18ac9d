"""Federation routes: ask a member (outbound) and answer a member (inbound, under our own policy)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import orjson
from fastapi import Body, Path, Request
from starlette.responses import Response

from gateway.audit.middleware import trace_id_for
from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep, RequestRecord
from gateway.deps import ReadDep
from gateway.errors import (
    GatewayError,
    ValidationFailed,
)
from gateway.federation.client import Caller
from gateway.federation.errors import (
    ClaimsInvalid,
    FederationNotAllowed,
    MemberBadAnswer,
    MemberNotFound,
    MemberRateLimited,
    MemberRefused,
    MemberTimeout,
    MemberUnavailable,
    NotAMember,
    UnknownMember,
)
from gateway.federation.inbound import ClaimsHeader, FederationDep, MemberCallerDep, member_caller
from gateway.federation.models import MemberList, view
from gateway.federation.service import Exchange, FederationState, forward
from gateway.openapi import problem_responses
from gateway.policy.deps import PurposeHeader, ResidentsAccess
from gateway.policy.endpoints import Catalogue
from gateway.policy.errors import PurposeRequired
from gateway.residents.endpoints import ResidentLookup, lookup_resident
from gateway.routing import ITEM_PROBLEMS, api_router, operation
from schemas.models import Resident

router = api_router(prefix="/v1/federation", tags=["federation"])
inbound = api_router(prefix="/v1/federated", tags=["federation"])

MemberName = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_\-]{0,63}$", description="Member name.")
]
# What asking a member may answer: ours (unknown member, our policy) and the member's, passed on.
_ASKING = (
    UnknownMember,
    FederationNotAllowed,
    MemberRefused,
    MemberNotFound,
    MemberRateLimited,
    MemberBadAnswer,
    MemberUnavailable,
    MemberTimeout,
)
_OUTBOUND = problem_responses(PurposeRequired, *_ASKING, ValidationFailed)


@router.get("", **operation("List federation members", model=MemberList))
async def list_members(state: FederationDep, principal: PrincipalDep) -> MemberList:
    """List the gateways this gateway federates with (empty when federation is off)."""
    members = state.doc.members if state.doc else []
    return MemberList.model_validate({"name": state.name, "items": [view(m) for m in members]})


async def _exchange(
    request: Request,
    state: FederationDep,
    principal: PrincipalDep,
    record: RecordDep,
    claims: ClaimsHeader,
    purpose: str | None,
) -> Exchange:
    """Name the asker: our own client, or (at a hub) the original client a relaying member vouches for."""
    relayed = await member_caller(state, principal, record, claims, purpose)
    caller = (
        dataclasses.replace(relayed, via=(*relayed.via, state.name or ""))
        if relayed
        else Caller(
            client_id=principal.client_id,
            department=principal.department,
            origin=state.name or "",
            end_user=record.end_user,
        )
    )
    trace_id = trace_id_for(request.scope)
    request.scope.setdefault("state", {})["trace_id"] = trace_id  # our audit event carries the same id
    record.purpose = purpose
    return Exchange(
        caller=caller,
        client_id=principal.client_id,
        department=principal.department,
        purpose=purpose,
        trace_id=trace_id,
    )


async def _forward(
    state: FederationState,
    record: RequestRecord,
    member: str,
    ex: Exchange,
    *,
    resource: str,
    body: Any = None,
) -> dict[str, Any]:
    """Forward, and on a refusal say in our audit event which problem (ours or the member's) ended it."""
    try:
        return await forward(state, member, ex, resource=resource, body=body)
    except GatewayError as exc:
        record.decision = "deny" if exc.status in (401, 403, 429) else "error"
        record.reason = f"{exc.slug}:{member}"[:256]
        raise


def _note(record: RequestRecord, member: str, doc: dict[str, Any]) -> None:
    """Record what the member disclosed through us (ids and fields; the data itself is not kept)."""
    record.decision = "allow"
    record.reason = f"federation:{member}"
    if isinstance(doc.get("id"), str):
        # The member's id, prefixed: never confused with one of our own residents' disclosure reports.
        record.disclose(f"federation:{member}"[:64], [f"{member}:{doc['id']}"])
    record.fields_disclosed = sorted(k for k, v in doc.items() if v is not None)


@router.post(
    "/{member}/residents:lookup",
    **operation(
        "Find a resident in another county by citizen ID",
        model=Resident,
        guard=[require_scope(Scope.RESIDENTS_READ)],
        responses=_OUTBOUND,
    ),
)
async def member_lookup(
    request: Request,
    state: FederationDep,
    principal: PrincipalDep,
    record: RecordDep,
    member: MemberName,
    body: Annotated[ResidentLookup, Body()],
    purpose: PurposeHeader = None,
    claims: ClaimsHeader = None,
) -> Response:
    """Ask a member (under its policy for this gateway) once our own rules allow this client and purpose."""
    if purpose is None:
        raise PurposeRequired("a federated lookup states a purpose in X-Purpose", missing="purpose-required")
    ex = await _exchange(request, state, principal, record, claims, purpose)
    doc = await _forward(state, record, member, ex, resource="residents:lookup", body=body.model_dump())
    _note(record, member, doc)
    return Response(orjson.dumps(doc), media_type="application/json")


@router.get(
    "/{member}/catalog",
    **operation("A member's sharing catalogue as it applies to this gateway", *_ASKING, model=Catalogue),
)
async def member_catalog(
    request: Request,
    state: FederationDep,
    principal: PrincipalDep,
    record: RecordDep,
    member: MemberName,
    purpose: PurposeHeader = None,
    claims: ClaimsHeader = None,
) -> Response:
    """Relay the member's catalogue: what it shares with this gateway, field by field and by purpose."""
    ex = await _exchange(request, state, principal, record, claims, purpose)
    doc = await _forward(state, record, member, ex, resource="catalog")
    record.decision, record.reason = "allow", f"federation:{member}"
    return Response(orjson.dumps(doc), media_type="application/json")


@inbound.post(
    "/residents:lookup",
    **operation(
        "Answer a member gateway's lookup (gateway-to-gateway)",
        NotAMember,
        ClaimsInvalid,
        *ITEM_PROBLEMS,
        model=Resident,
        guard=[require_scope(Scope.RESIDENTS_READ)],
    ),
)
async def federated_lookup(
    caller: MemberCallerDep, db: ReadDep, access: ResidentsAccess, body: Annotated[ResidentLookup, Body()]
) -> Response:
    """Answer a member under our policy for that member and purpose; the original asker is audited."""
    return await lookup_resident(db, access, body)
