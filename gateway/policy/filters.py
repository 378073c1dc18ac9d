"""Every query parameter is a disclosure: the field each one names, and the check refusing hidden ones.

A parameter of an operation governed by the policy declares the field it filters or targets on
(`field_query("tags")`, shown as `x-field` in OpenAPI); the check compares it with the same field
plans the projection uses, once per request, so a new parameter cannot bypass it: one without a
declared field is refused until it names one. `@resource` marks a parameter that targets a record
of another resource; the route then enforces that resource's policy (a read of the record).
`resource.field` names a field of a related record (an enrolment's resident's `residents.region_code`):
that resource's decision, for the same request, must show the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Query
from fastapi.routing import APIRoute

from gateway.policy.errors import FilterNotAllowed
from policies.decision import Decision

FIELD_KEY = "x-field"
META_PARAMS = frozenset({"limit", "cursor"})  # pagination: names no field

_PARAMS: dict[int, tuple[tuple[str, str | None], ...]] = {}


def field_query(field: str, **kwargs: Any) -> Any:
    """Return a Query parameter that filters on `field` (declared as x-field in OpenAPI)."""
    return Query(json_schema_extra={FIELD_KEY: field}, **kwargs)


def route_params(route: Any) -> tuple[tuple[str, str | None], ...]:
    """Return (name, field) of every query parameter of a route, computed once per route."""
    found = _PARAMS.get(id(route))
    if found is None:
        params = _query_params(route.dependant) if isinstance(route, APIRoute) else []
        found = tuple((p.alias, _declared_field(p.field_info.json_schema_extra)) for p in params)
        _PARAMS[id(route)] = found
    return found


def _declared_field(extra: Any) -> str | None:
    """Return the x-field a parameter declares, or None."""
    value = extra.get(FIELD_KEY) if isinstance(extra, dict) else None
    return str(value) if value is not None else None


def _query_params(dependant: Any) -> list[Any]:
    """Return the query parameters of a dependency tree."""
    out = list(dependant.query_params)
    for dep in dependant.dependencies:
        out += _query_params(dep)
    return out


def filterable(decision: Decision, field: str, value: str) -> bool:
    """Tell whether the decision shows `field` in clear on every row it reaches (for tags: that tag)."""
    if not decision.allowed:
        return False  # a related resource the caller may not read at all shows no field of it
    info = decision.info
    scopes = decision.scopes
    if info is not None and field == info.tags_field and scopes and all(value in s.tags for s in scopes):
        return True  # every row reached carries the tag already: filtering on it tells nothing new
    return all(field in plan.clear for plan in decision.plans)


def check_filters(
    decision: Decision, route: Any, query: Any, *, related: Callable[[str], Decision] | None = None
) -> list[str]:
    """Refuse parameters on fields the decision does not show; return the fields filtered on.

    `related` returns this request's decision on another resource (for `resource.field` parameters).
    """
    used: list[str] = []
    if not isinstance(route, APIRoute):
        # No declared parameters to compare with: refuse rather than let a filter through unchecked.
        unknown = next((name for name in query if name not in META_PARAMS), None)
        if unknown is not None:
            raise FilterNotAllowed(f"parameter {unknown} names no field of the policy", parameter=unknown)
        return used
    for name, field in route_params(route):
        if name in META_PARAMS or name not in query:
            continue
        if field is None:
            raise FilterNotAllowed(f"parameter {name} names no field of the policy", parameter=name)
        if field.startswith("@"):
            continue  # targets a record of another resource: the route enforces that policy
        judged, own = _judged(decision, field, related)
        if not filterable(judged, own, query[name]):
            raise FilterNotAllowed(
                f"parameter {name} filters on {field}, which the policy does not show this client "
                f"for purpose {decision.purpose}",
                parameter=name,
                field=field,
            )
        used.append(field)
    return used


def _judged(
    decision: Decision, field: str, related: Callable[[str], Decision] | None
) -> tuple[Decision, str]:
    """Return the decision that must show `field` and its name there (a related resource's, if dotted)."""
    resource, dot, name = field.partition(".")
    if not dot:
        return decision, field
    if related is None:
        # No way to ask the related resource's policy: treat the field as hidden rather than unchecked.
        hidden = Decision(
            allowed=False,
            reason="no related decision",
            resource=resource,
            purpose=decision.purpose,
            policy_version=decision.policy_version,
        )
        return hidden, name
    return related(resource), name


def check_lookup(decision: Decision, field: str) -> None:
    """Refuse an exact lookup by `field` unless a grant names the field (in clear or masked)."""
    if field not in decision.fields_disclosed and field not in decision.fields_masked:
        raise FilterNotAllowed(
            f"no grant names {field}: this client may not look residents up by it",
            parameter=field,
            field=field,
        )
