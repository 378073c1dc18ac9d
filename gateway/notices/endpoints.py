"""Notice routes (公告)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from gateway.auth.dependencies import PrincipalDep, require_scope
from gateway.auth.scopes import Scope
from gateway.context import RecordDep
from gateway.deps import CursorQuery, LimitQuery, ReadDep
from gateway.errors import BadRequest, InvalidCursor, NotFound
from gateway.notices import repository
from gateway.openapi import problem_responses
from gateway.pagination import decode_cursor, encode_cursor, page_body
from gateway.policy.deps import NoticesAccess
from gateway.policy.errors import ConsentRequired
from schemas.codes import Audience, NoticeCategory
from schemas.models import Notice, Page, RegionCode
from schemas.regions import ancestors_or_self, in_subtree

router = APIRouter(prefix="/v1/notices", tags=["notices"], dependencies=[require_scope(Scope.NOTICES_READ)])


@router.get(
    "", summary="List active notices", response_model=Page[Notice], responses=problem_responses(400, 404, 422)
)
async def list_notices(
    db: ReadDep,
    access: NoticesAccess,
    principal: PrincipalDep,
    record: RecordDep,
    region: Annotated[
        RegionCode | None,
        Query(description="Notices addressed to this region, to a region above it, or inside it."),
    ] = None,
    category: Annotated[NoticeCategory | None, Query(description="Only this category.")] = None,
    audience: Annotated[
        Audience | None, Query(description="Notices for this audience (and for everyone).")
    ] = None,
    for_resident: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=16,
            pattern=r"^[A-Za-z0-9]+$",
            description="Notices a village agent can read out to this resident: addressed to the resident's "
            "region or a region above it, for everyone or for an audience the resident belongs to (elderly: "
            "60+ or tagged; migrant workers: tagged; parents: an adult whose household has a child under "
            "18). "
            "Not combinable with `region` or `audience`.",
        ),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List notices that are published and not expired, newest first."""
    key = decode_cursor(cursor, arity=2)
    after = (str(key[0]), str(key[1])) if key else None
    if after is not None:
        try:
            dt.datetime.fromisoformat(after[0])
        except ValueError as exc:
            raise InvalidCursor("the cursor is not one this gateway issued") from exc
    flt = repository.NoticeFilter(region=region, category=category, audience=audience)
    if for_resident is not None:
        if region is not None or audience is not None:
            raise BadRequest("`for_resident` decides region and audience: pass neither with it")
        if access.acting_for is None and access.consent_bound:
            # A village agent learns about a resident only acting for them, with their consent (PIPL Art. 14).
            raise ConsentRequired(
                "notices for a resident need the resident's consent: send X-On-Behalf-Of and X-Consent-Id",
                missing="consent-required",
                resource="notices",
            )
        target = (
            await repository.for_resident(db, for_resident)
            if access.acting_for in (None, for_resident)
            else None  # acting for another resident: this one answers like an unknown one
        )
        mine = principal.region_code
        # Outside the caller's region answers exactly like an unknown resident.
        if target is None or (mine is not None and not (target.region and in_subtree(target.region, mine))):
            raise NotFound(f"no resident {for_resident}")
        record.disclose("resident", [for_resident])
        addressed = tuple(ancestors_or_self(target.region)) if target.region else ()
        flt = repository.NoticeFilter(category=category, addressed_to=addressed, audiences=target.audiences)
    docs, last = await repository.list_docs(db, flt, after=after, limit=limit)
    return Response(
        page_body(docs, next_cursor=encode_cursor(list(last)) if last else None),
        media_type="application/json",
    )
