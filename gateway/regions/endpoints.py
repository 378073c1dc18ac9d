"""Region routes (行政区划)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep
from gateway.errors import NotFound
from gateway.openapi import first_item, link, links
from gateway.pagination import decode_cursor, page_response
from gateway.policy.deps import RegionsAccess
from gateway.policy.filters import field_query
from gateway.regions import repository
from gateway.routing import ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.codes import RegionLevel
from schemas.models import Page, Region, RegionCode

# Reference data: any valid token, no scope (the scope list is the contract; docs/keys.md).
router = api_router(prefix="/v1/regions", tags=["regions"], dependencies=[require_scope()])


@router.get(
    "",
    **operation(
        "List regions",
        *PAGE_PROBLEMS,
        model=Page[Region],
        responses=links(
            200,
            GetRegion=first_item("/v1/regions/{code}", param="code", what="region", field="code"),
        ),
    ),
)
async def list_regions(
    db: ReadDep,
    _access: RegionsAccess,
    within: Annotated[
        RegionCode | None, field_query("code", description="Only this region's subtree (itself included).")
    ] = None,
    level: Annotated[
        RegionLevel | None, field_query("level", description="Only regions of this level.")
    ] = None,
    limit: LimitQuery = 500,
    cursor: CursorQuery = None,
) -> Response:
    """List regions of the gazetteer ordered by code."""
    key = decode_cursor(cursor, arity=1)
    docs, last = await repository.list_docs(
        db, within=within, level=level.value if level else None, after=key[0] if key else None, limit=limit
    )
    return page_response(docs, last=last)


@router.get(
    "/{code}",
    **operation(
        "Get a region",
        *ITEM_PROBLEMS,
        model=Region,
        responses=links(
            200,
            ListResidentsInRegion=link(
                "get",
                "/v1/residents",
                {"region": "$response.body#/code"},
                "Residents of this region's subtree.",
            ),
            ListSubregions=link(
                "get", "/v1/regions", {"within": "$response.body#/code"}, "This region's subtree."
            ),
        ),
    ),
)
async def get_region(
    db: ReadDep, _access: RegionsAccess, code: Annotated[str, Path(pattern=r"^\d{12}$")]
) -> Response:
    """Return one region by its 12-digit code."""
    doc = await repository.get_doc(db, code)
    if doc is None:
        raise NotFound(f"no region {code}")
    return Response(doc, media_type="application/json")
