"""Request side of the policy: read X-Purpose, rate-limit, decide; give routes row scopes and a projector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from gateway.auth.dependencies import PrincipalDep
from gateway.context import RecordDep, RequestRecord
from gateway.errors import Unauthorized
from gateway.policy.errors import GrantMissing, PurposeRequired
from gateway.policy.ratelimit import check_request, spend_records
from gateway.policy.state import PolicyState
from policies.decide import Decision, RowScope, Subject

PURPOSE_HEADER = "X-Purpose"
PurposeHeader = Annotated[
    str | None,
    Header(
        alias=PURPOSE_HEADER,
        max_length=64,
        pattern=r"^[a-z][a-z0-9\-]{0,63}$",
        description="Purpose of use (PIPL Art. 6), one of the policy's purposes "
        "(e.g. `social-assistance-review`); required for personal data. See GET /v1/catalog.",
    ),
]


async def get_subject(principal: PrincipalDep) -> Subject:
    """Return the policy's view of the authenticated principal (client, department, region)."""
    return Subject(
        client_id=principal.client_id, department=principal.department, region_code=principal.region_code
    )


SubjectDep = Annotated[Subject, Depends(get_subject)]


async def get_policy_state(request: Request) -> PolicyState:
    """Return the process's policy state (built in the lifespan)."""
    state: PolicyState = request.app.state.policy
    return state


PolicyStateDep = Annotated[PolicyState, Depends(get_policy_state)]


class Access:
    """What one request may see of one resource: row scopes for the query, a projector for documents."""

    __slots__ = ("decision", "limit", "record", "state", "subject")

    def __init__(
        self,
        decision: Decision,
        record: RequestRecord,
        state: PolicyState,
        subject: Subject | None,
        limit: int,
    ) -> None:
        self.decision = decision
        self.record = record
        self.state = state
        self.subject = subject
        self.limit = limit

    @property
    def scopes(self) -> tuple[RowScope, ...] | None:
        """Return the row scopes to add to the query (None: every row)."""
        return self.decision.scopes

    def project(self, raw: str) -> str | bytes | None:
        """Return one document as this caller may see it, or None when it is outside its rows (answer 404)."""
        return self.decision.project(raw, self.state.village_names)

    def project_dict(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Project an already parsed document, or None when outside the caller's rows."""
        return self.decision.project_doc(doc, self.state.village_names)

    def project_page(self, docs: list[str]) -> list[str]:
        """Project a page of documents (rows were filtered in SQL; a multi-scope row check may still drop)."""
        if self.decision.passthrough and self.decision.scopes is None:
            return docs
        out: list[str] = []
        for raw in docs:
            projected = self.decision.project(raw, self.state.village_names)
            if projected is not None:
                out.append(projected.decode() if isinstance(projected, bytes) else projected)
        return out

    async def disclose(self, resource: str, ids: list[str]) -> None:
        """Note the disclosed records in the request record and count them against the daily quota."""
        self.record.disclose(resource, ids)
        if self.subject is not None and self.state.enabled:
            await spend_records(
                self.state.limiter, client_id=self.subject.client_id, n=len(ids), per_day=self.limit
            )


def policy_for(resource: str) -> Callable[..., Awaitable[Access]]:
    """Return the dependency enforcing the policy on `resource` (X-Purpose is documented on every use)."""

    async def enforce(
        state: PolicyStateDep, subject: SubjectDep, record: RecordDep, purpose: PurposeHeader = None
    ) -> Access:
        decision_subject = subject or Subject(client_id="anonymous")
        per_day = 0
        if subject is not None and state.enabled:
            limit = state.engine.policy.limit_for(subject.client_id, subject.department)
            per_day = limit.records_per_day
            await check_request(
                state.limiter,
                client_id=subject.client_id,
                per_minute=limit.requests_per_minute,
                per_day=per_day,
            )
        decision = (
            state.engine.decide(decision_subject, resource, purpose)
            if state.enabled
            else _off(state, resource, purpose)
        )
        record.purpose = purpose
        record.policy_version = decision.policy_version
        record.decision = "allow" if decision.allowed else "deny"
        record.reason = decision.reason
        record.fields_disclosed = list(decision.fields_disclosed)
        record.fields_masked = list(decision.fields_masked)
        if not decision.allowed:
            if subject is None:
                raise Unauthorized(f"{resource} holds personal data: authenticate first")
            error = PurposeRequired if decision.missing == "purpose-required" else GrantMissing
            raise error(decision.reason, missing=decision.missing, purpose=purpose, resource=resource)
        return Access(decision, record, state, subject, per_day)

    return enforce


def _off(state: PolicyState, resource: str, purpose: str | None) -> Decision:
    """Return an allow-everything decision (benchmarks only: GATEWAY_POLICY_ENABLED=false)."""
    from policies.decide import FieldPlan

    info = state.engine.policy.resources[resource]
    plan = FieldPlan(frozenset(info.order), (), True)
    return Decision(True, "policy disabled", resource, purpose, "off", info, None, (plan,))


ResidentsAccess = Annotated[Access, Depends(policy_for("residents"))]
HouseholdsAccess = Annotated[Access, Depends(policy_for("households"))]
ServicesAccess = Annotated[Access, Depends(policy_for("services"))]
NoticesAccess = Annotated[Access, Depends(policy_for("notices"))]
RegionsAccess = Annotated[Access, Depends(policy_for("regions"))]
