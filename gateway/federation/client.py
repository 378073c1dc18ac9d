"""Calls to a member gateway: a private_key_jwt token, signed forwarded claims, W3C traceparent,
timeouts, retries (tenacity) and the member's circuit breaker."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from gateway.auth.keys import KeyRing
from gateway.federation.breaker import CircuitBreaker
from gateway.federation.errors import MemberRefused, MemberTimeout, MemberUnavailable
from gateway.federation.models import Member

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLAIMS_HEADER = "X-Federation-Claims"
CLAIMS_TYP = "xz-federation+jwt"
CLAIMS_TTL = 60  # seconds: the claims cover one call (and its retries)
_RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who originally asked: a department client of the origin gateway (forwarded, never re-decided)."""

    client_id: str
    department: str
    origin: str  # the member name of the gateway the client belongs to
    end_user: str | None = None
    via: tuple[str, ...] = ()  # hubs the request passed through

    def label(self) -> str:
        """Return `origin/department/client [via hub]`, as B's audit and disclosure report name the asker."""
        hops = f" via {','.join(self.via)}" if self.via else ""
        return f"{self.origin}/{self.department}/{self.client_id}{hops}"


@dataclass(frozen=True, slots=True)
class Answer:
    """A member's answer: status, headers and body as received (never stored)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class _Transient(Exception):
    """A failure worth another attempt: no connection, a timeout, a 502/503/504, a stale token."""

    def __init__(self, cause: BaseException | Answer) -> None:
        super().__init__(str(cause))
        self.cause = cause


def sign(keyring: KeyRing, claims: dict[str, Any], *, typ: str = "JWT") -> str:
    """Sign claims with this gateway's current key (the one its JWKS publishes)."""
    if keyring.signer is None or keyring.signer_alg is None or keyring.signer_kid is None:
        raise MemberUnavailable("this gateway has no signing key loaded")
    header = {"alg": keyring.signer_alg, "kid": keyring.signer_kid, "typ": typ}
    return jwt.encode(header, claims, keyring.signer, algorithms=[keyring.signer_alg])


def client_assertion(keyring: KeyRing, *, client_id: str, token_url: str) -> str:
    """Return a private_key_jwt client assertion (RFC 7523 §3), good for one minute and one use."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "jti": secrets.token_hex(16)}
    return sign(keyring, claims | {"iat": now, "exp": now + 60})


def forwarded_claims(
    keyring: KeyRing, *, issuer_id: str, audience: str, caller: Caller, purpose: str, trace_id: str
) -> str:
    """Return the signed claims naming the original client, department and purpose for one call."""
    now = int(time.time())
    claims = {
        "iss": issuer_id,
        "aud": audience.rstrip("/"),
        "jti": secrets.token_hex(16),
        "iat": now,
        "exp": now + CLAIMS_TTL,
        "purpose": purpose,
        "trace_id": trace_id,
        "xz_origin": caller.origin,
        "xz_client": caller.client_id,
        "xz_department": caller.department,
        "xz_end_user": caller.end_user,
        "xz_via": list(caller.via),
    }
    return sign(keyring, claims, typ=CLAIMS_TYP)


class MemberClient:
    """One member's HTTP side: its token (cached until shortly before expiry), retries and breaker."""

    def __init__(self, member: Member, *, http: httpx.AsyncClient, keyring: Callable[[], KeyRing]) -> None:
        self.member = member
        self._http = http
        self._keyring = keyring
        self.breaker = CircuitBreaker(member.breaker_failures, member.breaker_reset_seconds)
        self._token: tuple[str, float] | None = None
        self._token_url: str | None = None
        self._lock = asyncio.Lock()

    async def call(self, method: str, path: str, *, headers: dict[str, str], json: Any = None) -> Answer:
        """Send one request to the member (retried on transient failures) or raise a member problem."""
        name = self.member.name
        wait = self.breaker.retry_after()
        if wait is not None:
            raise MemberUnavailable(
                f"{name} failed repeatedly; not asked again for {wait} s (circuit open)",
                headers={"Retry-After": str(wait)},
                member=name,
            )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.member.attempts),
            wait=wait_exponential_jitter(initial=0.05, max=1.0),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    answer = await self._once(method, path, headers=headers, json=json)
        except _Transient as exc:
            if isinstance(exc.cause, Answer) and exc.cause.status == 401:
                self.breaker.succeeded()  # it answered: a refusal, not an outage
                raise MemberRefused(f"{name} refused every fresh token of ours", member=name) from None
            self.breaker.failed()
            raise _unavailable(name, exc.cause) from None
        except BaseException:
            self.breaker.succeeded()  # it answered (a refusal): the member is up
            raise
        self.breaker.succeeded()
        return answer

    async def _once(self, method: str, path: str, *, headers: dict[str, str], json: Any) -> Answer:
        token = await self._access_token()
        url = self.member.base_url.rstrip("/") + path
        try:
            response = await self._http.request(
                method,
                url,
                headers={**headers, "Authorization": f"Bearer {token}"},
                json=json,
                timeout=self.member.timeout_seconds,
            )
        except httpx.TransportError as exc:
            raise _Transient(exc) from exc
        answer = Answer(response.status_code, response.content, dict(response.headers))
        if response.status_code == 401:
            self._token = None  # revoked or expired early: one fresh token, then give up
            raise _Transient(answer)
        if response.status_code in _RETRY_STATUSES:
            raise _Transient(answer)
        return answer

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            token_url = self._token_url or await self._discover()
            client_id = self.member.as_client_id
            assert client_id is not None  # checked by the service before a call
            form = {
                "grant_type": "client_credentials",
                "scope": " ".join(self.member.scopes),
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(
                    self._keyring(), client_id=client_id, token_url=token_url
                ),
            }
            try:
                response = await self._http.post(token_url, data=form, timeout=self.member.timeout_seconds)
            except httpx.TransportError as exc:
                raise _Transient(exc) from exc
            if response.status_code >= 500:
                raise _Transient(Answer(response.status_code, response.content))
            body = _json(response)
            if response.status_code != 200 or not isinstance(body.get("access_token"), str):
                raise MemberRefused(
                    f"{self.member.name} refused this gateway's credentials: "
                    f"{body.get('error', response.status_code)} {body.get('error_description', '')}".strip(),
                    member=self.member.name,
                    member_status=response.status_code,
                )
            ttl = int(body.get("expires_in", 60))
            self._token = (body["access_token"], time.monotonic() + max(ttl - 30, ttl // 2))
            return self._token[0]

    async def _discover(self) -> str:
        try:
            response = await self._http.get(self.member.metadata(), timeout=self.member.timeout_seconds)
        except httpx.TransportError as exc:
            raise _Transient(exc) from exc
        endpoint = _json(response).get("token_endpoint") if response.status_code == 200 else None
        if not isinstance(endpoint, str):
            raise _Transient(Answer(response.status_code, response.content))
        self._token_url = endpoint
        return endpoint


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unavailable(name: str, cause: BaseException | Answer) -> MemberUnavailable | MemberTimeout:
    if isinstance(cause, httpx.TimeoutException):
        return MemberTimeout(f"{name} did not answer in time", member=name)
    if isinstance(cause, Answer):
        return MemberUnavailable(
            f"{name} answered {cause.status} on every attempt", headers={"Retry-After": "30"}, member=name
        )
    return MemberUnavailable(
        f"{name} cannot be reached: {type(cause).__name__}", headers={"Retry-After": "30"}, member=name
    )
