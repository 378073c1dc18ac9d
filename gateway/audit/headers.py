"""The optional accountability headers (X-End-User, X-Case-Id, X-On-Behalf-Of): parsing and OpenAPI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Header

from gateway.audit.writer import AuditUnavailable
from gateway.errors import BadRequest, occurrence
from gateway.openapi import AUDIT_SEQ, DOCS_ONLY_ATTR, HEADERS_ATTR, PROBLEMS_ATTR

MAX_LEN = 128
HEADERS: dict[bytes, str] = {
    b"x-end-user": "end_user",
    b"x-case-id": "case_id",
    b"x-on-behalf-of": "on_behalf_of",
}
DESCRIPTIONS = {
    "X-End-User": "The person at the calling system who asked (经办人), e.g. a staff number; audited.",
    "X-Case-Id": "The case (办件) this request serves, e.g. a benefit application number; audited.",
    "X-On-Behalf-Of": "The party the caller acts for (代办): e.g. another department's code, or with "
    "X-Consent-Id the gateway id of the resident a village agent acts for; audited.",
}


class HeaderError(ValueError):
    """An accountability header is over-long or holds control characters."""


class DuplicateHeader(
    BadRequest,
    slug="duplicate-header",
    title="Header given more than once",
    title_zh="请求头重复",
    detail_zh="安全相关的请求头不能重复出现。",
    example=occurrence("header x-purpose given more than once", headers_repeated=["x-purpose"]),
):
    """A security-relevant header (Authorization, X-Purpose, X-On-Behalf-Of, X-Consent-Id, X-End-User,
    X-Case-Id) was sent more than once."""


class InvalidAuditHeader(
    BadRequest,
    slug="invalid-audit-header",
    title="Invalid audit header",
    title_zh="审计请求头无效",
    detail_zh="X-End-User、X-Case-Id 或 X-On-Behalf-Of 过长或含不可打印字符。",
    example=occurrence("x-end-user must be at most 128 printable characters"),
):
    """An X-End-User, X-Case-Id or X-On-Behalf-Of header is too long or not printable."""


def _clean(name: bytes, raw: bytes) -> str:
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"{name.decode()} is not UTF-8") from exc
    if len(value) > MAX_LEN or not value.isprintable():
        raise HeaderError(f"{name.decode()} must be at most {MAX_LEN} printable characters")
    return value


def read_audit_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, str | None, str | None]:
    """Return (end_user, case_id, on_behalf_of) from raw ASGI headers, or raise HeaderError."""
    found: dict[str, str] = {}
    for name, raw in headers:
        field = HEADERS.get(name)
        if field is not None and raw:
            found[field] = _clean(name, raw)
    return found.get("end_user"), found.get("case_id"), found.get("on_behalf_of")


def _header(name: str) -> Any:
    return Header(alias=name, max_length=MAX_LEN, description=DESCRIPTIONS[name])


async def _audit_headers(
    x_end_user: Annotated[str | None, _header("X-End-User")] = None,
    x_case_id: Annotated[str | None, _header("X-Case-Id")] = None,
    x_on_behalf_of: Annotated[str | None, _header("X-On-Behalf-Of")] = None,
) -> None:
    """Declare the headers for OpenAPI; AuditMiddleware reads and validates them for every request."""


# What passing the audit middleware adds to an operation: its errors and the event's sequence number.
setattr(_audit_headers, PROBLEMS_ATTR, (InvalidAuditHeader, DuplicateHeader, AuditUnavailable))
setattr(_audit_headers, HEADERS_ATTR, AUDIT_SEQ)
# AuditMiddleware validates these headers before any route runs: FastAPI need not solve them again.
setattr(_audit_headers, DOCS_ONLY_ATTR, True)
AuditHeadersDep = Depends(_audit_headers)
"""Add to a router's `dependencies=[...]` to declare the headers on its operations."""
