"""One handler writes every GatewayError as RFC 9457 problem+json, in the language the client prefers."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from gateway.errors import PROBLEM_JSON, GatewayError, MethodNotAllowed, NotFound, ValidationFailed

log = logging.getLogger(__name__)

_LANGUAGE_RANGE = re.compile(r"^\s*([A-Za-z*][A-Za-z0-9*-]*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def wants_chinese(accept_language: str | None) -> bool:
    """Tell whether an Accept-Language value prefers Chinese to English (RFC 9110 §12.5.4)."""
    best, best_q = "", 0.0
    for part in (accept_language or "").split(",")[:20]:
        match = _LANGUAGE_RANGE.match(part)
        if match is None:
            continue
        tag = match.group(1).lower()
        try:
            q = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if (tag == "zh" or tag.startswith("zh-") or tag == "en" or tag.startswith("en-")) and q > best_q:
            best, best_q = tag, q  # the first of equal weights wins
    return best.startswith("zh")


def _accept_language(scope: Scope | None) -> str | None:
    for name, value in (scope or {}).get("headers") or ():
        if name == b"accept-language":
            return str(value.decode("latin-1"))
    return None


def problem_response(
    error: GatewayError, *, request: Request | None = None, scope: Scope | None = None
) -> Response:
    """Render a GatewayError as RFC 9457 problem+json, in Chinese when the client prefers it."""
    scope = request.scope if request is not None else scope
    chinese = wants_chinese(_accept_language(scope))
    body: dict[str, Any] = {
        "type": error.type_uri(),
        "title": error.title_zh if chinese else error.title,
        "status": error.status,
        "detail": (error.occurrence_zh or error.detail_zh) if chinese else error.detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        trace_id = request.scope.get("state", {}).get("trace_id")
        if trace_id:
            body["trace_id"] = trace_id
    body.update(error.extra)
    headers = {**error.headers, "Content-Language": "zh" if chinese else "en", "Vary": "Accept-Language"}
    return Response(orjson.dumps(body), status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return problem_response(exc, request=request)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    from gateway.auth.dependencies import authenticate_first  # the auth package imports this module

    try:
        await authenticate_first(request)  # an unauthenticated caller learns nothing about the schema
    except GatewayError as denied:
        return problem_response(denied, request=request)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)[:1000]
    return problem_response(ValidationFailed(detail, errors=errors), request=request)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cls: type[GatewayError] = {404: NotFound, 405: MethodNotAllowed}.get(exc.status_code, GatewayError)
    if cls is GatewayError:
        err = GatewayError(str(exc.detail))
        err.status = exc.status_code
    else:
        err = cls("no such route" if exc.status_code == 404 else str(exc.detail))
    err.headers = dict(exc.headers or {})
    if exc.status_code == 405:
        err.headers["Allow"] = allowed_methods(request) or (exc.headers or {}).get("Allow", "")
    return problem_response(err, request=request)


def allowed_methods(request: Request) -> str:
    """Return the Allow value for a path: every documented method of the path (RFC 9110 §15.5.6).

    Starlette answers 405 from the first route whose path matches, so a path served by two routes (GET and
    POST declared apart) would list only one. Path parameters never match a colon: `/{id}:verb` is a
    custom method of its own (AIP-136), not the resource `/{id}` with an odd id.
    """
    table: list[tuple[re.Pattern[str], str]] | None = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for path, item in request.app.openapi().get("paths", {}).items():
            literal = [re.escape(part) for part in _PARAM.split(path)]
            methods = ", ".join(sorted(m.upper() for m in item if m in _HTTP_METHODS))
            table.append((re.compile("^" + "[^/:]+".join(literal) + "$"), methods))
        request.app.state.allow_table = table
    path = request.url.path
    return next((methods for pattern, methods in table if pattern.match(path)), "")


_PARAM = re.compile(r"\{[^}]+\}")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


async def _unhandled(request: Request, exc: Exception) -> Response:
    # Never a stack trace to the client; the log and the trace keep it for operators.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(GatewayError("an internal error occurred; it has been logged"), request=request)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through problem_response."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
