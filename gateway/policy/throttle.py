"""Rate limits at the edge: every authenticated request per client, sign-ins per address and client id.

Limits are `limits` rate-limit items ("5/minute", "20/hour"); their counters live in the store
(gateway.policy.ratelimit), so every replica sees the same counts. Sign-ins (the token endpoint,
the auditor console, the village dashboard) count attempts per source address and per claimed
client id, and failed ones apart: once the failures of a window reach its amount (a sliding-window
estimate, as `limits`' SlidingWindowCounter computes it), sign-ins are refused. The failure windows
grow (a minute, an hour, a day), so repeated guessing meets an increasing back-off.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote

import limits
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from gateway.context import record_of_scope
from gateway.errors import RateLimited
from gateway.middleware import HttpMiddleware
from gateway.policy.ratelimit import StoreLimiter, Usage, check_request, usage_headers
from schemas.time import CHINA_OFFSET_SECONDS

T = TypeVar("T")
_PURPOSE = re.compile(r"[a-z][a-z0-9\-]{0,63}")  # the X-Purpose pattern (gateway.policy.deps)
USAGE_KEY = "ratelimit_usage"
# Attempts per source address and per claimed client id; failures escalate minute -> hour -> day.
ATTEMPTS_PER_ADDRESS = limits.parse_many("300/minute;3000/hour")  # many systems share one NAT address
ATTEMPTS_PER_CLIENT = limits.parse_many("60/minute;600/hour")
FAILURES = limits.parse_many("5/minute;20/hour;50/day")


def _key(item: limits.RateLimitItem, *parts: str) -> str:
    return item.key_for(*parts)


async def _spend(limiter: StoreLimiter, key: str, item: limits.RateLimitItem, *, what: str) -> Usage:
    try:
        return await limiter.take(key, n=1, limit=item.amount, period=item.get_expiry())
    except RateLimited as exc:
        exc.detail = f"too many {what}: at most {item}"
        raise


async def charge_client(request: Request, *, client_id: str, department: str | None) -> None:
    """Spend one request of the client's per-minute limit (every authenticated route); note its usage."""
    policy = getattr(request.app.state, "policy", None)
    if policy is None or not policy.enabled:
        return
    limit = policy.engine.policy.limit_for(client_id, department)
    try:
        usage = await policy.limiter.take(
            f"requests:{client_id}", n=1, limit=limit.requests_per_minute, period=60
        )
    except RateLimited:
        # The refusal's audit event keeps the purpose the caller stated (read before the policy runs).
        purpose = request.headers.get("x-purpose", "")
        if _PURPOSE.fullmatch(purpose):
            record_of_scope(request.scope).purpose = purpose
        raise
    request.scope.setdefault("state", {})[USAGE_KEY] = usage


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in attempt: who claims to sign in, from where, on which form."""

    limiter: StoreLimiter
    form: str
    address: str
    client_id: str

    @classmethod
    def of(cls, request: Request, *, form: str, client_id: str | None) -> SignIn | None:
        """Return the attempt of a request (None when the policy, and so the limiter, is off)."""
        policy = getattr(request.app.state, "policy", None)
        if policy is None or not policy.enabled:
            return None
        address = request.client.host if request.client else "unknown"
        return cls(policy.limiter, form, address, (client_id or "-")[:128])

    async def before(self) -> None:
        """Refuse while a failure window is exhausted; spend one attempt per address and per client id."""
        for item in FAILURES:
            for who in (f"addr:{self.address}", f"client:{self.client_id}"):
                key = _key(item, "signin-fail", who)
                if await self.limiter.used(key, period=item.get_expiry()) >= item.amount:  # sliding window
                    raise RateLimited(
                        f"too many failed sign-ins ({item}); wait before trying again",
                        headers={"Retry-After": str(self.limiter.reset_in(item.get_expiry()))},
                    )
        for item in ATTEMPTS_PER_ADDRESS:
            key = _key(item, "signin", self.address)
            await _spend(self.limiter, key, item, what="sign-ins from this address")
        for item in ATTEMPTS_PER_CLIENT:
            key = _key(item, "signin", self.client_id)
            await _spend(self.limiter, key, item, what="sign-ins of this client")

    async def failed(self) -> None:
        """Count a failed sign-in against the address and the claimed client id."""
        for item in FAILURES:
            for who in (f"addr:{self.address}", f"client:{self.client_id}"):
                key = _key(item, "signin-fail", who)
                # An exhausted window stays exhausted: the next attempt is refused by `before`.
                with contextlib.suppress(RateLimited):
                    await self.limiter.take(key, n=1, limit=item.amount, period=item.get_expiry())


@dataclass(slots=True)
class RecordQuota:
    """A client's daily record quota, spent page by page by a streamed answer (an audit export)."""

    limiter: StoreLimiter
    key: str
    limit: int
    remaining: int
    credit: int = 1  # the record taken up front by `open`

    @classmethod
    async def open(cls, request: Request, *, client_id: str, department: str | None) -> RecordQuota | None:
        """Take the first record (429 when the quota is spent) and return the quota (None: policy off)."""
        policy = getattr(request.app.state, "policy", None)
        if policy is None or not policy.enabled:
            return None
        limit = policy.engine.policy.limit_for(client_id, department).records_per_day
        usage = await check_request(policy.limiter, client_id=client_id, per_day=limit)
        return cls(policy.limiter, f"records:{client_id}", limit, usage.remaining + 1)

    async def spend(self, n: int) -> int:
        """Count `n` records about to be sent; return how many of them the quota allows."""
        need, self.credit = max(0, n - self.credit), max(0, self.credit - n)
        if need == 0:
            return n
        try:
            await self.limiter.take(
                self.key, n=need, limit=self.limit, period=86400, offset=CHINA_OFFSET_SECONDS
            )
            return n
        except RateLimited:
            pass
        room = self.limit - await self.limiter.used_now(self.key, period=86400, offset=CHINA_OFFSET_SECONDS)
        if room <= 0:
            return n - need
        try:
            await self.limiter.take(
                self.key, n=room, limit=self.limit, period=86400, offset=CHINA_OFFSET_SECONDS
            )
        except RateLimited:
            return n - need
        return n - need + room


def claimed_client_id(request: Request, form: dict[str, str]) -> str | None:
    """Return the client id a token request claims: HTTP Basic user name, else the form's client_id."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            user = base64.b64decode(header[6:].strip(), validate=True).decode().split(":", 1)[0]
            return unquote(user)
    return form.get("client_id")


async def guarded_sign_in(
    request: Request,
    *,
    form: str,
    client_id: str | None,
    attempt: Callable[[], Awaitable[T]],
    ok: Callable[[T], bool],
) -> T:
    """Run a sign-in `attempt` under the sign-in limits; count it as failed when `ok` says so."""
    signin = SignIn.of(request, form=form, client_id=client_id)
    if signin is not None:
        await signin.before()
    result = await attempt()
    if signin is not None and not ok(result):
        await signin.failed()
    return result


class RateLimitHeaders(HttpMiddleware):
    """Add RateLimit and RateLimit-Policy headers (IETF draft) to answers of rate-limited requests."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through; on response start add the usage a dependency noted, unless headers are set."""

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                usage: Usage | None = (scope.get("state") or {}).get(USAGE_KEY)
                headers = message.get("headers", [])
                if usage is not None and not any(k == b"ratelimit" for k, _ in headers):
                    extra = [(k.lower().encode(), v.encode()) for k, v in usage_headers(usage).items()]
                    message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_usage)
