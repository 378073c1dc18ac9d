"""A fake HR API speaking the protocol of docs/sources.md over a generated county, with injectable faults.

Use in tests::

    with FakeHrServer(county_dir, api_key="k") as hr:
        hr.add_fault("rate_limit", on_request=2, retry_after=1)
        httpx.get(f"{hr.url}/api/v2/persons", headers={"X-Api-Key": "k"})

or out of process: ``python -m connectors.demo.fake_hr --data DIR --port 8081 --api-key KEY`` and
``POST /_faults`` (see `_admin_faults`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from connectors.demo.fake_hr_faults import Fault, FaultBook, FaultKind, RequestRecord
from connectors.demo.fake_hr_store import PersonStore, load_persons, load_services, parse_instant

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
OK, BAD_KEY, BAD_PARAM, TOKEN_EXPIRED, INTERNAL = "0000", "1001", "4000", "2003", "5000"
MESSAGES = {
    OK: "成功",
    BAD_KEY: "API Key 无效",
    BAD_PARAM: "参数错误",
    TOKEN_EXPIRED: "分页令牌已过期，请重新同步",
    INTERNAL: "系统内部错误，请稍后重试",
}
JSON = "application/json; charset=utf-8"


class DroppedConnection(Exception):
    """Raised after a deliberately partial response, so that uvicorn closes the connection."""


class _QuietDrops(logging.Filter):
    """Hide uvicorn's traceback for connections dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except those about a DroppedConnection."""
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


class _TruncatedResponse(Response):
    """A response that announces its full length, sends half the body, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and a partial body, then abort."""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )
        raise DroppedConnection


_Builder = Callable[[Request], tuple[bytes, str, int, int | None]]


@dataclass
class _Cursor:
    """Server-side state behind an opaque page token."""

    offset: int
    page: int
    expires: float


def envelope(code: str, *, items: bytes | None = None, next_token: str | None = None) -> bytes:
    """Render the HR envelope; `items` is an already encoded JSON array (None: data is null)."""
    head = b'{"code":' + orjson.dumps(code) + b',"msg":' + orjson.dumps(MESSAGES.get(code, "错误"))
    if items is None:
        return head + b',"data":null}'
    return head + b',"data":{"items":' + items + b',"nextPageToken":' + orjson.dumps(next_token) + b"}}"


class FakeHrServer:
    """A real HTTP server on 127.0.0.1 (free port by default) serving HR person and service items."""

    def __init__(
        self,
        data: Path | PersonStore,
        *,
        api_key: str = "demo-key",
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: float = 300.0,
        seed: int = 0,
        services: list[dict[str, Any]] | None = None,
    ) -> None:
        """Load the persons (a county dir, hr_api dir, persons.jsonl or sample pages) without starting."""
        if host not in LOOPBACK:
            raise ValueError("the fake HR API only binds to the loopback interface")
        self.store = data if isinstance(data, PersonStore) else load_persons(Path(data))
        if services is None:
            services = load_services(None if isinstance(data, PersonStore) else Path(data))
        self.services = services
        self.api_key = api_key
        self.host = host
        self.port = port
        self.token_ttl = token_ttl
        self.book = FaultBook(seed=seed)
        self.url = ""
        self._tokens: dict[str, _Cursor] = {}
        self._tokens_lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/api/v2/persons", self._persons, methods=["GET"]),
                Route("/api/v2/services", self._services, methods=["GET"]),
                Route("/_faults", self._admin_faults, methods=["GET", "POST", "DELETE"]),
                Route("/_requests", self._admin_requests, methods=["GET"]),
                Route("/_reset", self._admin_reset, methods=["POST"]),
            ]
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeHrServer:
        """Bind the port and serve from a background thread; return self once accepting connections."""
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.url = f"http://{'[::1]' if family == socket.AF_INET6 else '127.0.0.1'}:{self.port}"
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-hr", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake HR server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Start if needed and block until the server stops or the user interrupts."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> FakeHrServer:
        """Start on entering the context."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving the context."""
        self.stop()

    # -- faults and observations -----------------------------------------------------------------

    def add_fault(
        self,
        kind: FaultKind,
        *,
        on_request: int | None = None,
        on_page: int | None = None,
        rate: float = 0.0,
        times: int | None = 1,
        retry_after: int = 1,
        delay: float = 1.0,
        path: str | None = "/api/v2/persons",
    ) -> Fault:
        """Inject a fault (see `Fault` for the kinds and triggers); return it so tests can read `fired`."""
        fault = Fault(
            kind,
            on_request=on_request,
            on_page=on_page,
            rate=rate,
            times=times,
            retry_after=retry_after,
            delay=delay,
            path=path,
        )
        return self.book.add(fault)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.book.clear()

    def expire_tokens(self) -> None:
        """Expire every page token handed out so far."""
        with self._tokens_lock:
            self._tokens.clear()

    def reset(self) -> None:
        """Forget faults, the request log and page tokens."""
        self.book.reset()
        self.expire_tokens()

    @property
    def faults(self) -> list[Fault]:
        """Return the injected faults (with their `fired` counts)."""
        return list(self.book.faults)

    @property
    def requests(self) -> list[RequestRecord]:
        """Return the log of API requests answered so far."""
        return self.book.snapshot()

    @property
    def request_count(self) -> int:
        """Return how many API requests arrived (admin requests excluded)."""
        return self.book.count

    # -- API -------------------------------------------------------------------------------------

    def _issue_token(self, offset: int, *, page: int) -> str:
        """Remember a cursor and return its opaque token."""
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._tokens_lock:
            if len(self._tokens) > 10_000:
                self._tokens = {k: c for k, c in self._tokens.items() if c.expires > now}
            self._tokens[token] = _Cursor(offset=offset, page=page, expires=now + self.token_ttl)
        return token

    def _cursor(self, token: str) -> _Cursor | None:
        """Return the live cursor behind a token, or None when unknown or expired."""
        with self._tokens_lock:
            cursor = self._tokens.get(token)
            if cursor is not None and cursor.expires <= time.monotonic():
                del self._tokens[token]
                return None
            return cursor

    async def _persons(self, request: Request) -> Response:
        """Answer GET /api/v2/persons."""
        return await self._api(request, build=self._persons_body)

    async def _services(self, request: Request) -> Response:
        """Answer GET /api/v2/services."""
        return await self._api(request, build=self._services_body)

    def _services_body(self, request: Request) -> tuple[bytes, str, int, int | None]:
        """Build the services envelope: (body, code, item count, page)."""
        items = orjson.dumps(self.services)
        return envelope(OK, items=items, next_token=None), OK, len(self.services), None

    def _page_of(self, request: Request) -> int | None:
        """Return the page number a persons request asks for (None: unknown token)."""
        token = request.query_params.get("pageToken")
        if not token:
            return 1
        cursor = self._cursor(token)
        return None if cursor is None else cursor.page

    def _persons_body(self, request: Request) -> tuple[bytes, str, int, int | None]:
        """Build a persons page envelope: (body, code, item count, page)."""
        params = request.query_params
        try:
            size = int(params.get("pageSize", DEFAULT_PAGE_SIZE))
            since = params.get("updatedSince")
            instant = parse_instant(since) if since else None
        except ValueError:
            return envelope(BAD_PARAM), BAD_PARAM, 0, None
        if not 1 <= size <= MAX_PAGE_SIZE:
            return envelope(BAD_PARAM), BAD_PARAM, 0, None
        token = params.get("pageToken")
        if token:
            cursor = self._cursor(token)
            if cursor is None:
                return envelope(TOKEN_EXPIRED), TOKEN_EXPIRED, 0, None
            offset, page = cursor.offset, cursor.page
        else:
            offset, page = self.store.first_at_or_after(instant), 1
        items, count, following = self.store.page(offset, size=size)
        next_token = self._issue_token(following, page=page + 1) if following < len(self.store) else None
        return envelope(OK, items=items, next_token=next_token), OK, count, page

    async def _api(self, request: Request, *, build: _Builder) -> Response:
        """Check the key, apply faults, build the answer, and log the request."""
        n, generation = self.book.next_request()
        path = request.url.path
        key = request.headers.get("x-api-key")
        page = self._page_of(request) if path.endswith("/persons") else None
        status, code, fault_name, count = 200, None, None, 0
        response: Response | None = None
        for fault in self.book.triggered(n=n, path=path, page=page):
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
                continue
            fault_name = fault.kind
            if fault.kind == "rate_limit":
                status = 429
                headers = {"Retry-After": str(fault.retry_after)}
                response = Response("Too Many Requests", 429, headers=headers, media_type="text/plain")
            elif fault.kind == "unavailable":
                status = 503
                response = Response("Service Unavailable", 503, media_type="text/plain")
            elif fault.kind == "internal_error":
                code = INTERNAL
            elif fault.kind == "token_expired":
                self.expire_tokens()
                code = TOKEN_EXPIRED
        if response is None and code is None and key != self.api_key:
            code = BAD_KEY
        if response is None:
            if code is not None:
                body = envelope(code)
            else:
                body, code, count, page = build(request)
            cls = _TruncatedResponse if fault_name == "drop" else Response
            response = cls(body, 200, media_type=JSON)
        query = dict(request.query_params)
        self.book.record(
            RequestRecord(
                n=n,
                method=request.method,
                path=path,
                query=query,
                api_key=key,
                page=page,
                status=status,
                code=code,
                fault=fault_name,
                items=count,
            ),
            generation=generation,
        )
        return response

    # -- admin (no key; loopback only) -----------------------------------------------------------

    async def _admin_faults(self, request: Request) -> Response:
        """GET: list faults. DELETE: clear them. POST {"clear": bool, "faults": [Fault fields...]}: add."""
        if request.method == "DELETE":
            self.clear_faults()
        elif request.method == "POST":
            try:
                spec = orjson.loads(await request.body() or b"{}")
                if spec.get("clear"):
                    self.clear_faults()
                if spec.get("expire_tokens"):
                    self.expire_tokens()
                for item in spec.get("faults", []):
                    self.book.add(Fault(**{k: v for k, v in item.items() if k != "fired"}))
            except (ValueError, TypeError, AttributeError) as exc:
                return Response(orjson.dumps({"error": str(exc)}), 400, media_type=JSON)
        return Response(orjson.dumps([f.to_dict() for f in self.faults]), media_type=JSON)

    async def _admin_requests(self, request: Request) -> Response:
        """Return the request log."""
        log = [r.to_dict() for r in self.requests]
        return Response(orjson.dumps({"count": self.request_count, "requests": log}), media_type=JSON)

    async def _admin_reset(self, request: Request) -> Response:
        """Forget faults, the request log and page tokens."""
        self.reset()
        return Response(b'{"reset":true}', media_type=JSON)


def main(argv: list[str] | None = None) -> None:
    """Serve a county's HR data on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description="Fake HR API (docs/sources.md, the HR API) on 127.0.0.1.")
    parser.add_argument("--data", type=Path, required=True, help="county dir, hr_api dir or sample dir")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--token-ttl", type=float, default=300.0, help="page-token lifetime, seconds")
    args = parser.parse_args(argv)
    server = FakeHrServer(args.data, api_key=args.api_key, port=args.port, token_ttl=args.token_ttl)
    server.start()
    print(f"fake HR API listening on {server.url} ({len(server.store)} persons)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
