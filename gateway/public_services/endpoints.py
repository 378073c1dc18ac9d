"""Public service item routes (服务事项)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from starlette.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.scopes import Scope
from gateway.deps import CursorQuery, LimitQuery, ReadDep
from gateway.errors import NotFound
from gateway.openapi import first_item, links
from gateway.pagination import decode_cursor, page_response
from gateway.policy.deps import ServicesAccess
from gateway.policy.filters import field_query
from gateway.public_services import repository
from gateway.routing import ITEM_PROBLEMS, PAGE_PROBLEMS, api_router, operation
from schemas.codes import Department
from schemas.models import Page, Service

router = api_router(
    prefix="/v1/services", tags=["services"], dependencies=[require_scope(Scope.SERVICES_READ)]
)


@router.get(
    "",
    **operation(
        "List public service items",
        *PAGE_PROBLEMS,
        model=Page[Service],
        responses=links(
            200,
            GetService=first_item("/v1/services/{service_id}", param="service_id", what="service item"),
        ),
    ),
)
async def list_services(
    db: ReadDep,
    _access: ServicesAccess,
    department: Annotated[
        Department | None, field_query("department", description="Only this department's items.")
    ] = None,
    active: Annotated[
        bool | None, field_query("active", description="Only offered (true) or withdrawn (false) items.")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """List service items of every department, with their channels (online, counter, agent)."""
    key = decode_cursor(cursor, arity=1)
    docs, last = await repository.list_docs(
        db,
        department=department.value if department else None,
        active=active,
        after=key[0] if key else None,
        limit=limit,
    )
    return page_response(docs, last=last)


@router.get("/{service_id}", **operation("Get a service item", *ITEM_PROBLEMS, model=Service))
async def get_service(
    db: ReadDep,
    _access: ServicesAccess,
    service_id: Annotated[str, Path(min_length=1, max_length=96, pattern=r"^[\w:.\-]+$")],
) -> Response:
    """Return one service item."""
    doc = await repository.get_doc(db, service_id)
    if doc is None:
        raise NotFound(f"no service item {service_id}")
    return Response(doc, media_type="application/json")
