"""Human-readable pages for the problem type URIs, so every `type` dereferences to documentation."""

from __future__ import annotations

from fastapi import APIRouter

import gateway.federation.errors  # noqa: F401  (its error classes register on import)
from gateway.errors import NotFound, problem_type_of

router = APIRouter(include_in_schema=False)


@router.get("/problems/{slug}")
async def problem_type(slug: str) -> dict[str, object]:
    """Describe one problem type (every GatewayError subclass is registered by being defined)."""
    cls = problem_type_of(slug)
    if cls is None:
        raise NotFound(f"no problem type {slug}")
    return {"type": cls.type_uri(), "title": cls.title, "status": cls.status, "description": cls.__doc__}
