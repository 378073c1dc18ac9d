"""One error base class, status and problem type on the class; one handler writes RFC 9457 problem+json.

Each class carries what documents it too: its example occurrence (OpenAPI), the response headers it
sets, and its title and a detail in Chinese (sent when the client asks `Accept-Language: zh`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"
SAMPLE_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


_REGISTRY: dict[str, type[GatewayError]] = {}


def occurrence(detail: str, **members: Any) -> Mapping[str, Any]:
    """Return a problem type's example occurrence: its detail and extension members (read-only)."""
    return MappingProxyType({"detail": detail, **members})


class GatewayError(Exception):
    """Base of every error a client may see; subclasses fix status, type slug and title."""

    status: int = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    title_zh: ClassVar[str] = "内部错误"
    detail_zh: ClassVar[str] = "网关内部出错，已记入日志。"
    example: ClassVar[Mapping[str, Any]] = MappingProxyType(
        {"detail": "an internal error occurred; it has been logged"}
    )
    # Response headers this problem type sets: name -> (description, required), for OpenAPI.
    documented_headers: ClassVar[Mapping[str, tuple[str, bool]]] = MappingProxyType({})
    headers: dict[str, str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Enter every error class in the problem-type registry by defining it (gateway/problems.py)."""
        super().__init_subclass__(**kwargs)
        if "slug" not in cls.__dict__:
            return  # keeps its parent's problem type
        if cls.slug in _REGISTRY:
            raise TypeError(f"problem type {cls.slug} is defined twice")
        missing = [name for name in ("title_zh", "detail_zh", "example") if name not in cls.__dict__]
        if missing:
            raise TypeError(f"problem type {cls.slug} must declare {', '.join(missing)}")
        _REGISTRY[cls.slug] = cls

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        detail_zh: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.occurrence_zh = detail_zh  # this occurrence in Chinese, when the raiser can say it
        self.headers = headers or {}
        self.extra = extra

    @classmethod
    def type_uri(cls) -> str:
        """Return the stable problem type URI of this class."""
        return PROBLEM_BASE + cls.slug

    @classmethod
    def example_body(cls) -> dict[str, Any]:
        """Return this problem type's example occurrence as a client receives it."""
        return {
            "type": cls.type_uri(),
            "title": cls.title,
            "status": cls.status,
            "instance": "/v1/residents",
            "trace_id": SAMPLE_TRACE_ID,
            **cls.example,
        }


_AUTH_CHALLENGE = MappingProxyType({"WWW-Authenticate": ("Bearer challenge (RFC 6750 §3).", False)})
RETRY_AFTER_HEADER = MappingProxyType({"Retry-After": ("Seconds to wait before retrying.", True)})


class BadRequest(GatewayError):
    """The request is malformed in a way schema validation cannot express."""

    status, slug, title = 400, "bad-request", "Bad request"
    title_zh, detail_zh = "请求有误", "请求格式有误，或参数不能同时使用。"
    example = occurrence("`for_resident` decides region and audience: pass neither with it")


class InvalidCursor(BadRequest):
    """A pagination cursor was not one this gateway issued."""

    slug, title = "invalid-cursor", "Invalid pagination cursor"
    title_zh, detail_zh = "分页游标无效", "该分页游标不是本网关签发的：请原样传回上一页的 next。"
    example = occurrence("the cursor is not one this gateway issued")


class Unauthorized(GatewayError):
    """No valid credentials."""

    status, slug, title = 401, "unauthorized", "Authentication required"
    title_zh, detail_zh = "需要身份认证", "缺少有效的身份凭证。"
    example = occurrence("authentication required")
    documented_headers = _AUTH_CHALLENGE


class Forbidden(GatewayError):
    """Credentials are valid but do not allow this."""

    status, slug, title = 403, "forbidden", "Forbidden"
    title_zh, detail_zh = "禁止访问", "凭证有效，但不允许此操作。"
    example = occurrence("this client may not do this")
    documented_headers = _AUTH_CHALLENGE


class InvalidToken(Unauthorized):
    """The bearer token is missing, malformed, badly signed, expired or revoked (RFC 6750 §3.1)."""

    slug, title = "invalid-token", "Invalid bearer token"
    title_zh, detail_zh = "访问令牌无效", "访问令牌缺失、格式错误、签名无效、已过期或已吊销。"
    example = occurrence("a bearer token is required")


class InsufficientScope(Forbidden):
    """The bearer token is valid but lacks a scope the operation needs (RFC 6750 §3.1)."""

    slug, title = "insufficient-scope", "Insufficient scope"
    title_zh, detail_zh = "权限范围不足", "访问令牌有效，但缺少此操作所需的权限范围（scope）。"
    example = occurrence("this operation needs scope residents:read")


class NotFound(GatewayError):
    """The resource does not exist, or the caller may not know it exists."""

    status, slug, title = 404, "not-found", "Not found"
    title_zh, detail_zh = "未找到", "资源不存在，或不在调用方可见范围内（两者无法区分）。"
    example = occurrence("no resident R7K3Q9M2X4T8")


class MethodNotAllowed(GatewayError):
    """The route exists but not with this method."""

    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    title_zh, detail_zh = "不支持该请求方法", "该路径不支持此 HTTP 方法，可用方法见 Allow 响应头。"
    example = occurrence("Method Not Allowed")


class Conflict(GatewayError):
    """The request conflicts with the current state."""

    status, slug, title = 409, "conflict", "Conflict"
    title_zh, detail_zh = "状态冲突", "请求与资源的当前状态冲突。"
    example = occurrence("sharing request 7 is no longer pending")


class ValidationFailed(GatewayError):
    """The request does not match the operation's schema."""

    status, slug, title = 422, "validation-failed", "Request validation failed"
    title_zh, detail_zh = "请求校验失败", "请求不符合接口的数据格式要求，详见 errors。"
    example = occurrence(
        "query.limit: Input should be less than or equal to 500",
        errors=[
            {
                "loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 500",
                "type": "less_than_equal",
            }
        ],
    )


class RateLimited(GatewayError):
    """Too many requests."""

    status, slug, title = 429, "rate-limited", "Too many requests"
    title_zh, detail_zh = "请求过于频繁", "已达到调用限额，请按 Retry-After 所示秒数等待后重试。"
    example = occurrence("limit of 1200 per 60 s reached for requests")
    documented_headers = MappingProxyType(
        {
            **RETRY_AFTER_HEADER,
            "RateLimit-Limit": ("The limit that was reached.", False),
            "RateLimit-Remaining": ("Units left in the window (0).", False),
            "RateLimit-Reset": ("Seconds until the window resets.", False),
            "RateLimit-Policy": ("The limit and its window, e.g. `1200;w=60`.", False),
        }
    )


class Unavailable(GatewayError):
    """A dependency (the store, the audit log) cannot serve now."""

    status, slug, title = 503, "unavailable", "Service unavailable"
    title_zh, detail_zh = "服务暂不可用", "所依赖的服务暂时无法响应，请稍后重试（本次请求未被处理）。"
    example = occurrence("the service cannot answer now; retry later")


class BadGateway(GatewayError):
    """An upstream gateway answered with something this gateway cannot pass on."""

    status, slug, title = 502, "bad-gateway", "Bad gateway"
    title_zh, detail_zh = "上游网关应答无效", "上游网关的应答无法转交。"
    example = occurrence("county-b answered 400 without a JSON object")


class UpstreamTimeout(GatewayError):
    """An upstream gateway did not answer in time."""

    status, slug, title = 504, "upstream-timeout", "Upstream timeout"
    title_zh, detail_zh = "上游网关超时", "上游网关未在规定时间内应答。"
    example = occurrence("county-b did not answer in time")


RETRY_AFTER_SECONDS = 2  # what a client refused for an outage is told: about one reconnect back-off


class RetryLater(Unavailable):
    """An outage the client is told to retry after Retry-After seconds (each subclass names its type)."""

    documented_headers = RETRY_AFTER_HEADER

    def __init__(self, detail: str | None = None, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class StoreUnavailable(RetryLater):
    """The store cannot be reached, timed out or refused the write; retry after the given seconds."""

    slug, title = "store-unavailable", "Store unavailable"
    title_zh, detail_zh = "数据库暂不可用", "数据库暂时无法访问或写入失败，请按 Retry-After 稍后重试。"
    example = occurrence("the store cannot serve now: OperationalError")


class NotReady(RetryLater):
    """This replica should get no traffic now: the store, the audit log, the policy or the keys."""

    slug, title = "not-ready", "Not ready"
    title_zh, detail_zh = "尚未就绪", "本实例暂不应接收流量：数据库、审计日志、策略或密钥尚未就绪。"
    example = occurrence("the store is not migrated")


_REGISTRY[GatewayError.slug] = GatewayError

_T = TypeVar("_T")


def or_not_found(value: _T | None, detail: str) -> _T:
    """Return `value`, or raise NotFound with `detail` when there is none (missing and hidden alike)."""
    if value is None:
        raise NotFound(detail)
    return value


def problem_types() -> tuple[type[GatewayError], ...]:
    """Return every defined error class once (a subclass that keeps its parent's slug is its parent's)."""
    return tuple(_REGISTRY.values())


def problem_type_of(slug: str) -> type[GatewayError] | None:
    """Return the error class whose problem type is `slug`, or None."""
    return _REGISTRY.get(slug)


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
