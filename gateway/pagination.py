"""Opaque keyset cursors: a page ends at a key; the next page starts strictly after it.

A cursor is HMAC-SHA256-authenticated: clients cannot build, alter or decode one into a query value,
so a forged key never reaches the store (a 2^63 key used to answer 500). The key is per deployment
(GATEWAY_CURSOR_KEY, else derived from the key-encryption key), so every replica reads the others'.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select
from starlette.responses import Response

from gateway.errors import InvalidCursor
from store.read import ReadStore

S = TypeVar("S", bound=Select[Any])
R = TypeVar("R")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_TAG = 16  # bytes of HMAC-SHA256 kept: 128 bits, unforgeable by guessing
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # every key column is at most a signed 64-bit integer
_NOT_OURS = "the cursor is not one this gateway issued"


class _CursorKey:
    """The process's cursor key; set once at start-up from the settings (random until then)."""

    value: bytes = secrets.token_bytes(32)


def set_cursor_key(secret: bytes) -> None:
    """Use a key derived from `secret` to sign and check cursors in this process."""
    _CursorKey.value = hmac.new(secret, b"xiangzhi pagination cursor v1", hashlib.sha256).digest()


def _tag(payload: bytes) -> bytes:
    return hmac.new(_CursorKey.value, payload, hashlib.sha256).digest()[:_TAG]


def encode_cursor(key: list[Any]) -> str:
    """Encode the sort key of a page's last row as an opaque, authenticated URL-safe cursor."""
    payload = orjson.dumps(key)
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """Decode a cursor made by encode_cursor, or raise InvalidCursor (forged, altered, out of range)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(_NOT_OURS) from exc
    tag, payload = raw[:_TAG], raw[_TAG:]
    if len(tag) != _TAG or not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor(_NOT_OURS)
    try:
        key = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidCursor(_NOT_OURS) from exc
    if not isinstance(key, list) or len(key) != arity or not all(_in_range(k) for k in key):
        raise InvalidCursor(_NOT_OURS)
    return key


def _in_range(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return _INT_MIN <= value <= _INT_MAX
    return isinstance(value, str)


def page_body(docs: list[str], *, next_cursor: str | None) -> bytes:
    """Assemble a page from stored JSON documents without re-serialising them."""
    nxt = orjson.dumps(next_cursor)
    return b'{"items":[' + ",".join(docs).encode() + b'],"next":' + nxt + b"}"


def page_response(docs: list[str], *, last: Any) -> Response:
    """Return a page of stored JSON documents whose `next` continues after the key `last` (None: the end)."""
    body = page_body(docs, next_cursor=encode_cursor([last]) if last else None)
    return Response(body, media_type="application/json")


def keyset(stmt: S, key: ColumnElement[Any], *, after: Any, limit: int) -> S:
    """Order `stmt` by `key`, start strictly after `after`, and fetch one row past `limit` (more to come?)."""
    if after is not None:
        stmt = stmt.where(key > after)
    return stmt.order_by(key).limit(limit + 1)


async def doc_page(
    db: ReadStore, stmt: Select[Any], key: ColumnElement[Any], *, after: Any, limit: int
) -> tuple[list[str], Any]:
    """Return a page of `stmt`'s (key, document) rows as documents, and the key to continue from (or None)."""
    rows, last = cut_page(await db.fetch_all(keyset(stmt, key, after=after, limit=limit)), limit)
    return [r[1] for r in rows], (last[0] if last else None)


def cut_page(rows: Sequence[R], limit: int) -> tuple[list[R], R | None]:
    """Split rows fetched by `keyset` into the page and, when another page follows, the page's last row."""
    page = list(rows[:limit])
    return page, (page[-1] if len(rows) > limit else None)
