"""Resident routes: thin; queries live in repository.py."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Body, Path
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep, Rfc3339
from gateway.enrollments.endpoints import page as enrollment_page
from gateway.enrollments.repository import EnrollmentFilter
from gateway.errors import BadRequest, InvalidCursor, NotFound, RateLimited
from gateway.openapi import first_item, link, links
from gateway.pagination import decode_cursor, page_body, page_response
from gateway.policy.deps import Access, EmploymentAccess, EnrollmentsAccess, MigrationsAccess, ResidentsAccess
from gateway.policy.filters import field_query
from gateway.residents import repository, service
from gateway.routing import ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.citizen_id import CitizenId
from schemas.codes import ResidentStatus, Tag
from schemas.models import (
    Employment,
    Enrollment,
    Migration,
    Page,
    RegionCode,
    Resident,
    ResidentProvenance,
)

router = api_router(
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
    **operation(
        "List residents",
        *PAGE_PROBLEMS,
        RateLimited,
        model=Page[Resident],
        responses=links(
            200,
            GetResident=first_item("/v1/residents/{resident_id}", param="resident_id", what="resident"),
            GetResidentDisclosures=link(
                "get",
                "/v1/residents/{resident_id}/disclosures",
                {"resident_id": "$response.body#/items/0/id"},
                "Who saw the first resident's data.",
            ),
            GetHousehold=link(
                "get",
                "/v1/households/{household_id}",
                {"household_id": "$response.body#/items/0/household_id"},
                "The household of the first resident.",
            ),
        ),
    ),
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
    return page_response(access.project_page(docs), last=last)


@router.get(
    "/{resident_id}",
    **operation(
        "Get a resident",
        *ITEM_PROBLEMS,
        RateLimited,
        model=Resident,
        responses=links(
            200,
            GetHousehold=link(
                "get",
                "/v1/households/{household_id}",
                {"household_id": "$response.body#/household_id"},
                "The resident's household.",
            ),
            GetDisclosures=link(
                "get",
                "/v1/residents/{resident_id}/disclosures",
                {"resident_id": "$response.body#/id"},
                "Who saw this resident's data.",
            ),
            ListNoticesForResident=link(
                "get",
                "/v1/notices",
                {"for_resident": "$response.body#/id"},
                "Notices a village agent can read out to this resident.",
            ),
            GetProvenance=link(
                "get",
                "/v1/residents/{resident_id}/provenance",
                {"resident_id": "$response.body#/id"},
                "Every source's value of this resident's fields, and which is served.",
            ),
            ListEnrollments=link(
                "get",
                "/v1/residents/{resident_id}/enrollments",
                {"resident_id": "$response.body#/id"},
                "This resident's benefit and insurance enrolments.",
            ),
            GetEmployment=link(
                "get",
                "/v1/residents/{resident_id}/employment",
                {"resident_id": "$response.body#/id"},
                "This resident's employment as HR records it.",
            ),
            ListMigrations=link(
                "get",
                "/v1/residents/{resident_id}/migrations",
                {"resident_id": "$response.body#/id"},
                "Where this resident works away from home.",
            ),
        ),
    ),
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
    **operation(
        "Find a resident by citizen ID",
        *ITEM_PROBLEMS,
        RateLimited,
        model=Resident,
        responses=links(
            200,
            GetResident=link(
                "get",
                "/v1/residents/{resident_id}",
                {"resident_id": "$response.body#/id"},
                "The same resident by gateway id.",
            ),
        ),
    ),
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


@router.get(
    "/{resident_id}/provenance",
    **operation(
        "Where each value of a resident comes from", *ITEM_PROBLEMS, RateLimited, model=ResidentProvenance
    ),
)
async def get_provenance(db: ReadDep, access: ResidentsAccess, resident_id: ResidentId) -> Response:
    """Return every source's value of every field the caller may see, which one is served and why."""
    found = await service.provenance(db, access, resident_id)
    if found is None:  # outside the caller's rows answers exactly like a missing one
        raise NotFound(f"no resident {resident_id}")
    await access.disclose("resident", [resident_id])
    return Response(orjson.dumps(found), media_type="application/json")


@router.get(
    "/{resident_id}/enrollments",
    **operation(
        "A resident's enrolments",
        InvalidCursor,
        BadRequest,
        *ITEM_PROBLEMS,
        RateLimited,
        model=Page[Enrollment],
        guard=[require_scope(Scope.ENROLLMENTS_READ)],
    ),
)
async def list_resident_enrollments(
    db: ReadDep,
    access: ResidentsAccess,
    enrollments: EnrollmentsAccess,
    resident_id: ResidentId,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List the benefit and insurance enrolments of one resident the caller may read."""
    doc = await repository.get_doc(db, resident_id)
    if doc is None or access.project(doc) is None:
        raise NotFound(f"no resident {resident_id}")
    flt = EnrollmentFilter(resident_id=resident_id)
    return await enrollment_page(db, enrollments, flt, cursor=cursor, limit=limit)


async def _details(
    db: ReadDep, access: ResidentsAccess, detail: Access, resident_id: str, *, table: str
) -> list[str]:
    """Return a readable resident's employment or migration documents, projected by their own policy."""
    doc = await repository.get_doc(db, resident_id)
    if doc is None or access.project(doc) is None:
        raise NotFound(f"no resident {resident_id}")
    found = await repository.detail_docs(db, table, resident_id, scopes=detail.scopes)
    docs = detail.project_page([d for d, _ in found], regions=[r for _, r in found])
    await detail.disclose(table, [resident_id] if docs else [])
    return docs


@router.get(
    "/{resident_id}/employment",
    **operation(
        "A resident's employment",
        *ITEM_PROBLEMS,
        RateLimited,
        model=Employment,
        guard=[require_scope(Scope.EMPLOYMENT_READ)],
    ),
)
async def get_employment(
    db: ReadDep, access: ResidentsAccess, employment: EmploymentAccess, resident_id: ResidentId
) -> Response:
    """Return employment as HR records it (404 when HR has none or the resident is not readable)."""
    docs = await _details(db, access, employment, resident_id, table="employment")
    if not docs:
        raise NotFound(f"no employment record of resident {resident_id}")
    return _json(docs[0])


@router.get(
    "/{resident_id}/migrations",
    **operation(
        "A resident's migrant-work records",
        *ITEM_PROBLEMS,
        RateLimited,
        model=Page[Migration],
        guard=[require_scope(Scope.MIGRATIONS_READ)],
    ),
)
async def list_migrations(
    db: ReadDep, access: ResidentsAccess, migrations: MigrationsAccess, resident_id: ResidentId
) -> Response:
    """Return where the resident works away, per register (the latest month's record of each)."""
    docs = await _details(db, access, migrations, resident_id, table="migration")
    return _json(page_body(docs, next_cursor=None))
