"""The optional accountability headers (X-End-User, X-Case-Id, X-On-Behalf-Of): parsing and OpenAPI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header

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
    return Header(max_length=MAX_LEN, description=DESCRIPTIONS[name])


async def _audit_headers(
    x_end_user: Annotated[str | None, _header("X-End-User")] = None,
    x_case_id: Annotated[str | None, _header("X-Case-Id")] = None,
    x_on_behalf_of: Annotated[str | None, _header("X-On-Behalf-Of")] = None,
) -> None:
    """Declare the headers for OpenAPI; AuditMiddleware reads and validates them for every request."""


AuditHeadersDep = Depends(_audit_headers)
"""Add to a router's `dependencies=[...]` to declare the headers on its operations."""


def document_audit_headers(app: FastAPI, *, prefix: str = "/v1/") -> None:
    """Add the three headers as optional parameters to every operation under `prefix` in OpenAPI."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        for path, item in schema.get("paths", {}).items():
            if not path.startswith(prefix):
                continue
            for method, op in item.items():
                if method not in {"get", "put", "post", "delete", "patch"}:
                    continue
                params: list[dict[str, Any]] = op.setdefault("parameters", [])
                have = {(p.get("in"), p.get("name", "").lower()) for p in params}
                for name, text in DESCRIPTIONS.items():
                    if ("header", name.lower()) not in have:
                        params.append(
                            {
                                "name": name,
                                "in": "header",
                                "required": False,
                                "description": text,
                                "schema": {"type": "string", "maxLength": MAX_LEN},
                            }
                        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
