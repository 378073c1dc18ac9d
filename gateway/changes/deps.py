"""Request side of the feed's policy: one decision per resource the caller may read, for its purpose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from gateway.auth.dependencies import PrincipalDep
from gateway.changes.visibility import Viewer, alert_rules_for, decide_all, quarantine_sources_for
from gateway.context import RecordDep, RequestRecord
from gateway.policy.deps import Access, PolicyStateDep, PurposeHeader, SubjectDep, charge_request
from gateway.policy.errors import GrantMissing, PurposeRequired
from policies.decision import Decision


@dataclass(frozen=True, slots=True)
class FeedAccess:
    """The caller's view of the change log and the access (audit, quota) its pages are charged to."""

    viewer: Viewer
    access: Access


async def feed_access(
    state: PolicyStateDep,
    subject: SubjectDep,
    principal: PrincipalDep,
    record: RecordDep,
    purpose: PurposeHeader = None,
) -> FeedAccess:
    """Decide what of the change log the caller sees; refuse when it may read none of it."""
    record.purpose = purpose  # before the rate limit: a 429 event still says what it was for
    per_day = await charge_request(state, subject)
    decisions = decide_all(state.engine, subject, purpose, scopes=principal.scopes, enabled=state.enabled)
    allowed = {k: d for k, d in decisions.items() if d.allowed}
    # Personal data without a purpose is refused outright, not silently left out of the pages.
    unstated = next((d for d in decisions.values() if d.missing == "purpose-required"), None)
    if unstated is not None:
        _deny(record, unstated.reason)
        raise PurposeRequired(unstated.reason, missing=unstated.missing, purpose=purpose)
    primary = allowed.get("resident") or next(iter(allowed.values()), None)
    stewarded = quarantine_sources_for(subject.department, principal.scopes)
    if primary is None and stewarded:
        # A quarantine reader without a read grant still follows its stewards' decisions (no personal data).
        why = "quarantine readers follow the decisions about their department's held-back records"
        primary = Decision(
            allowed=True,
            reason=why,
            resource="quarantine",
            purpose=purpose,
            policy_version=state.engine.policy.version,
        )
    if primary is None:
        refused = next(iter(decisions.values()), None)
        reason = refused.reason if refused else "the token carries no read scope of a resource in the feed"
        _deny(record, reason)
        raise GrantMissing(reason, missing="grant-missing", purpose=purpose)
    record.policy_version = primary.policy_version
    record.decision = "allow"
    record.reason = primary.reason
    record.fields_disclosed = list(primary.fields_disclosed)
    record.fields_masked = list(primary.fields_masked)
    viewer = Viewer(
        allowed,
        alert_rules=alert_rules_for(state.engine, subject, purpose),
        quarantine_sources=stewarded,
    )
    return FeedAccess(viewer, Access(primary, record, state, subject, per_day))


def _deny(record: RequestRecord, reason: str) -> None:
    record.decision = "deny"
    record.reason = reason


FeedAccessDep = Annotated[FeedAccess, Depends(feed_access)]
