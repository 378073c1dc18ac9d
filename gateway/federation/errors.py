"""Federation problem types: unknown member, our policy refusing, the member refusing or being down."""

from __future__ import annotations

from gateway.errors import (
    BadGateway,
    Forbidden,
    GatewayError,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UpstreamTimeout,
)


class UnknownMember(NotFound):
    """The federation document lists no member of that name (or federation is off)."""

    slug, title = "unknown-member", "Unknown federation member"


class FederationNotAllowed(Forbidden):
    """Our own policy does not let this client ask that member for this purpose; the member was not asked."""

    slug, title = "federation-not-allowed", "Not allowed to ask this member"


class MemberRefused(Forbidden):
    """The member answered but refused: its policy, or our credentials (its problem is passed on)."""

    slug, title = "member-refused", "The member refused"


class MemberNotFound(NotFound):
    """The member holds no such record, or none its policy lets us see (the two are indistinguishable)."""

    slug, title = "member-not-found", "Not found at the member"


class MemberRateLimited(RateLimited):
    """Our calls to the member, or the member's limits for us, are used up; wait Retry-After."""

    slug, title = "member-rate-limited", "Member rate limit reached"


class MemberUnavailable(Unavailable):
    """The member cannot be reached, failed, or its circuit is open; retry after Retry-After."""

    slug, title = "member-unavailable", "Member unavailable"


class MemberTimeout(UpstreamTimeout):
    """The member did not answer within its timeout, on every attempt."""

    slug, title = "member-timeout", "Member timed out"


class MemberBadAnswer(BadGateway):
    """The member answered with something that is neither data nor a problem we can pass on."""

    slug, title = "member-bad-answer", "Unusable answer from the member"


class NotAMember(Forbidden):
    """The caller of a federation-only route is not a member of our federation document."""

    slug, title = "not-a-member", "Not a federation member"


class ClaimsInvalid(Unauthorized):
    """The X-Federation-Claims header is missing, badly signed (key outside the pins), stale or replayed."""

    slug, title = "federation-claims-invalid", "Invalid federation claims"


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
