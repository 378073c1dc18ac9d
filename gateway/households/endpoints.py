"""Household routes."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import ReadDep
from gateway.errors import NotFound
from gateway.households import repository
from gateway.openapi import problem_responses
from gateway.policy.deps import HouseholdsAccess
from schemas.models import Household

router = APIRouter(
    prefix="/v1/households", tags=["households"], dependencies=[require_scope(Scope.HOUSEHOLDS_READ)]
)


@router.get(
    "/{household_id}",
    summary="Get a household",
    response_model=Household,
    responses=problem_responses(403, 404, 422, 429),
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
    household = Household.model_validate(found)
    # The members' names and relations are disclosed too: record them as residents seen.
    members = [m.resident_id for m in household.members] if "members" in shown else []
    await access.disclose("household", [household.id, *members])
    return Response(orjson.dumps(shown), media_type="application/json")
