"""Notice routes (公告)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from gateway.deps import CursorQuery, LimitQuery, ReadDep
from gateway.errors import InvalidCursor
from gateway.notices import repository
from gateway.openapi import problem_responses
from gateway.pagination import decode_cursor, encode_cursor, page_body
from schemas.codes import Audience, NoticeCategory
from schemas.models import Notice, Page, RegionCode

router = APIRouter(prefix="/v1/notices", tags=["notices"])


@router.get(
    "", summary="List active notices", response_model=Page[Notice], responses=problem_responses(400, 422)
)
async def list_notices(
    db: ReadDep,
    region: Annotated[
        RegionCode | None,
        Query(description="Notices addressed to this region, to a region above it, or inside it."),
    ] = None,
    category: Annotated[NoticeCategory | None, Query(description="Only this category.")] = None,
    audience: Annotated[
        Audience | None, Query(description="Notices for this audience (and for everyone).")
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
    docs, last = await repository.list_docs(db, flt, after=after, limit=limit)
    return Response(
        page_body(docs, next_cursor=encode_cursor(list(last)) if last else None),
        media_type="application/json",
    )
