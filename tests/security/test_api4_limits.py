"""API4:2023 Unrestricted resource consumption: body and header limits and timeouts, before any work.

(Rate limits are tests/security/test_api4_rate_limits.py.)
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from gateway.limits import EdgeHttpProtocol, server_options
from tests.security.conftest import World
from tests.support.live import LiveServer

MIB = 1024 * 1024
LOOKUP = "/v1/residents:lookup"


def _problem(r: object, status: int, slug: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert r.json()["type"].endswith("/" + slug)  # type: ignore[attr-defined]


def test_an_unauthenticated_oversized_body_is_413_before_auth(world: World) -> None:
    """150 MB used to be read whole into memory: now refused at the declared length, before auth."""
    r = world.tc.post(
        LOOKUP, content=b"{" + b" " * (2 * MIB) + b"}", headers={"Content-Type": "application/json"}
    )
    _problem(r, 413, "payload-too-large")


def test_an_oversized_chunked_body_is_413_while_reading(world: World) -> None:
    """Without Content-Length the limit holds while reading: reading stops past the limit."""
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    r = world.tc.post(
        LOOKUP,
        content=chunks(),
        headers={**world.headers("civil-affairs"), "Content-Type": "application/json"},
    )
    _problem(r, 413, "payload-too-large")


def test_a_body_within_the_limit_still_works(world: World) -> None:
    """An honest lookup passes the edge untouched."""
    r = world.tc.post(
        LOOKUP, json={"national_id": world.people.a_nid}, headers=world.headers("civil-affairs")
    )
    assert r.status_code == 200, r.text


def test_ingest_has_its_own_larger_bound(world_factory: Callable[..., World]) -> None:
    """A 2 MiB push batch passes the edge (1 MiB elsewhere); past the ingest bound it is 413."""
    w = world_factory(max_body_bytes=1 * MIB, ingest_max_body_bytes=4 * MIB)
    h = {**w.headers("ingester"), "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    big = b'{"records": [], "pad": "' + b"x" * (2 * MIB) + b'"}'
    r = w.tc.post("/v1/ingest/civil_affairs", content=big, headers=h)
    assert r.status_code != 413, r.text[:300]
    r = w.tc.post("/v1/ingest/civil_affairs", content=b"x" * (5 * MIB), headers=h)
    _problem(r, 413, "payload-too-large")


def test_too_many_header_fields_are_431(world: World) -> None:
    """300 header fields used to be accepted."""
    headers = {**world.headers("civil-affairs"), **{f"X-Pad-{i}": "1" for i in range(300)}}
    r = world.tc.get("/v1/regions", headers=headers)
    _problem(r, 431, "headers-too-large")


def test_oversized_header_fields_are_431(world: World) -> None:
    """100 KB of header fields used to be accepted."""
    r = world.tc.get("/v1/regions", headers={**world.headers("civil-affairs"), "X-Pad": "a" * 100_000})
    _problem(r, 431, "headers-too-large")


def test_limits_are_settings_with_documented_defaults() -> None:
    """Every limit is a GATEWAY_* setting; the guide names each one."""
    from gateway.settings import Settings
    from tests.conftest import REPO

    fields = Settings.model_fields
    guide = (REPO / "docs" / "integrating.md").read_text(encoding="utf-8")
    for name in (
        "max_body_bytes",
        "ingest_max_body_bytes",
        "max_header_bytes",
        "max_header_count",
        "header_timeout_seconds",
        "body_idle_timeout_seconds",
        "body_timeout_seconds",
    ):
        assert fields[name].description
        assert f"GATEWAY_{name.upper()}" in guide, name


@pytest.fixture
def live(world_factory: Callable[..., World]) -> Iterator[LiveServer]:
    """Serve the app for real with the edge protocol and one-second timeouts."""
    w = world_factory(header_timeout_seconds=1.0, body_idle_timeout_seconds=1.0)
    settings = w.tc.app.state.config.settings  # type: ignore[attr-defined]
    protocol = type("QuickEdge", (EdgeHttpProtocol,), {"settings": settings})
    options = {**server_options(settings), "http": protocol}
    from gateway.app import create_app

    with LiveServer(create_app(settings), **options) as server:
        yield server


def _read_all(sock: socket.socket, *, within: float) -> bytes:
    sock.settimeout(within)
    out = b""
    try:
        while chunk := sock.recv(4096):
            out += chunk
    except TimeoutError:
        pass
    return out


def test_slow_headers_are_cut_off(live: LiveServer) -> None:
    """One header line every 0.4 s used to hold the connection forever: now 408 and closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for i in range(20):
                time.sleep(0.4)
                sock.sendall(b"X-Slow-%d: 1\r\n" % i)
        except OSError:
            pass  # closed by the server: what we want
        answer = _read_all(sock, within=3)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert time.monotonic() - started < 6


def test_a_stalled_body_is_cut_off(live: LiveServer) -> None:
    """A body announced and never sent used to hold the connection: now 408 problem+json and closed."""
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(
            b"POST /v1/residents:lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer = _read_all(sock, within=4)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"request-timeout" in answer


def test_the_server_refuses_huge_headers_before_the_app(live: LiveServer) -> None:
    """The protocol stops reading past the header bound, so the headers are never held whole."""
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200_000 + b"\r\n\r\n")
        answer = _read_all(sock, within=3)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


def test_an_unauthenticated_body_is_not_parsed_into_a_422(world: World) -> None:
    """Invalid JSON from a stranger used to be judged (422, naming the schema) before authentication."""
    for body in (b"{not json", b'{"national_id": 12}'):
        r = world.tc.post(LOOKUP, content=body, headers={"Content-Type": "application/json"})
        _problem(r, 401, "invalid-token")
    r = world.tc.post(
        LOOKUP,
        content=b"{not json",
        headers={**world.headers("civil-affairs"), "Content-Type": "application/json"},
    )
    _problem(r, 422, "validation-failed")  # the caller with a token still gets the precise answer
