"""Household routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gateway.context import RecordDep
from gateway.deps import ReadDep
from gateway.errors import NotFound
from gateway.households import repository
from gateway.openapi import problem_responses
from schemas.models import Household

router = APIRouter(prefix="/v1/households", tags=["households"])


@router.get(
    "/{household_id}",
    summary="Get a household",
    response_model=Household,
    responses=problem_responses(404, 422),
)
async def get_household(
    db: ReadDep,
    record: RecordDep,
    household_id: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")],
) -> Household:
    """Return a household and its members."""
    found = await repository.get_household(db, household_id)
    if found is None:
        raise NotFound(f"no household {household_id}")
    household = Household.model_validate(found)
    # The members' names and relations are disclosed too: record them as residents seen.
    record.disclose("household", [household.id, *(m.resident_id for m in household.members)])
    return household
