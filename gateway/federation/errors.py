"""Federation problem types: unknown member, our policy refusing, the member refusing or being down."""

from __future__ import annotations

from gateway.errors import (
    RETRY_AFTER_HEADER,
    BadGateway,
    Forbidden,
    GatewayError,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UpstreamTimeout,
    occurrence,
)


class UnknownMember(
    NotFound,
    slug="unknown-member",
    title="Unknown federation member",
    title_zh="未知联邦成员",
    detail_zh="联邦文件中没有该成员（或未启用联邦）。",
    example=occurrence("no federation member county-x"),
):
    """The federation document lists no member of that name (or federation is off)."""


class FederationNotAllowed(
    Forbidden,
    slug="federation-not-allowed",
    title="Not allowed to ask this member",
    title_zh="不允许询问该成员",
    detail_zh="本方策略不允许该客户端为此目的询问该成员；未向成员发出请求。",
    example=occurrence("no federation grant lets civil-affairs ask county-b for elderly-care"),
):
    """Our own policy does not let this client ask that member for this purpose; the member was not asked."""


class MemberRefused(
    Forbidden,
    slug="member-refused",
    title="The member refused",
    title_zh="成员拒绝",
    detail_zh="联邦成员应答但拒绝了请求（其策略或本方凭证）。",
    example=occurrence("county-b refused: grant-missing"),
):
    """The member answered but refused: its policy, or our credentials (its problem is passed on)."""


class MemberNotFound(
    NotFound,
    slug="member-not-found",
    title="Not found at the member",
    title_zh="成员处未找到",
    detail_zh="联邦成员没有该记录，或其策略不允许本方看到（两者无法区分）。",
    example=occurrence("county-b found no such resident"),
):
    """The member holds no such record, or none its policy lets us see (the two are indistinguishable)."""


class MemberRateLimited(
    RateLimited,
    slug="member-rate-limited",
    title="Member rate limit reached",
    title_zh="成员调用限额已满",
    detail_zh="对该成员的调用限额已用完，请按 Retry-After 等待。",
    example=occurrence("calls to county-b are used up for now"),
):
    """Our calls to the member, or the member's limits for us, are used up; wait Retry-After."""


class MemberUnavailable(
    Unavailable,
    slug="member-unavailable",
    title="Member unavailable",
    title_zh="成员暂不可用",
    detail_zh="联邦成员无法连接、出错或熔断中，请按 Retry-After 稍后重试。",
    example=occurrence("county-b is unavailable (circuit open)"),
    documented_headers=RETRY_AFTER_HEADER,
):
    """The member cannot be reached, failed, or its circuit is open; retry after Retry-After."""


class MemberTimeout(
    UpstreamTimeout,
    slug="member-timeout",
    title="Member timed out",
    title_zh="成员超时",
    detail_zh="联邦成员在每次尝试中都未按时应答。",
    example=occurrence("county-b did not answer in time"),
):
    """The member did not answer within its timeout, on every attempt."""


class MemberBadAnswer(
    BadGateway,
    slug="member-bad-answer",
    title="Unusable answer from the member",
    title_zh="成员应答无法使用",
    detail_zh="联邦成员的应答既不是数据，也不是可转交的问题说明。",
    example=occurrence("county-b answered 400 without a JSON object"),
):
    """The member answered with something that is neither data nor a problem we can pass on."""


class NotAMember(
    Forbidden,
    slug="not-a-member",
    title="Not a federation member",
    title_zh="非联邦成员",
    detail_zh="调用方不是本联邦文件中的成员。",
    example=occurrence("client civil-affairs is not a federation member"),
):
    """The caller of a federation-only route is not a member of our federation document."""


class ClaimsInvalid(
    Unauthorized,
    slug="federation-claims-invalid",
    title="Invalid federation claims",
    title_zh="联邦声明无效",
    detail_zh="X-Federation-Claims 缺失、签名无效（密钥不在固定列表中）、已过期或被重放。",
    example=occurrence("X-Federation-Claims is missing"),
):
    """The X-Federation-Claims header is missing, badly signed (key outside the pins), stale or replayed."""


FEDERATION_PROBLEM_TYPES: tuple[type[GatewayError], ...] = (
    UnknownMember,
    FederationNotAllowed,
    MemberRefused,
    MemberNotFound,
    MemberRateLimited,
    MemberUnavailable,
    MemberTimeout,
    MemberBadAnswer,
    NotAMember,
    ClaimsInvalid,
)
