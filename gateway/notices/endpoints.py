"""Notice routes (公告)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep
from gateway.errors import BadRequest, InvalidCursor, NotFound
from gateway.notices import repository
from gateway.pagination import decode_cursor, encode_cursor, page_body
from gateway.policy.deps import Access, NoticesAccess
from gateway.policy.errors import FilterNotAllowed
from gateway.policy.filters import field_query
from gateway.routing import ITEM_PROBLEMS, api_router, operation
from schemas.codes import Audience, NoticeCategory
from schemas.models import Notice, Page, RegionCode
from schemas.regions import ancestors_or_self

router = api_router(prefix="/v1/notices", tags=["notices"], dependencies=[require_scope(Scope.NOTICES_READ)])


@router.get(
    "", **operation("List active notices", InvalidCursor, BadRequest, *ITEM_PROBLEMS, model=Page[Notice])
)
async def list_notices(
    db: ReadDep,
    access: NoticesAccess,
    region: Annotated[
        RegionCode | None,
        field_query(
            "regions", description="Notices addressed to this region, to a region above it, or inside it."
        ),
    ] = None,
    category: Annotated[
        NoticeCategory | None, field_query("category", description="Only this category.")
    ] = None,
    audience: Annotated[
        Audience | None, field_query("audiences", description="Notices for this audience (and for everyone).")
    ] = None,
    for_resident: Annotated[
        str | None,
        field_query(
            "@residents",
            min_length=1,
            max_length=16,
            pattern=r"^[A-Za-z0-9]+$",
            description="Notices a village agent can read out to this resident: addressed to the resident's "
            "region or a region above it, for everyone or for an audience the resident belongs to (elderly: "
            "60+ or tagged; migrant workers: tagged; parents: an adult whose household has a child under "
            "18). A read of the resident: needs the residents grant for the X-Purpose, the resident in the "
            "caller's rows, and `region_code`; audiences use only fields the caller is shown. "
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
        flt = await _for_resident(db, access, for_resident, category=category)
    docs, last = await repository.list_docs(db, flt, after=after, limit=limit)
    return Response(
        page_body(docs, next_cursor=encode_cursor(list(last)) if last else None),
        media_type="application/json",
    )


async def _for_resident(
    db: ReadDep, access: Access, resident_id: str, *, category: NoticeCategory | None
) -> repository.NoticeFilter:
    """Return the filter of one resident's notices: a read of that resident under the residents policy."""
    residents = await access.read_of("residents")
    target = await repository.for_resident(db, resident_id, view=residents.project_dict)
    if target is None:  # missing, or outside the caller's rows: the same answer
        raise NotFound(f"no resident {resident_id}")
    if target.region is None:
        raise FilterNotAllowed(
            "for_resident addresses notices by the resident's region_code, which this client is not shown",
            parameter="for_resident",
            field="region_code",
        )
    residents.record.fields_disclosed = list(target.used)
    residents.record.fields_masked = []
    await residents.disclose("resident", [resident_id])
    return repository.NoticeFilter(
        category=category, addressed_to=tuple(ancestors_or_self(target.region)), audiences=target.audiences
    )
