"""Enrolment reads under the policy: the enrolment decision picks fields, the residents decision rows.

An enrolment is about a resident: it is shown only when the caller may read that resident for the same
purpose (the rule of the change feed, gateway/changes/visibility.py), so both decisions' row scopes go
into the one SQL statement. A filter may only name a field the caller is shown: filtering on a hidden
field would let it learn the field row by row.
"""

from __future__ import annotations

from gateway.errors import Forbidden
from gateway.policy.deps import Access
from policies.assisted import narrow
from policies.decide import RowScope


class HiddenFieldFilter(Forbidden):
    """A filter names a field the caller may not see."""

    slug, title = "hidden-field-filter", "Filter on a field you may not see"


def resident_scopes(access: Access) -> tuple[RowScope, ...] | None:
    """Return the row scopes of the residents the caller may read for this purpose (() : none)."""
    state, subject = access.state, access.subject
    if not state.enabled or subject is None:
        return None
    assisted = access.acting_for is not None
    decision = state.engine.decide(subject, "residents", access.decision.purpose, assisted=assisted)
    if access.acting_for is not None:
        decision = narrow(decision, access.acting_for)
    if not decision.allowed:
        return ()
    return decision.scopes


def check_filters(access: Access, **filters: object) -> None:
    """Refuse a filter on a field the caller is not shown in clear on every row."""
    plans = access.decision.plans
    for name, value in filters.items():
        if value is not None and not all(name in plan.clear for plan in plans):
            raise HiddenFieldFilter(f"you may not filter on {name}: it is not shown to you")
