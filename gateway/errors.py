"""One error base class, status and problem type on the class (gateway/problem_json.py writes them).

Each class declares its problem type by class keywords: status, slug and title, and what documents it
too: its example occurrence (OpenAPI), the response headers it sets, and its title and a detail in
Chinese (sent when the client asks `Accept-Language: zh`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"
SAMPLE_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


_REGISTRY: dict[str, type[GatewayError]] = {}


def occurrence(detail: str, **members: Any) -> Mapping[str, Any]:
    """Return a problem type's example occurrence: its detail and extension members (read-only)."""
    return MappingProxyType({"detail": detail, **members})


class GatewayError(Exception):
    """Base of every error a client may see; subclasses fix status, type slug and title by class keywords."""

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

    def __init_subclass__(
        cls,
        *,
        slug: str | None = None,
        status: int | None = None,
        title: str | None = None,
        title_zh: str | None = None,
        detail_zh: str | None = None,
        example: Mapping[str, Any] | None = None,
        documented_headers: Mapping[str, tuple[str, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        """Declare a problem type from the class keywords; defining it registers it (gateway/problems.py)."""
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must declare its problem type by class keywords")
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title
        if documented_headers is not None:
            cls.documented_headers = documented_headers
        if slug is None:
            return  # keeps its parent's problem type
        if slug in _REGISTRY:
            raise TypeError(f"problem type {slug} is defined twice")
        if title_zh is None or detail_zh is None or example is None:
            texts = {"title_zh": title_zh, "detail_zh": detail_zh, "example": example}
            missing = ", ".join(name for name, value in texts.items() if value is None)
            raise TypeError(f"problem type {slug} must declare {missing}")
        cls.slug, cls.title_zh, cls.detail_zh, cls.example = slug, title_zh, detail_zh, example
        _REGISTRY[slug] = cls

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


RETRY_AFTER_HEADER = MappingProxyType({"Retry-After": ("Seconds to wait before retrying.", True)})


class BadRequest(
    GatewayError,
    status=400,
    slug="bad-request",
    title="Bad request",
    title_zh="请求有误",
    detail_zh="请求格式有误，或参数不能同时使用。",
    example=occurrence("`for_resident` decides region and audience: pass neither with it"),
):
    """The request is malformed in a way schema validation cannot express."""


class InvalidCursor(
    BadRequest,
    slug="invalid-cursor",
    title="Invalid pagination cursor",
    title_zh="分页游标无效",
    detail_zh="该分页游标不是本网关签发的：请原样传回上一页的 next。",
    example=occurrence("the cursor is not one this gateway issued"),
):
    """A pagination cursor was not one this gateway issued."""


class AuthRefused(
    GatewayError,
    documented_headers=MappingProxyType({"WWW-Authenticate": ("Bearer challenge (RFC 6750 §3).", False)}),
):
    """A refusal that may carry a Bearer challenge in WWW-Authenticate (each subclass names its type)."""


class Unauthorized(
    AuthRefused,
    status=401,
    slug="unauthorized",
    title="Authentication required",
    title_zh="需要身份认证",
    detail_zh="缺少有效的身份凭证。",
    example=occurrence("authentication required"),
):
    """No valid credentials."""


class Forbidden(
    AuthRefused,
    status=403,
    slug="forbidden",
    title="Forbidden",
    title_zh="禁止访问",
    detail_zh="凭证有效，但不允许此操作。",
    example=occurrence("this client may not do this"),
):
    """Credentials are valid but do not allow this."""


class InvalidToken(
    Unauthorized,
    slug="invalid-token",
    title="Invalid bearer token",
    title_zh="访问令牌无效",
    detail_zh="访问令牌缺失、格式错误、签名无效、已过期或已吊销。",
    example=occurrence("a bearer token is required"),
):
    """The bearer token is missing, malformed, badly signed, expired or revoked (RFC 6750 §3.1)."""


class InsufficientScope(
    Forbidden,
    slug="insufficient-scope",
    title="Insufficient scope",
    title_zh="权限范围不足",
    detail_zh="访问令牌有效，但缺少此操作所需的权限范围（scope）。",
    example=occurrence("this operation needs scope residents:read"),
):
    """The bearer token is valid but lacks a scope the operation needs (RFC 6750 §3.1)."""


class NotFound(
    GatewayError,
    status=404,
    slug="not-found",
    title="Not found",
    title_zh="未找到",
    detail_zh="资源不存在，或不在调用方可见范围内（两者无法区分）。",
    example=occurrence("no resident R7K3Q9M2X4T8"),
):
    """The resource does not exist, or the caller may not know it exists."""


class MethodNotAllowed(
    GatewayError,
    status=405,
    slug="method-not-allowed",
    title="Method not allowed",
    title_zh="不支持该请求方法",
    detail_zh="该路径不支持此 HTTP 方法，可用方法见 Allow 响应头。",
    example=occurrence("Method Not Allowed"),
):
    """The route exists but not with this method."""


class Conflict(
    GatewayError,
    status=409,
    slug="conflict",
    title="Conflict",
    title_zh="状态冲突",
    detail_zh="请求与资源的当前状态冲突。",
    example=occurrence("sharing request 7 is no longer pending"),
):
    """The request conflicts with the current state."""


class ValidationFailed(
    GatewayError,
    status=422,
    slug="validation-failed",
    title="Request validation failed",
    title_zh="请求校验失败",
    detail_zh="请求不符合接口的数据格式要求，详见 errors。",
    example=occurrence(
        "query.limit: Input should be less than or equal to 500",
        errors=[
            {
                "loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 500",
                "type": "less_than_equal",
            }
        ],
    ),
):
    """The request does not match the operation's schema."""


class RateLimited(
    GatewayError,
    status=429,
    slug="rate-limited",
    title="Too many requests",
    title_zh="请求过于频繁",
    detail_zh="已达到调用限额，请按 Retry-After 所示秒数等待后重试。",
    example=occurrence("limit of 1200 per 60 s reached for requests"),
    documented_headers=MappingProxyType(
        {
            **RETRY_AFTER_HEADER,
            "RateLimit-Limit": ("The limit that was reached.", False),
            "RateLimit-Remaining": ("Units left in the window (0).", False),
            "RateLimit-Reset": ("Seconds until the window resets.", False),
            "RateLimit-Policy": ("The limit and its window, e.g. `1200;w=60`.", False),
        }
    ),
):
    """Too many requests."""


class Unavailable(
    GatewayError,
    status=503,
    slug="unavailable",
    title="Service unavailable",
    title_zh="服务暂不可用",
    detail_zh="所依赖的服务暂时无法响应，请稍后重试（本次请求未被处理）。",
    example=occurrence("the service cannot answer now; retry later"),
):
    """A dependency (the store, the audit log) cannot serve now."""


class BadGateway(
    GatewayError,
    status=502,
    slug="bad-gateway",
    title="Bad gateway",
    title_zh="上游网关应答无效",
    detail_zh="上游网关的应答无法转交。",
    example=occurrence("county-b answered 400 without a JSON object"),
):
    """An upstream gateway answered with something this gateway cannot pass on."""


class UpstreamTimeout(
    GatewayError,
    status=504,
    slug="upstream-timeout",
    title="Upstream timeout",
    title_zh="上游网关超时",
    detail_zh="上游网关未在规定时间内应答。",
    example=occurrence("county-b did not answer in time"),
):
    """An upstream gateway did not answer in time."""


RETRY_AFTER_SECONDS = 2  # what a client refused for an outage is told: about one reconnect back-off


class RetryLater(Unavailable, documented_headers=RETRY_AFTER_HEADER):
    """An outage the client is told to retry after Retry-After seconds (each subclass names its type)."""

    def __init__(self, detail: str | None = None, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class StoreUnavailable(
    RetryLater,
    slug="store-unavailable",
    title="Store unavailable",
    title_zh="数据库暂不可用",
    detail_zh="数据库暂时无法访问或写入失败，请按 Retry-After 稍后重试。",
    example=occurrence("the store cannot serve now: OperationalError"),
):
    """The store cannot be reached, timed out or refused the write; retry after the given seconds."""


class NotReady(
    RetryLater,
    slug="not-ready",
    title="Not ready",
    title_zh="尚未就绪",
    detail_zh="本实例暂不应接收流量：数据库、审计日志、策略或密钥尚未就绪。",
    example=occurrence("the store is not migrated"),
):
    """This replica should get no traffic now: the store, the audit log, the policy or the keys."""


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
