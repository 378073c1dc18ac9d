"""Access tokens as JWTs (RFC 9068): issued by the token endpoint, verified by the resource routes."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from gateway.auth.keys import KeyRing
from gateway.settings import Settings

# RFC 9068 §4: typ "at+jwt" (or the full media type), compared case-insensitively.
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MAX_TOKEN_LENGTH = 4096  # ours are ~600 bytes; refuse anything that would cost a big parse


class TokenRejected(Exception):
    """A token failed verification; the message says why (for logs, never for the client body)."""


class UnknownKey(TokenRejected):
    """The token names a kid this process does not know (maybe a key newer than our key ring)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request: a registered client acting under a token."""

    client_id: str
    department: str
    subsystem: str
    region_code: str | None
    scopes: frozenset[str]
    token_id: str
    expires_at: dt.datetime
    generation: int = 0

    def has_scope(self, scope: str) -> bool:
        """Tell whether the token carries `scope`."""
        return scope in self.scopes


def issuer(settings: Settings) -> str:
    """Return the `iss` of our tokens and metadata (RFC 8414 §2)."""
    return settings.public_url.rstrip("/")


def audience(settings: Settings) -> str:
    """Return the `aud` our access tokens carry and our resource routes demand (RFC 9068 §2.2)."""
    return (settings.token_audience or settings.public_url).rstrip("/")


def issue_access_token(
    keyring: KeyRing,
    *,
    client_id: str,
    scopes: list[str],
    settings: Settings,
    now: float | None = None,
    generation: int = 0,
) -> dict[str, Any]:
    """Sign an access token for a client; return the RFC 6749 §5.1 token response body."""
    if keyring.signer is None or keyring.signer_kid is None or keyring.signer_alg is None:
        raise RuntimeError("no signing key is loaded")
    iat = int(now if now is not None else time.time())
    ttl = settings.token_ttl_seconds
    scope = " ".join(scopes)
    claims = {
        "iss": issuer(settings),
        "aud": audience(settings),
        "sub": client_id,  # RFC 9068 §2.2: the client itself when no resource owner is involved
        "client_id": client_id,
        "scope": scope,
        "jti": secrets.token_hex(16),
        "iat": iat,
        "exp": iat + ttl,
        "gen": generation,  # the client's token generation: bumped on rotate-secret and disable
    }
    header = {"alg": keyring.signer_alg, "typ": "at+jwt", "kid": keyring.signer_kid}
    value = jwt.encode(header, claims, keyring.signer, algorithms=[keyring.signer_alg])
    return {"access_token": value, "token_type": "Bearer", "expires_in": ttl, "scope": scope}


def verify_access_token(
    token: str, keyring: KeyRing, *, settings: Settings, now: float | None = None
) -> dict[str, Any]:
    """Verify signature, header and claims of an access token; return its claims or raise TokenRejected."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("empty or oversized token")
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise TokenRejected(f"typ {typ!r} is not at+jwt")  # RFC 9068 §4 step 1
    kid = header.get("kid")
    found = keyring.public.get(kid) if isinstance(kid, str) else None
    if found is None:
        raise UnknownKey(f"unknown kid {kid!r}")
    alg, key = found
    # The alg comes from our key record, never from the token: refuses none and HS256-with-public-key
    # (RFC 8725 §2.1, §3.1).
    if header.get("alg") != alg:
        raise TokenRejected(f"alg {header.get('alg')!r} does not match key {kid}")
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except (JoseError, ValueError) as exc:
        raise TokenRejected(f"bad signature: {exc}") from exc
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now) if now is not None else None,
        leeway=settings.token_clock_skew_seconds,
        iss={"essential": True, "value": issuer(settings)},
        aud={"essential": True, "value": audience(settings)},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
        client_id={"essential": True},
    )
    try:
        registry.validate(claims)  # exp, iat-in-the-future, iss, aud (RFC 9068 §4 steps 3-6)
    except JoseError as exc:
        raise TokenRejected(f"claims: {exc}") from exc
    if not isinstance(claims.get("scope", ""), str):
        raise TokenRejected("scope is not a string")
    return claims
