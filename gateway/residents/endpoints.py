"""Resident routes: thin; queries live in repository.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep, Rfc3339
from gateway.errors import NotFound
from gateway.openapi import problem_responses
from gateway.pagination import decode_cursor, encode_cursor, page_body
from gateway.policy.deps import ResidentsAccess
from gateway.policy.filters import field_query
from gateway.residents import repository
from schemas.citizen_id import CitizenId
from schemas.codes import ResidentStatus, Tag
from schemas.models import Page, RegionCode, Resident

router = APIRouter(
    prefix="/v1/residents", tags=["residents"], dependencies=[require_scope(Scope.RESIDENTS_READ)]
)

ResidentId = Annotated[
    str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="Gateway id.")
]


class ResidentLookup(BaseModel):
    """Find a resident by citizen ID number; sent in the body so it never lands in a URL or access log."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"national_id": "511599198503120415"}]}
    )

    national_id: CitizenId


def _json(body: str | bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get(
    "",
    summary="List residents",
    response_model=Page[Resident],
    responses=problem_responses(400, 403, 422, 429),
)
async def list_residents(
    db: ReadDep,
    access: ResidentsAccess,
    region: Annotated[
        RegionCode | None,
        field_query(
            "region_code",
            description="Region code; the whole subtree is included (a township: its villages). "
            "Needs `region_code`.",
        ),
    ] = None,
    tag: Annotated[
        Tag | None,
        field_query(
            "tags",
            description="Only residents with this derived tag. Needs `tags` shown in clear (or every "
            "granted row carrying that tag).",
        ),
    ] = None,
    status: Annotated[
        ResidentStatus | None,
        field_query("status", description="Only residents in this status. Needs `status`."),
    ] = None,
    household: Annotated[
        str | None,
        field_query(
            "household_id", max_length=16, description="Only members of this household. Needs `household_id`."
        ),
    ] = None,
    updated_since: Annotated[
        Rfc3339 | None,
        field_query("updated_at", description="Only residents changed at or after this time (RFC 3339)."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List residents in a stable order; follow `next` until it is null."""
    key = decode_cursor(cursor, arity=1)
    flt = repository.ResidentFilter(
        region=region,
        tag=tag,
        status=status,
        household_id=household,
        updated_since=updated_since,
        policy_scopes=access.scopes,
    )
    ids, docs, last = await repository.list_docs(db, flt, after=key[0] if key else None, limit=limit)
    await access.disclose("resident", ids)
    return _json(page_body(access.project_page(docs), next_cursor=encode_cursor([last]) if last else None))


@router.get(
    "/{resident_id}",
    summary="Get a resident",
    response_model=Resident,
    responses=problem_responses(403, 404, 422, 429),
)
async def get_resident(db: ReadDep, access: ResidentsAccess, resident_id: ResidentId) -> Response:
    """Return one resident by gateway id."""
    doc = await repository.get_doc(db, resident_id)
    shown = access.project(doc) if doc is not None else None
    if shown is None:  # outside the caller's rows answers exactly like a missing one
        raise NotFound(f"no resident {resident_id}")
    await access.disclose("resident", [resident_id])
    return _json(shown)


@router.post(
    ":lookup",
    summary="Find a resident by citizen ID",
    response_model=Resident,
    responses=problem_responses(403, 404, 422, 429),
)
async def lookup_resident(
    db: ReadDep, access: ResidentsAccess, body: Annotated[ResidentLookup, Body()]
) -> Response:
    """Return the resident holding a citizen ID number (sent in the body, never in the URL)."""
    access.require_lookup("national_id")  # an exact lookup a grant names: clear or masked
    found = await repository.get_by_national_id(db, body.national_id)
    shown = access.project(found[1]) if found is not None else None
    if found is None or shown is None:
        raise NotFound("no resident holds this citizen ID number")
    await access.disclose("resident", [found[0]])
    return _json(shown)
