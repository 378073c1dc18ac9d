"""Routers: path convertors (an id never swallows a custom method's `:verb`, AIP-136) and `api_router`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.convertors import Convertor, register_url_convertor

from gateway.errors import BadRequest, Conflict, GatewayError, InvalidCursor, NotFound, ValidationFailed
from gateway.openapi import DocumentedRoute, problem_responses


class SegmentConvertor(Convertor[str]):
    """One path segment without a colon: `/clients/{id:segment}` leaves `/clients/x:disable` alone."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        """Return the segment as it is."""
        return value

    def to_string(self, value: str) -> str:
        """Return the segment as it is."""
        return value


# Registered once, before any router compiles a path that names it; Starlette keeps a module-level table.
register_url_convertor("segment", SegmentConvertor())


def api_router(*, audited: bool = True, dependencies: Sequence[Any] = (), **kwargs: Any) -> APIRouter:
    """Return a router whose operations document their layers; audited ones declare the audit headers.

    Audited routers are those under the audit middleware's prefixes (gateway/audit/middleware.py): the
    accountability headers are their router-level dependency, which documents the headers, the
    problems the middleware answers and the X-Audit-Seq of every response.
    """
    from gateway.audit.headers import AuditHeadersDep  # the audit package imports this module's users

    layers = [AuditHeadersDep] if audited else []
    return APIRouter(route_class=DocumentedRoute, dependencies=[*layers, *dependencies], **kwargs)


# The problem types most operations share, in the order their documents list them.
PAGE_PROBLEMS: tuple[type[GatewayError], ...] = (InvalidCursor, BadRequest, ValidationFailed)  # a paged list
ITEM_PROBLEMS: tuple[type[GatewayError], ...] = (NotFound, ValidationFailed)  # one resource by its id
ACTION_PROBLEMS: tuple[type[GatewayError], ...] = (NotFound, Conflict, ValidationFailed)  # a state change


def operation(
    summary: str,
    *problems: type[GatewayError],
    model: Any = None,
    guard: Sequence[Any] | None = None,
    responses: Mapping[int | str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return a route's declaration: `@router.get(path, **operation(summary, *problems, model=...))`.

    One place says what an operation documents: its summary, its response model, its guards (the scope
    dependencies) and its problem types first, then any further responses (links, other statuses).
    """
    declared: dict[str, Any] = {"summary": summary, **extra}
    if model is not None:
        declared["response_model"] = model
    if guard is not None:
        declared["dependencies"] = guard
    if problems or responses:
        declared["responses"] = {**problem_responses(*problems), **(responses or {})}
    return declared
