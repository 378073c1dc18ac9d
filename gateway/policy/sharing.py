"""Conditional-sharing requests (有条件共享): apply, answer (owner with sharing:approve), list, overdue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.dependencies import PrincipalDep
from gateway.auth.scopes import Scope
from gateway.context import record_of_scope
from gateway.deps import EngineDep, IsoDate, SettingsDep
from gateway.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gateway.openapi import link, links, problem_responses
from gateway.policy import sharing_repository as repo
from gateway.policy.deps import PolicyStateDep
from gateway.policy.errors import SharingRequestInvalid
from gateway.routing import ACTION_PROBLEMS, api_router, operation
from gateway.runtime import runtime_of
from policies.compile import compile_grant, expand
from policies.models import Grant, SharingClass
from schemas.time import today_cn

router = api_router(prefix="/v1/sharing-requests", tags=["policy"])
RequestId = Annotated[int, Path(ge=1, le=2**62, description="Sharing request id.")]  # fits BIGINT


class SharingApplication(BaseModel):
    """An application for conditional fields, with purpose, legal basis and period (政务数据共享条例)."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(max_length=64, examples=["residents"])
    fields: list[str] = Field(min_length=1, max_length=64, examples=[["employment_status"]])
    purpose: str = Field(max_length=64, examples=["social-assistance-review"])
    legal_basis: str = Field(min_length=4, max_length=2000)
    valid_from: IsoDate | None = None
    valid_until: IsoDate


class Answer(BaseModel):
    """The owning department's answer."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=2000)


class SharingRequest(BaseModel):
    """A sharing request as stored."""

    id: int
    client_id: str
    department: str | None
    region_code: str | None
    owner_department: str
    resource: str
    fields: list[str]
    purpose: str
    legal_basis: str
    valid_from: dt.date
    valid_until: dt.date
    status: Literal["pending", "approved", "refused"]
    due_date: dt.date
    reason: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


def _grant_of(req: dict[str, Any]) -> Grant:
    return Grant(
        id=f"sharing-{req['id']}",
        client=req["client_id"],
        resource=req["resource"],
        fields=req["fields"],
        regions=[req["region_code"]] if req["region_code"] else ["client"],
        purposes=[req["purpose"]],
        valid_from=req["valid_from"],
        valid_until=req["valid_until"],
        approval=f"sharing request {req['id']}",
    )


@router.post(
    "",
    **operation(
        "Apply for conditional fields",
        ValidationFailed,
        model=SharingRequest,
        responses=links(
            201,
            GetSharingRequest=link(
                "get",
                "/v1/sharing-requests/{request_id}",
                {"request_id": "$response.body#/id"},
                "The request just made.",
            ),
            ApproveSharingRequest=link(
                "post",
                "/v1/sharing-requests/{request_id}:approve",
                {"request_id": "$response.body#/id"},
                "The owner approves it.",
            ),
            RefuseSharingRequest=link(
                "post",
                "/v1/sharing-requests/{request_id}:refuse",
                {"request_id": "$response.body#/id"},
                "The owner refuses it.",
            ),
        ),
        status_code=201,
    ),
)
async def apply(
    principal: PrincipalDep,
    state: PolicyStateDep,
    engine: EngineDep,
    settings: SettingsDep,
    body: Annotated[SharingApplication, Body()],
) -> dict[str, Any]:
    """Apply for conditional fields; the owning department answers by the due date (10 working days)."""
    policy = state.engine.policy
    res = policy.resources.get(body.resource)
    if res is None:
        raise SharingRequestInvalid(f"unknown resource {body.resource!r}")
    fields, bad = expand(res, body.fields)
    if bad:
        raise SharingRequestInvalid("; ".join(m for _, m in bad))
    owners = {res.fields[f].owner for f in fields}
    if len(owners) != 1:
        raise SharingRequestInvalid(
            f"one request per owning department; these fields belong to {sorted(owners)}"
        )
    if not all(res.fields[f].sharing is SharingClass.CONDITIONAL for f in fields):
        raise SharingRequestInvalid("only conditional (有条件共享) fields are applied for")
    today = today_cn()
    values = {
        "client_id": principal.client_id,
        "department": principal.department,
        "region_code": principal.region_code,
        "owner_department": owners.pop(),
        "resource": body.resource,
        "fields": sorted(fields),
        "purpose": body.purpose,
        "legal_basis": body.legal_basis,
        "valid_from": body.valid_from or today,
        "valid_until": body.valid_until,
        "status": "pending",
        "due_date": repo.add_working_days(today, settings.sharing_due_working_days),
        "created_at": dt.datetime.now(dt.UTC),
    }
    # The grant an approval would create must compile now (purpose exists, sensitivity allowed, dates sane).
    try:
        probe = _grant_of({**values, "id": 0})
    except ValueError as exc:
        raise SharingRequestInvalid(str(exc)) from exc
    _, problems = compile_grant(probe, policy.resources, policy.purposes, origin="approval")
    if problems:
        raise SharingRequestInvalid("; ".join(m for _, m in problems))
    return await repo.create(engine, values)


@router.get("", **operation("List sharing requests", model=list[SharingRequest]))
async def list_requests(
    principal: PrincipalDep,
    engine: EngineDep,
    role: Annotated[
        Literal["applicant", "owner"], Query(description="Mine, or those my department answers.")
    ] = "applicant",
    status: Annotated[Literal["pending", "approved", "refused"] | None, Query()] = None,
    overdue: Annotated[bool, Query(description="Only pending requests past their due date.")] = False,
) -> list[dict[str, Any]]:
    """List the caller's applications, or (with sharing:approve) those its department must answer."""
    if role == "owner" and Scope.SHARING_APPROVE not in principal.scopes:
        raise Forbidden("answering sharing requests needs scope sharing:approve")
    return await repo.list_for(
        engine,
        client_id=principal.client_id if role == "applicant" else None,
        owner=principal.department if role == "owner" else None,
        status=status,
        overdue_on=today_cn() if overdue else None,
    )


async def _visible(engine: EngineDep, principal: PrincipalDep, request_id: int) -> dict[str, Any]:
    req = await repo.get(engine, request_id)
    if req is None or not (
        req["client_id"] == principal.client_id
        or (req["owner_department"] == principal.department and Scope.SHARING_APPROVE in principal.scopes)
    ):
        raise NotFound(f"no sharing request {request_id}")
    return req


@router.get(
    "/{request_id:segment}",  # so `/{id}:approve` is not read as a malformed id (405, not 422)
    summary="Get a sharing request",
    response_model=SharingRequest,
    responses=problem_responses(NotFound),
)
async def get_request(principal: PrincipalDep, engine: EngineDep, request_id: RequestId) -> dict[str, Any]:
    """Return one request to its applicant or to the owning department."""
    return await _visible(engine, principal, request_id)


async def _answer(
    request: Request,
    principal: PrincipalDep,
    engine: EngineDep,
    request_id: int,
    *,
    approve: bool,
    reason: str,
) -> dict[str, Any]:
    # The event names the request acted on, whether or not the answer is allowed.
    record_of_scope(request.scope).note(sharing_request=request_id, answer="approve" if approve else "refuse")
    req = await _visible(engine, principal, request_id)
    if req["owner_department"] != principal.department or Scope.SHARING_APPROVE not in principal.scopes:
        raise Forbidden("only the owning department (scope sharing:approve) answers a sharing request")
    grant = _grant_of(req) if approve else None
    status = "approved" if approve else "refused"
    if not await repo.decide(
        engine, request_id, status=status, reason=reason, by=principal.client_id, grant=grant
    ):
        raise Conflict(f"sharing request {request_id} is no longer pending")
    await runtime_of(request).policy.refresh_grants(
        force=True
    )  # this process at once; others within a refresh
    found = await repo.get(engine, request_id)
    assert found is not None
    return found


AnswerBody = Annotated[Answer, Body()]


def _answer_route(verb: str, *, approve: bool, summary: str, doc: str) -> None:
    """Declare `POST /{request_id}:<verb>`: the one handler that approves or refuses, under its own name."""

    async def answer(
        request: Request, principal: PrincipalDep, engine: EngineDep, request_id: RequestId, body: AnswerBody
    ) -> dict[str, Any]:
        return await _answer(request, principal, engine, request_id, approve=approve, reason=body.reason)

    answer.__doc__ = doc  # the operation's description in OpenAPI
    declared = operation(summary, *ACTION_PROBLEMS, model=SharingRequest, name=verb)  # name: the operationId
    router.post(f"/{{request_id}}:{verb}", **declared)(answer)


_answer_route(
    "approve",
    approve=True,
    summary="Approve a sharing request",
    doc="Approve: creates a grant of the fields to the applicant for its purpose until valid_until.",
)
_answer_route(
    "refuse",
    approve=False,
    summary="Refuse a sharing request",
    doc="Refuse with a reason; no grant is created.",
)
