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


class UnknownMember(NotFound):
    """The federation document lists no member of that name (or federation is off)."""

    slug, title = "unknown-member", "Unknown federation member"
    title_zh, detail_zh = "未知联邦成员", "联邦文件中没有该成员（或未启用联邦）。"
    example = occurrence("no federation member county-x")


class FederationNotAllowed(Forbidden):
    """Our own policy does not let this client ask that member for this purpose; the member was not asked."""

    slug, title = "federation-not-allowed", "Not allowed to ask this member"
    title_zh, detail_zh = "不允许询问该成员", "本方策略不允许该客户端为此目的询问该成员；未向成员发出请求。"
    example = occurrence("no federation grant lets civil-affairs ask county-b for elderly-care")


class MemberRefused(Forbidden):
    """The member answered but refused: its policy, or our credentials (its problem is passed on)."""

    slug, title = "member-refused", "The member refused"
    title_zh, detail_zh = "成员拒绝", "联邦成员应答但拒绝了请求（其策略或本方凭证）。"
    example = occurrence("county-b refused: grant-missing")


class MemberNotFound(NotFound):
    """The member holds no such record, or none its policy lets us see (the two are indistinguishable)."""

    slug, title = "member-not-found", "Not found at the member"
    title_zh, detail_zh = "成员处未找到", "联邦成员没有该记录，或其策略不允许本方看到（两者无法区分）。"
    example = occurrence("county-b found no such resident")


class MemberRateLimited(RateLimited):
    """Our calls to the member, or the member's limits for us, are used up; wait Retry-After."""

    slug, title = "member-rate-limited", "Member rate limit reached"
    title_zh, detail_zh = "成员调用限额已满", "对该成员的调用限额已用完，请按 Retry-After 等待。"
    example = occurrence("calls to county-b are used up for now")


class MemberUnavailable(Unavailable):
    """The member cannot be reached, failed, or its circuit is open; retry after Retry-After."""

    slug, title = "member-unavailable", "Member unavailable"
    title_zh, detail_zh = "成员暂不可用", "联邦成员无法连接、出错或熔断中，请按 Retry-After 稍后重试。"
    example = occurrence("county-b is unavailable (circuit open)")
    documented_headers = RETRY_AFTER_HEADER


class MemberTimeout(UpstreamTimeout):
    """The member did not answer within its timeout, on every attempt."""

    slug, title = "member-timeout", "Member timed out"
    title_zh, detail_zh = "成员超时", "联邦成员在每次尝试中都未按时应答。"
    example = occurrence("county-b did not answer in time")


class MemberBadAnswer(BadGateway):
    """The member answered with something that is neither data nor a problem we can pass on."""

    slug, title = "member-bad-answer", "Unusable answer from the member"
    title_zh, detail_zh = "成员应答无法使用", "联邦成员的应答既不是数据，也不是可转交的问题说明。"
    example = occurrence("county-b answered 400 without a JSON object")


class NotAMember(Forbidden):
    """The caller of a federation-only route is not a member of our federation document."""

    slug, title = "not-a-member", "Not a federation member"
    title_zh, detail_zh = "非联邦成员", "调用方不是本联邦文件中的成员。"
    example = occurrence("client civil-affairs is not a federation member")


class ClaimsInvalid(Unauthorized):
    """The X-Federation-Claims header is missing, badly signed (key outside the pins), stale or replayed."""

    slug, title = "federation-claims-invalid", "Invalid federation claims"
    title_zh, detail_zh = (
        "联邦声明无效",
        "X-Federation-Claims 缺失、签名无效（密钥不在固定列表中）、已过期或被重放。",
    )
    example = occurrence("X-Federation-Claims is missing")


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
