"""Plain ASGI middleware (not BaseHTTPMiddleware, which breaks context propagation)."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMiddleware:
    """Pure ASGI middleware over HTTP requests; other scopes (lifespan, websockets) pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand HTTP requests to `http`; pass anything else on untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (subclasses)."""
        raise NotImplementedError


class RequestIdMiddleware(HttpMiddleware):
    """Give every request an id (honouring a sane incoming X-Request-Id) and echo it in the response."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the scope and the response headers with the request id."""
        state = scope.setdefault("state", {})
        # The trace id (set by the tracing middleware outside us) is unique already and costs nothing.
        request_id = incoming_request_id(scope) or state.get("trace_id") or secrets.token_hex(16)
        state["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def incoming_request_id(scope: Scope) -> str | None:
    """Return a sane incoming X-Request-Id, else None."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            # Only short printable ids: this value is echoed and logged.
            if 0 < len(value) <= 64 and value.isascii() and value.replace(b"-", b"").isalnum():
                return value.decode()
            return None
    return None
