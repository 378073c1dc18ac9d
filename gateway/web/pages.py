"""Server-rendered pages of the HTML consoles: one template environment shape, one set of headers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from schemas.time import CHINA

SHARED = Path(__file__).parent / "templates"  # the sign-in form both consoles include
HEADERS = {
    # Only this origin's stylesheet; charts are inline SVG markup; no script at all.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def beijing(value: Any, *, seconds: bool = True) -> str:
    """Render an RFC 3339 time (or datetime) in Beijing time, to the second: 2026-11-01 08:00:00."""
    if not value:
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def now_beijing() -> str:
    """Return the current Beijing time to the minute (page headers and print views)."""
    return beijing(dt.datetime.now(dt.UTC), seconds=False)


class Pages:
    """A site's templates (its own folder first, then the shared one) rendered with the common headers."""

    def __init__(self, folder: Path, **functions: Callable[..., Any] | dict[str, Any]) -> None:
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(SHARED)]),
            autoescape=select_autoescape(["html"]),
        )
        self.env.filters["beijing"] = beijing
        self.env.globals.update(beijing=beijing, now_beijing=now_beijing, **functions)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """Render a template as an HTML answer with the consoles' security headers."""
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)


def add_stylesheet(router: APIRouter, *, path: str, file: Path) -> None:
    """Serve one stylesheet (read once) at `path` under the router's prefix."""
    css = file.read_bytes()

    async def stylesheet() -> Response:
        """Serve the site's stylesheet."""
        return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    router.add_api_route(path, stylesheet, methods=["GET"])
