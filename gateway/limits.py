"""Limits at the edge: header and body sizes, header and body timeouts, and the headers of every answer.

Enforced before any route runs: before authentication, before a body is parsed. The ASGI middleware
checks what the server hands over; the HTTP protocol class (used by `gateway serve`) also stops a
client that sends headers slowly or sends too many of them, before the request reaches the app.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import GatewayError, occurrence
from gateway.problem_json import problem_response
from gateway.settings import Settings, get_settings

INGEST_PREFIX = "/v1/ingest/"
# RFC 6749 §5.1 and RFC 9111 §5.2.2.5: answers holding personal data or tokens are never stored.
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
_NO_STORE = (b"cache-control", b"no-store")


class PayloadTooLarge(
    GatewayError,
    status=413,
    slug="payload-too-large",
    title="Request body too large",
    title_zh="请求体过大",
    detail_zh="请求体超过该路径允许的大小。",
    example=occurrence("the body may hold at most 65536 bytes"),
):
    """The request body is larger than this route accepts (RFC 9110 §15.5.14)."""


class HeadersTooLarge(
    GatewayError,
    status=431,
    slug="headers-too-large",
    title="Request header fields too large",
    title_zh="请求头过大",
    detail_zh="请求头字段过多或总字节数过大。",
    example=occurrence("the request has more than 100 header fields"),
):
    """The request has too many header fields or too many header bytes (RFC 6585 §5)."""


class RequestTimeout(
    GatewayError,
    status=408,
    slug="request-timeout",
    title="Request timeout",
    title_zh="请求超时",
    detail_zh="客户端未在规定时间内发送完请求（头或体）。",
    example=occurrence("the request body did not arrive in time"),
):
    """The client did not send the request (headers or body) in time (RFC 9110 §15.5.9)."""


def body_limit(settings: Settings, path: str) -> int:
    """Return the largest body a path accepts: push ingest carries batches, the rest small JSON."""
    return settings.ingest_max_body_bytes if path.startswith(INGEST_PREFIX) else settings.max_body_bytes


def header_problem(headers: list[tuple[bytes, bytes]], settings: Settings) -> str | None:
    """Return why a request's header fields are refused, or None."""
    if len(headers) > settings.max_header_count:
        return f"at most {settings.max_header_count} header fields are accepted"
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > settings.max_header_bytes:
        return f"at most {settings.max_header_bytes} bytes of header fields are accepted"
    return None


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class EdgeMiddleware:
    """Refuse oversized headers (431) and bodies (413), time out stalled bodies (408), add safe headers."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request's size before the app sees it; tag every answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
                if b"cache-control" not in names:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if why := header_problem(headers, self.settings):
            await self._refuse(HeadersTooLarge(why), scope, send_tagged)
            return
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in headers)
        if not has_body:
            await self.app(scope, receive, send_tagged)
            return
        limit = body_limit(self.settings, scope.get("path", ""))
        declared = _declared_length(headers)
        if declared is not None and declared > limit:
            await self._refuse(
                PayloadTooLarge(f"the body may hold at most {limit} bytes"), scope, send_tagged
            )
            return
        body = await self._read_body(receive, limit=limit, scope=scope, send=send_tagged)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), send_tagged)

    async def _read_body(self, receive: Receive, *, limit: int, scope: Scope, send: Send) -> bytes | None:
        """Read the whole body within the size and time bounds, or answer 413/408 and return None."""
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.settings.body_timeout_seconds
        while True:
            wait = min(self.settings.body_idle_timeout_seconds, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.0))
            except TimeoutError:
                await self._refuse(RequestTimeout("the request body was not sent in time"), scope, send)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(PayloadTooLarge(f"the body may hold at most {limit} bytes"), scope, send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _refuse(error: GatewayError, scope: Scope, send: Send) -> None:
        # Connection: close, so the server does not read the rest of an unwanted body as a next request.
        response = problem_response(error, scope=scope)
        response.headers["connection"] = "close"
        await response({**scope, "type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a receive that yields the already-read body once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class EdgeHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and header limits (slow or huge headers)."""

    settings: ClassVar[Settings | None] = None  # None: this process's settings (gateway serve)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = self.settings or get_settings()
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header clock as soon as the connection opens."""
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the header clock."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """Start the header clock for a new request on a kept-alive connection."""
        super().on_message_begin()
        self._header_bytes = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        """Count the request target toward the header bytes."""
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        """Refuse more header fields or bytes than allowed before holding them."""
        super().on_header(name, value)
        self._count(len(name) + len(value) + 4)
        if len(self.headers) > self._limits.max_header_count:
            self._close_with(431, b"too many header fields")

    def on_headers_complete(self) -> None:
        """Stop the header clock: the body has its own bounds (EdgeMiddleware)."""
        self._disarm_header_timer()
        if not self.transport.is_closing():  # refused above: never start the app
            super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """Ignore bytes that arrive after a refusal closed the connection."""
        if not self.transport.is_closing():
            super().data_received(data)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self._limits.max_header_bytes:
            self._close_with(431, b"header fields too large")

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self._limits.header_timeout_seconds, self._close_with, 408, b"headers not sent in time"
            )

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _close_with(self, status: int, text: bytes) -> None:
        self._disarm_header_timer()
        if self.transport is None or self.transport.is_closing():
            return
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(text), text)
        )
        self.transport.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """Return the uvicorn options that enforce the edge limits (used by `gateway serve`)."""
    return {
        "http": EdgeHttpProtocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": 5,
    }
