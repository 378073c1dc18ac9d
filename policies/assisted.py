"""Assisted access (代办): confine a decision to the one resident a consent names (PIPL Art. 14)."""

from __future__ import annotations

from dataclasses import replace

from policies.decision import Decision, RowScope


def narrow(decision: Decision, resident_id: str) -> Decision:
    """Return the decision confined to rows about one resident (assisted access, 代办)."""
    info = decision.info
    if not decision.allowed or info is None or info.open:
        return decision  # a refusal stays one; open data is nobody's in particular
    if info.resident_field is None:
        return Decision(
            allowed=False,
            reason=f"{decision.resource} rows are not about one resident: assisted access cannot reach them",
            resource=decision.resource,
            purpose=decision.purpose,
            policy_version=decision.policy_version,
            missing="consent-invalid",
        )
    # An unrestricted decision has one plan for its one (implicit) scope, so plans stay aligned.
    base = decision.scopes if decision.scopes is not None else (RowScope(None),)
    scopes = tuple(RowScope(s.prefixes, s.tags, resident_id) for s in base)
    return replace(decision, scopes=scopes, _combined={})
