"""Swagger UI and ReDoc served entirely by the gateway (fastapi-offline's assets; no CDN)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
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


def _page(request: Request, viewer: str, **urls: str) -> dict[str, Any]:
    """Return what a docs page names: the OpenAPI document, its title and `urls`, all under the root path."""
    root = request.scope.get("root_path", "")
    return {
        "openapi_url": f"{root}{request.app.openapi_url}",
        "title": f"{request.app.title} - {viewer}",
        **{name: f"{root}{url}" for name, url in urls.items()},
    }


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Serve the ReDoc page."""
    page = _page(request, "ReDoc", redoc_js_url=REDOC_JS_URL, redoc_favicon_url=f"{STATIC_URL}/favicon.png")
    return get_redoc_html(**page, with_google_fonts=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Serve the Swagger UI page."""
    return get_swagger_ui_html(
        **_page(
            request,
            "Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon.png",
        )
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    """Serve Swagger UI's OAuth 2.0 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


def install_docs(app: FastAPI) -> None:
    """Mount the documentation pages and their static assets."""
    app.mount(STATIC_URL, StaticFiles(directory=_STATIC.as_posix()), name="static-offline-docs")
    app.include_router(router)
