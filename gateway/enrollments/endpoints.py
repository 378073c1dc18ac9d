"""Enrolment routes (救助与参保): thin; rules in service.py, queries in repository.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import orjson
from fastapi import Path
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep, Rfc3339
from gateway.enrollments import repository, service
from gateway.errors import NotFound, RateLimited
from gateway.openapi import first_item, link, links
from gateway.pagination import decode_cursor, encode_cursor, page_body
from gateway.policy.deps import EnrollmentsAccess
from gateway.policy.filters import field_query
from gateway.routing import ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.codes import EnrollmentKind, EnrollmentStatus
from schemas.models import Enrollment, Page, RegionCode

router = api_router(
    prefix="/v1/enrollments", tags=["enrollments"], dependencies=[require_scope(Scope.ENROLLMENTS_READ)]
)


async def page(
    db: ReadDep,
    access: EnrollmentsAccess,
    flt: repository.EnrollmentFilter,
    *,
    cursor: str | None,
    limit: int,
) -> Response:
    """Return one page of enrolments as the caller may see them, disclosed in the audit record."""
    key = decode_cursor(cursor, arity=1)
    scoped = replace(flt, policy_scopes=(access.scopes, service.resident_scopes(access)))
    found = await repository.list_docs(db, scoped, after=key[0] if key else None, limit=limit)
    # The residents are disclosed too: their disclosure reports must show who read their enrolments.
    residents = dict.fromkeys(orjson.loads(d)["resident_id"] for d in found.docs)
    await access.disclose("enrollment", [*found.ids, *residents])
    shown = access.project_page(found.docs, regions=found.regions)
    body = page_body(shown, next_cursor=encode_cursor([found.last]) if found.last else None)
    return Response(body, media_type="application/json")


@router.get(
    "",
    **operation(
        "List enrolments",
        *PAGE_PROBLEMS,
        RateLimited,
        model=Page[Enrollment],
        responses=links(
            200,
            GetEnrollment=first_item(
                "/v1/enrollments/{enrollment_id}", param="enrollment_id", what="enrolment"
            ),
            GetResident=link(
                "get",
                "/v1/residents/{resident_id}",
                {"resident_id": "$response.body#/items/0/resident_id"},
                "The resident of the first enrolment.",
            ),
        ),
    ),
)
async def list_enrollments(
    db: ReadDep,
    access: EnrollmentsAccess,
    region: Annotated[
        RegionCode | None,
        field_query(
            "residents.region_code",
            description="Only enrolments of residents registered in this region's subtree (a township: "
            "its villages). Needs the residents' `region_code` in clear for the same purpose.",
        ),
    ] = None,
    kind: Annotated[
        EnrollmentKind | None, field_query("kind", description="Only this programme. Needs `kind`.")
    ] = None,
    status: Annotated[
        EnrollmentStatus | None,
        field_query("status", description="Only enrolments in this status. Needs `status`."),
    ] = None,
    updated_since: Annotated[
        Rfc3339 | None,
        field_query("updated_at", description="Only enrolments changed at or after this time (RFC 3339)."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List benefit and insurance enrolments of residents the caller may read; follow `next`."""
    flt = repository.EnrollmentFilter(
        region=region,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        updated_since=updated_since,
    )
    return await page(db, access, flt, cursor=cursor, limit=limit)


@router.get(
    "/{enrollment_id:path}", **operation("Get an enrolment", *ITEM_PROBLEMS, RateLimited, model=Enrollment)
)
async def get_enrollment(
    db: ReadDep,
    access: EnrollmentsAccess,
    enrollment_id: Annotated[str, Path(min_length=3, max_length=160, description="`{source}:{record key}`.")],
) -> Response:
    """Return one enrolment (outside the caller's rows answers like a missing one)."""
    flt = repository.EnrollmentFilter(
        enrollment_id=enrollment_id, policy_scopes=(access.scopes, service.resident_scopes(access))
    )
    found = await repository.list_docs(db, flt, after=None, limit=1)
    shown = access.project(found.docs[0], region=found.regions[0]) if found.docs else None
    if shown is None:
        raise NotFound(f"no enrolment {enrollment_id}")
    await access.disclose("enrollment", [enrollment_id, orjson.loads(found.docs[0])["resident_id"]])
    return Response(shown, media_type="application/json")
