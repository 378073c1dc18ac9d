"""Household routes."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import ReadDep
from gateway.errors import NotFound, RateLimited
from gateway.households import repository
from gateway.openapi import link, links
from gateway.policy.deps import HouseholdsAccess
from gateway.routing import ITEM_PROBLEMS, api_router, operation
from schemas.models import Household

router = api_router(
    prefix="/v1/households", tags=["households"], dependencies=[require_scope(Scope.HOUSEHOLDS_READ)]
)


@router.get(
    "/{household_id}",
    **operation(
        "Get a household",
        *ITEM_PROBLEMS,
        RateLimited,
        model=Household,
        responses=links(
            200,
            GetFirstMember=link(
                "get",
                "/v1/residents/{resident_id}",
                {"resident_id": "$response.body#/members/0/resident_id"},
                "The household's first member.",
            ),
        ),
    ),
)
async def get_household(
    db: ReadDep,
    access: HouseholdsAccess,
    household_id: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")],
) -> Response:
    """Return a household and its members."""
    found = await repository.get_household(db, household_id, reaches=access.reaches_region)
    shown = access.project_dict(found) if found is not None else None
    if shown is None:  # outside the caller's region answers exactly like a missing one
        raise NotFound(f"no household {household_id}")
    if access.acting_for is not None:
        shown = only_the_consenting_member(shown, access.acting_for)
    household = Household.model_validate(found)
    # The members' names and relations are disclosed too: record them as residents seen.
    members = [m["resident_id"] for m in shown.get("members", ()) if m.get("resident_id")]
    await access.disclose("household", [household.id, *members])
    return Response(orjson.dumps(shown), media_type="application/json")


def only_the_consenting_member(shown: dict[str, Any], resident_id: str) -> dict[str, Any]:
    """Under a consent, show the other members by relation and status only: the consent is one person's.

    Their ids and names would let an agent record consents for them and read them in turn (PIPL Art. 14).
    """
    members = [
        m
        if m.get("resident_id") == resident_id
        else {"relation": m.get("relation"), "status": m.get("status")}
        for m in shown.get("members", ())
    ]
    head = shown.get("head_resident_id")
    return {**shown, "members": members, "head_resident_id": head if head == resident_id else None}
