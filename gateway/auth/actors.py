"""Who asked for a token: the client id as claimed and as authenticated, and the issued token's jti.

Read for the audit event only (never to authenticate): the claim comes from the request as sent
(HTTP Basic user, the `client_id` form field, or a client assertion's `sub`), the authenticated id
and jti from the token the server just issued.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from gateway.context import RequestRecord

MAX_ID = 128


def _jwt_payload(token: str) -> dict[str, Any]:
    try:
        part = token.split(".")[1]
        data = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def claimed_client(authorization: str | None, form: Mapping[str, str]) -> str | None:
    """Return the client id the request claims to be, unverified."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            user = base64.b64decode(authorization[6:].strip(), validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return unquote(user)[:MAX_ID]
    if form.get("client_id"):
        return form["client_id"][:MAX_ID]
    sub = _jwt_payload(form.get("client_assertion", "")).get("sub")
    return str(sub)[:MAX_ID] if sub else None


def token_facts(access_token: str) -> tuple[str | None, str | None]:
    """Return (client_id, jti) of a token this server issued."""
    claims = _jwt_payload(access_token)
    client = claims.get("client_id") or claims.get("sub")
    jti = claims.get("jti")
    return (str(client) if client else None), (str(jti) if jti else None)


def note_sign_in(record: RequestRecord, *, claimed: str | None, access_token: str | None) -> None:
    """Put the claimed and authenticated client and the token's jti into the request's audit record."""
    authenticated, jti = token_facts(access_token) if access_token else (None, None)
    record.client_id = authenticated or claimed
    record.token_id = jti or record.token_id
    record.details = {
        "client_id_claimed": claimed,
        "client_id_authenticated": authenticated,
        "jti": jti,
    }


def issued_token(body: bytes) -> str | None:
    """Return the access token of a token endpoint response body (None for an error response)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    token = doc.get("access_token") if isinstance(doc, dict) else None
    return token if isinstance(token, str) else None
