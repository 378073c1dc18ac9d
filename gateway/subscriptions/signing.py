"""Webhook signatures as Standard Webhooks defines them: HMAC-SHA256, `whsec_` secrets, `v1,` signatures.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`: the timestamp lets a receiver refuse
old messages (replay), and signing the id too stops a captured body being resent under a fresh
idempotency key. Receivers can use any Standard Webhooks library, or the ten lines of docs/integrating.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    """Return a fresh signing secret (24 random bytes, base64, `whsec_` prefix)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    """Return a fresh webhook-id: the idempotency key, the same on every retry and replay."""
    return "msg_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the webhook-signature header value for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers of one delivery."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }
