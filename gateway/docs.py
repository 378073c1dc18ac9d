"""ReDoc served entirely by the gateway: the bundled script's one remote image is pointed home."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from starlette.responses import HTMLResponse, Response

STATIC_URL = "/static-offline-docs"
REDOC_JS_URL = "/docs-assets/redoc.standalone.js"
_STATIC = Path(fastapi_offline.__file__).parent / "static"
# ReDoc's menu footer always loads this logo from the internet; a county intranet has none.
_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _redoc_js() -> bytes:
    return (
        (_STATIC / "redoc.standalone.js")
        .read_bytes()
        .replace(_REMOTE_LOGO, f"{STATIC_URL}/favicon.png".encode())
    )


@router.get(REDOC_JS_URL)
async def redoc_js() -> Response:
    """Serve the ReDoc bundle with no remote reference."""
    return Response(
        _redoc_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Serve the ReDoc page."""
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=request.app.title + " - ReDoc",
        redoc_js_url=f"{root}{REDOC_JS_URL}",
        redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
        with_google_fonts=False,
    )
