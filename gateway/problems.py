"""Human-readable pages for the problem type URIs, so every `type` dereferences to documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

import gateway.federation.errors  # noqa: F401  (its error classes register on import)
from gateway.errors import NotFound, problem_type_of
from gateway.problem_json import wants_chinese

router = APIRouter(include_in_schema=False)


@router.get("/problems/{slug}")
async def problem_type(slug: str, accept_language: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Describe one problem type (every GatewayError subclass is registered by being defined)."""
    cls = problem_type_of(slug)
    if cls is None:
        raise NotFound(f"no problem type {slug}")
    chinese = wants_chinese(accept_language)
    return {
        "type": cls.type_uri(),
        "title": cls.title_zh if chinese else cls.title,
        "status": cls.status,
        "description": cls.detail_zh if chinese else cls.__doc__,
        "example": cls.example_body(),
    }
