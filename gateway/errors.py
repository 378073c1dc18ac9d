"""One error base class, status and problem type on the class; one handler writes RFC 9457 problem+json."""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"


_REGISTRY: dict[str, type[GatewayError]] = {}


class GatewayError(Exception):
    """Base of every error a client may see; subclasses fix status, type slug and title."""

    status: int = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    headers: dict[str, str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Enter every error class in the problem-type registry by defining it (gateway/problems.py)."""
        super().__init_subclass__(**kwargs)
        if "slug" not in cls.__dict__:
            return  # keeps its parent's problem type
        if cls.slug in _REGISTRY:
            raise TypeError(f"problem type {cls.slug} is defined twice")
        _REGISTRY[cls.slug] = cls

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra

    @classmethod
    def type_uri(cls) -> str:
        """Return the stable problem type URI of this class."""
        return PROBLEM_BASE + cls.slug


class BadRequest(GatewayError):
    """The request is malformed in a way schema validation cannot express."""

    status, slug, title = 400, "bad-request", "Bad request"


class InvalidCursor(BadRequest):
    """A pagination cursor was not one this gateway issued."""

    slug, title = "invalid-cursor", "Invalid pagination cursor"


class Unauthorized(GatewayError):
    """No valid credentials."""

    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(GatewayError):
    """Credentials are valid but do not allow this."""

    status, slug, title = 403, "forbidden", "Forbidden"


class InvalidToken(Unauthorized):
    """The bearer token is missing, malformed, badly signed, expired or revoked (RFC 6750 §3.1)."""

    slug, title = "invalid-token", "Invalid bearer token"


class InsufficientScope(Forbidden):
    """The bearer token is valid but lacks a scope the operation needs (RFC 6750 §3.1)."""

    slug, title = "insufficient-scope", "Insufficient scope"


class NotFound(GatewayError):
    """The resource does not exist, or the caller may not know it exists."""

    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(GatewayError):
    """The route exists but not with this method."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(GatewayError):
    """The request conflicts with the current state."""

    status, slug, title = 409, "conflict", "Conflict"


class ValidationFailed(GatewayError):
    """The request does not match the operation's schema."""

    status, slug, title = 422, "validation-failed", "Request validation failed"


class RateLimited(GatewayError):
    """Too many requests."""

    status, slug, title = 429, "rate-limited", "Too many requests"


class Unavailable(GatewayError):
    """A dependency (the store, the audit log) cannot serve now."""

    status, slug, title = 503, "unavailable", "Service unavailable"


class BadGateway(GatewayError):
    """An upstream gateway answered with something this gateway cannot pass on."""

    status, slug, title = 502, "bad-gateway", "Bad gateway"


class UpstreamTimeout(GatewayError):
    """An upstream gateway did not answer in time."""

    status, slug, title = 504, "upstream-timeout", "Upstream timeout"


RETRY_AFTER_SECONDS = 2  # what a client refused for an outage is told: about one reconnect back-off


class StoreUnavailable(Unavailable):
    """The store cannot be reached, timed out or refused the write; retry after the given seconds."""

    slug, title = "store-unavailable", "Store unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class NotReady(Unavailable):
    """This replica should get no traffic now: the store, the audit log, the policy or the keys."""

    slug, title = "not-ready", "Not ready"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


_REGISTRY[GatewayError.slug] = GatewayError


def problem_types() -> tuple[type[GatewayError], ...]:
    """Return every defined error class once (a subclass that keeps its parent's slug is its parent's)."""
    return tuple(_REGISTRY.values())


def problem_type_of(slug: str) -> type[GatewayError] | None:
    """Return the error class whose problem type is `slug`, or None."""
    return _REGISTRY.get(slug)


def problem_response(error: GatewayError, *, request: Request | None = None) -> Response:
    """Render a GatewayError as RFC 9457 problem+json."""
    body: dict[str, Any] = {
        "type": error.type_uri(),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        trace_id = request.scope.get("state", {}).get("trace_id")
        if trace_id:
            body["trace_id"] = trace_id
    body.update(error.extra)
    return Response(
        orjson.dumps(body), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers or None
    )


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
