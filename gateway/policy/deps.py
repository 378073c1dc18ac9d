"""Request side of the policy: read X-Purpose, rate-limit, decide; give routes row scopes and a projector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import SecurityScopes

from gateway.audit.headers import DESCRIPTIONS as AUDIT_HEADER_DESCRIPTIONS
from gateway.audit.headers import MAX_LEN as AUDIT_HEADER_MAX
from gateway.auth.dependencies import PrincipalDep, authenticate
from gateway.auth.tokens import Principal
from gateway.consents import service as consents
from gateway.consents.models import CONSENT_ID_MAX
from gateway.context import RequestRecord, record_of_scope
from gateway.errors import RateLimited, Unauthorized
from gateway.openapi import POLICY_RESOURCE_ATTR, PROBLEMS_ATTR
from gateway.policy.errors import (
    ConsentInvalid,
    ConsentRequired,
    FilterNotAllowed,
    GrantMissing,
    PurposeRequired,
)
from gateway.policy.filters import check_filters, check_lookup
from gateway.policy.ratelimit import check_request, spend_records
from gateway.policy.state import PolicyState
from gateway.runtime import runtime_of
from policies.assisted import narrow
from policies.decision import Decision, RowScope, Subject, allow_everything
from schemas.time import today_cn

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

CONSENT_HEADER = "X-Consent-Id"
ConsentHeader = Annotated[
    str | None,
    Header(
        alias=CONSENT_HEADER,
        # No pattern: a malformed reference is a consent this client never recorded (403 consent-invalid).
        max_length=CONSENT_ID_MAX,
        description="Assisted access (代办): the resident's consent (POST /v1/consents, e.g. "
        "`C3F9A1B27C4D5E6F0`) a village agent acts under, with X-On-Behalf-Of naming that resident and "
        "X-Purpose the consent's purpose; the answer then holds that resident's data only. Audited.",
    ),
]
OnBehalfOfHeader = Annotated[
    str | None,
    Header(
        alias="X-On-Behalf-Of",
        max_length=AUDIT_HEADER_MAX,
        description=AUDIT_HEADER_DESCRIPTIONS["X-On-Behalf-Of"],
    ),
]
_NO_SCOPES = SecurityScopes()
_DENIALS = {"purpose-required": PurposeRequired, "consent-required": ConsentRequired}


def _subject(principal: Principal) -> Subject:
    return Subject(
        client_id=principal.client_id, department=principal.department, region_code=principal.region_code
    )


async def get_subject(principal: PrincipalDep) -> Subject:
    """Return the policy's view of the authenticated principal (client, department, region)."""
    return _subject(principal)


SubjectDep = Annotated[Subject, Depends(get_subject)]


async def get_policy_state(request: Request) -> PolicyState:
    """Return the process's policy state (built in the lifespan)."""
    state: PolicyState = runtime_of(request).policy
    return state


PolicyStateDep = Annotated[PolicyState, Depends(get_policy_state)]


async def charge_request(state: PolicyState, subject: Subject) -> int:
    """Spend the first record of the client's daily quota; return the quota (0 when policy is off)."""
    if not state.enabled:
        return 0
    limit = state.engine.policy.limit_for(subject.client_id, subject.department)
    await check_request(state.limiter, client_id=subject.client_id, per_day=limit.records_per_day)
    return limit.records_per_day


class Access:
    """What one request may see of one resource: row scopes for the query, a projector for documents."""

    __slots__ = ("acting_for", "decision", "inputs", "limit", "record", "state", "subject")

    def __init__(
        self,
        decision: Decision,
        record: RequestRecord,
        state: PolicyState,
        subject: Subject | None,
        limit: int,
        *,
        acting_for: str | None = None,
        inputs: Inputs | None = None,
    ) -> None:
        self.decision = decision
        self.inputs = inputs or Inputs()
        self.record = record
        self.state = state
        self.subject = subject
        self.limit = limit
        self.acting_for = acting_for  # the resident of a checked consent (assisted access, 代办)

    @property
    def consent_bound(self) -> bool:
        """Tell whether the caller reaches residents only under their consent (a village agent's client)."""
        s = self.subject
        policy = self.state.engine.policy
        return s is not None and self.state.enabled and policy.consent_bound(s.client_id, s.department)

    @property
    def scopes(self) -> tuple[RowScope, ...] | None:
        """Return the row scopes to add to the query (None: every row)."""
        return self.decision.scopes

    def project(self, raw: str, *, region: str | None = None) -> str | bytes | None:
        """Return one document as this caller may see it, or None when it is outside its rows (answer 404);
        `region` places a row that carries none (an enrolment: its resident's region)."""
        return self.decision.project(raw, self.state.village_names, region=region)

    def project_dict(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Project an already parsed document, or None when outside the caller's rows."""
        return self.decision.project_doc(doc, self.state.village_names)

    def project_page(self, docs: list[str], *, regions: list[str | None] | None = None) -> list[str]:
        """Project a page of documents (rows were filtered in SQL; a multi-scope row check may still drop);
        `regions` places each row that carries no region of its own, in order."""
        if self.decision.passthrough and self.decision.scopes is None:
            return docs
        out: list[str] = []
        for raw, region in zip(docs, regions or [None] * len(docs), strict=True):
            projected = self.decision.project(raw, self.state.village_names, region=region)
            if projected is not None:
                out.append(projected.decode() if isinstance(projected, bytes) else projected)
        return out

    def reaches_region(self, region: str | None) -> bool:
        """Tell whether a row in `region` is inside the caller's region scopes (tags and residents aside)."""
        scopes = self.decision.scopes
        return scopes is None or any(RowScope(s.prefixes).matches(region, None) for s in scopes)

    def require_lookup(self, field: str) -> None:
        """Refuse an exact lookup by a field no grant names (403 filter-not-allowed)."""
        check_lookup(self.decision, field)

    def related(self, resource: str) -> Decision:
        """Return this request's decision on another resource (same purpose, narrowed under consent)."""
        state, subject = self.state, self.subject
        if not state.enabled or subject is None:
            return _off(state, resource, self.decision.purpose)
        decision = state.engine.decide(
            subject, resource, self.decision.purpose, assisted=self.acting_for is not None
        )
        return narrow(decision, self.acting_for) if self.acting_for is not None else decision

    async def read_of(self, resource: str) -> Access:
        """Enforce another resource's policy for this request (a parameter targets one of its records)."""
        i = self.inputs
        return await enforce_policy(
            resource,
            self.state,
            self.subject,
            self.record,
            i.purpose,
            i.on_behalf_of,
            i.consent_id,
            charge=False,
        )

    async def disclose(self, resource: str, ids: list[str]) -> None:
        """Note the disclosed records in the request record and count them against the daily quota."""
        self.record.disclose(resource, ids)
        if self.subject is not None and self.state.enabled:
            await spend_records(
                self.state.limiter, client_id=self.subject.client_id, n=len(ids), per_day=self.limit
            )


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the request stated to the policy: purpose and assisted-access headers."""

    purpose: str | None = None
    on_behalf_of: str | None = None
    consent_id: str | None = None


async def enforce_policy(
    resource: str,
    state: PolicyState,
    subject: Subject | None,
    record: RequestRecord,
    purpose: str | None,
    on_behalf_of: str | None,
    consent_id: str | None,
    *,
    charge: bool = True,
) -> Access:
    """Decide `resource` for the request, note the decision for its audit event, refuse or return Access."""
    decision_subject = subject or Subject(client_id="anonymous")
    record.purpose = purpose  # before the rate limit: a 429 event still says what it was for
    per_day = await charge_request(state, subject) if subject is not None and charge else 0
    if subject is not None and not charge and state.enabled:
        per_day = state.engine.policy.limit_for(subject.client_id, subject.department).records_per_day
    assisted = consent_id is not None and state.enabled
    record.consent_id = consent_id  # as presented: the event shows what was claimed, and the outcome
    decision = (
        state.engine.decide(decision_subject, resource, purpose, assisted=assisted)
        if state.enabled
        else _off(state, resource, purpose)
    )
    if assisted and decision.allowed and consent_id is not None:
        try:
            # PIPL Art. 14: act for the resident only within what they consented to.
            await consents.check(
                state.store,
                consent_id,
                client_id=decision_subject.client_id,
                resident_id=on_behalf_of,
                purpose=purpose,
                today=today_cn(),
            )
        except ConsentInvalid as exc:
            _note(record, decision, purpose=purpose, refused=exc.detail)
            raise
        assert on_behalf_of is not None  # check() refuses a consent without it
        decision = narrow(decision, on_behalf_of)
    _note(record, decision, purpose=purpose)
    if not decision.allowed:
        if subject is None:
            raise Unauthorized(f"{resource} holds personal data: authenticate first")
        if decision.missing == "consent-invalid":
            raise ConsentInvalid(decision.reason, consent_id=consent_id, problem="resource")
        error = _DENIALS.get(decision.missing or "", GrantMissing)
        zh = f"{error.detail_zh}（资源 {resource}，目的 {purpose or '未说明'}）"
        raise error(
            decision.reason, missing=decision.missing, purpose=purpose, resource=resource, detail_zh=zh
        )
    acting_for = on_behalf_of if assisted else None
    inputs = Inputs(purpose, on_behalf_of, consent_id)
    return Access(decision, record, state, subject, per_day, acting_for=acting_for, inputs=inputs)


# What an operation under the policy may answer for it: refusals, and the per-purpose and record limits.
POLICY_REFUSALS = (
    PurposeRequired,
    GrantMissing,
    FilterNotAllowed,
    ConsentRequired,
    ConsentInvalid,
    RateLimited,
)


def policy_for(resource: str) -> Callable[..., Awaitable[Access]]:
    """Return the dependency enforcing the policy on `resource` (X-Purpose is documented on every use)."""

    async def enforce(
        request: Request,
        purpose: PurposeHeader = None,
        on_behalf_of: OnBehalfOfHeader = None,
        consent_id: ConsentHeader = None,
    ) -> Access:
        # One dependency level: the state, subject and record are taken here, not solved by FastAPI
        # (each sub-dependency costs a solve per request; this is the hot path of every read).
        principal = await authenticate(request, _NO_SCOPES)  # verified once: the route's token check
        state = runtime_of(request).policy
        record = record_of_scope(request.scope)
        access = await enforce_policy(
            resource, state, _subject(principal), record, purpose, on_behalf_of, consent_id
        )
        if request.query_params:
            # Every parameter discloses the field it filters on: refuse hidden ones, audit the rest.
            used = check_filters(
                access.decision, request.scope.get("route"), request.query_params, related=access.related
            )
            record.fields_disclosed += [f for f in used if f not in record.fields_disclosed]
        return access

    setattr(enforce, POLICY_RESOURCE_ATTR, resource)
    setattr(enforce, PROBLEMS_ATTR, POLICY_REFUSALS)
    return enforce


def _note(
    record: RequestRecord, decision: Decision, *, purpose: str | None, refused: str | None = None
) -> None:
    """Write the decision into the request's record for its audit event."""
    record.purpose = purpose
    record.policy_version = decision.policy_version
    allowed = decision.allowed and refused is None
    record.decision = "allow" if allowed else "deny"
    record.reason = refused or decision.reason
    record.fields_disclosed = list(decision.fields_disclosed) if allowed else []
    record.fields_masked = list(decision.fields_masked) if allowed else []


def _off(state: PolicyState, resource: str, purpose: str | None) -> Decision:
    """Return an allow-everything decision (benchmarks only: LegalControls(policy=False) in bench/apps.py)."""
    info = state.engine.policy.resources[resource]
    return allow_everything(info, resource=resource, purpose=purpose, reason="policy disabled")


ResidentsAccess = Annotated[Access, Depends(policy_for("residents"))]
HouseholdsAccess = Annotated[Access, Depends(policy_for("households"))]
EnrollmentsAccess = Annotated[Access, Depends(policy_for("enrollments"))]
EmploymentAccess = Annotated[Access, Depends(policy_for("employment"))]
MigrationsAccess = Annotated[Access, Depends(policy_for("migrations"))]
ServicesAccess = Annotated[Access, Depends(policy_for("services"))]
NoticesAccess = Annotated[Access, Depends(policy_for("notices"))]
RegionsAccess = Annotated[Access, Depends(policy_for("regions"))]
