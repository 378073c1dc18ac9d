"""Routers: path convertors (an id never swallows a custom method's `:verb`, AIP-136) and `api_router`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from starlette.convertors import Convertor, register_url_convertor

from gateway.openapi import DocumentedRoute


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
