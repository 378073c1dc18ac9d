"""Graceful drain at SIGTERM: stop accepting, answer what arrives on open connections, then exit.

uvicorn's own shutdown closes idle keep-alive connections at once, so a request a client sent on
one just before (or as) the signal arrived is dropped without an answer. Here the listening sockets
close first, every answer during the drain carries `Connection: close` (the client opens a new
connection for its next request, which is refused cleanly), and only after a grace period are the
remaining connections closed; the lifespan then commits the audit queue.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn
from starlette.types import Message, Receive, Scope, Send

from gateway.middleware import HttpMiddleware

log = logging.getLogger(__name__)


class DrainMiddleware(HttpMiddleware):
    """Answer with `Connection: close` once the server is draining."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through; add `Connection: close` to responses started while draining."""
        state = scope["app"].state

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and getattr(state, "draining", False):
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, send_closing)


def _app_state(app: Any) -> Any:
    # The loaded app is wrapped by uvicorn's middleware: walk `.app` down to the one with a state.
    while app is not None and not hasattr(app, "state"):
        app = getattr(app, "app", None)
    return None if app is None else app.state


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose shutdown drains open connections for `grace` seconds first."""

    def __init__(self, config: uvicorn.Config, *, grace: float) -> None:
        super().__init__(config)
        self.grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, answer requests on open connections with `Connection: close`, then close."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = _app_state(self.config.loaded_app)
        if state is not None:
            state.draining = True  # /readyz answers 503; every answer closes its connection
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        # uvicorn offers no event for "a connection closed": poll its set.
        while self.server_state.connections and loop.time() < deadline and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        log.info("drained; %d connection(s) left to close", len(self.server_state.connections))
        await super().shutdown(sockets=None)
