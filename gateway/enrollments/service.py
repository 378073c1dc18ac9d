"""Enrolment reads under the policy: the enrolment decision picks fields and rows, the residents one rows.

An enrolment lies in its resident's region (catalogue `resident_region`), where the enrolment grant's
own regions must reach it; and it is shown only when the caller may read that resident for the same
purpose (the rule of the change feed, gateway/changes/visibility.py). Both decisions' row scopes go into
the one SQL statement. Filters name their fields (gateway/policy/filters.py checks them).
"""

from __future__ import annotations

from gateway.policy.deps import Access
from policies.decision import RowScope


def resident_scopes(access: Access) -> tuple[RowScope, ...] | None:
    """Return the row scopes of the residents the caller may read for this purpose (() : none)."""
    decision = access.related("residents")
    if not decision.allowed:
        return ()
    return decision.scopes
