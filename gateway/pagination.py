"""Opaque keyset cursors: a page ends at a key; the next page starts strictly after it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from gateway.errors import InvalidCursor

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def encode_cursor(key: list[Any]) -> str:
    """Encode the sort key of a page's last row as an opaque URL-safe cursor."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """Decode a cursor made by encode_cursor, or raise InvalidCursor."""
    if cursor is None:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this gateway issued") from exc
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, str | int) for k in key):
        raise InvalidCursor("the cursor is not one this gateway issued")
    return key


def page_body(docs: list[str], *, next_cursor: str | None) -> bytes:
    """Assemble a page from stored JSON documents without re-serialising them."""
    nxt = orjson.dumps(next_cursor)
    return b'{"items":[' + ",".join(docs).encode() + b'],"next":' + nxt + b"}"
