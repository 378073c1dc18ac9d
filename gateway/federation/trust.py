"""Members' keys: read from each member's JWKS, kept only when pinned; rotation within pins is picked up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.federation.models import Member

log = logging.getLogger(__name__)
MAX_AGE_SECONDS = 300.0  # a member's JWKS is re-read at least this often
MIN_REFETCH_SECONDS = 2.0  # ...and at most this often when a pinned key is still missing
Fetch = Callable[[str, float], dict[str, Any]]


def fetch_jwks(url: str, timeout: float) -> dict[str, Any]:
    """GET a JWKS document (no redirects: the operator named the URL)."""
    response = httpx.get(url, timeout=timeout, follow_redirects=False)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise ValueError("not a JWK Set")
    return body


def pinned_keys(jwks: dict[str, Any], pins: list[str]) -> dict[str, Any]:
    """Return the keys of `jwks` whose RFC 7638 thumbprint is pinned, each with that thumbprint as kid."""
    kept = []
    for data in jwks.get("keys", []):
        try:
            key = KeySet.import_key_set({"keys": [data]}).keys[0]
        except (JoseError, ValueError, TypeError, KeyError):
            continue  # one malformed key does not hide the good ones
        if key.is_private or key.key_type == "oct":
            continue
        thumb = key.thumbprint()
        if thumb in pins and data.get("kid", thumb) == thumb:
            extra = {"alg": data["alg"]} if isinstance(data.get("alg"), str) else {}
            kept.append(dict(key.as_dict(private=False)) | {"kid": thumb, "use": "sig"} | extra)
    return {"keys": kept}


class MemberKeys:
    """The pinned public keys of every member, shared by the token endpoint (a thread) and the routes."""

    def __init__(self, *, fetch: Fetch = fetch_jwks) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def keyset(self, member: Member) -> KeySet:
        """Return the member's pinned keys (re-read when old, or when a pinned key is not seen yet)."""
        now = time.monotonic()
        with self._lock:
            fetched, jwks = self._cache.get(member.name, (0.0, {"keys": []}))
            have = {k["kid"] for k in jwks["keys"]}
            stale = now - fetched > MAX_AGE_SECONDS
            missing = not set(member.pins) <= have and now - fetched > MIN_REFETCH_SECONDS
            if stale or missing:
                try:
                    jwks = pinned_keys(self._fetch(member.keys_url(), member.timeout_seconds), member.pins)
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("cannot read %s's keys from %s: %s", member.name, member.keys_url(), exc)
                self._cache[member.name] = (now, jwks)
        return KeySet.import_key_set(jwks)  # type: ignore[arg-type]

    def forget(self, name: str) -> None:
        """Drop a member's cached keys (after the operator changed its pins)."""
        with self._lock:
            self._cache.pop(name, None)
