"""Human-readable pages for the problem type URIs, so `type` dereferences to documentation."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.errors import PROBLEM_TYPES, NotFound
from gateway.federation.errors import FEDERATION_PROBLEM_TYPES

router = APIRouter(include_in_schema=False)

_BY_SLUG = {cls.slug: cls for cls in (*PROBLEM_TYPES, *FEDERATION_PROBLEM_TYPES)}


@router.get("/problems/{slug}")
async def problem_type(slug: str) -> dict[str, object]:
    """Describe one problem type."""
    cls = _BY_SLUG.get(slug)
    if cls is None:
        raise NotFound(f"no problem type {slug}")
    return {"type": cls.type_uri(), "title": cls.title, "status": cls.status, "description": cls.__doc__}
