"""API7:2023 Server-side request forgery: webhook targets normalised, resolved once, internal ones refused."""

from __future__ import annotations

import asyncio
import asyncio.base_events
import socket
import time

import httpx
import pytest

from gateway.subscriptions import signing
from gateway.subscriptions.targets import TargetRefused, check_target, normalise
from tests.changes.support import Receiver
from tests.security.conftest import World

ALLOWED = "https://hr.county.example/hooks/"


def _subscribe(w: World, url: str) -> httpx.Response:
    return w.tc.post(
        "/v1/subscriptions",
        json={"events": ["resident.deceased"], "url": url},
        headers=w.headers("civil-affairs"),
    )


TRICKY = (
    "https://hr.county.example/hooks/../admin",
    "https://hr.county.example/hooks/%2e%2e/admin",
    "https://hr.county.example/hooks/%2E%2E/%2e%2e/admin",
    "https://hr.county.example/hooks/..%2fadmin",
    "https://hr.county.example/hooks/./../admin",
    "https://hr.county.example/hooks\\..\\admin",
    "https://user:pw@hr.county.example/hooks/x",
    "https://hr.county.example@evil.example/hooks/x",
    "https://hr.county.example:8443/hooks/x",
)


def test_tricky_urls_do_not_pass_the_allow_list(world: World) -> None:
    """`…/hooks/../admin` used to pass the prefix check and the worker then posted to /admin."""
    passed = []
    for url in TRICKY:
        r = _subscribe(world, url)
        if r.status_code != 422 or not r.json()["type"].endswith("/webhook-target-not-allowed"):
            passed.append((url, r.status_code))
    assert not passed


def test_the_normalised_url_is_what_is_stored(world: World) -> None:
    """Equivalent spellings of an allowed URL are accepted and stored in the one form that is called."""
    r = _subscribe(world, "HTTPS://HR.County.Example:443/hooks/./x/../pension%7Ecare")
    assert r.status_code == 201, r.text
    assert r.json()["url"] == "https://hr.county.example/hooks/pension~care"


def test_normal_form() -> None:
    """Default ports, case, unreserved escapes and dot-segments are normalised (RFC 3986 §6.2.2)."""
    assert normalise("http://EX.org:80/a/b/../c/%7e") == "http://ex.org/a/c/~"
    assert normalise("https://ex.org./a") == "https://ex.org/a"
    assert normalise("https://ex.org/a%2Fb") is None
    assert normalise("ftp://ex.org/") is None


def test_a_name_resolving_to_an_internal_address_is_refused(receiver: Receiver) -> None:
    """Host names used to be compared as strings and never resolved: `localhost` reached loopback."""
    port = receiver.server.server_address[1]
    with pytest.raises(TargetRefused, match="internal address"):
        asyncio.run(check_target(f"http://localhost:{port}/hooks/x", [f"http://localhost:{port}/hooks/"]))


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "100.100.100.200", "10.0.0.7", "192.168.1.1", "::1", "fe80::1", "::ffff:127.0.0.1"],
)
def test_an_allowed_name_pointing_inside_is_refused(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """The allowed name is re-pointed (DNS) at the metadata service or the county LAN: refused."""
    _resolve_to(monkeypatch, address)
    with pytest.raises(TargetRefused, match="internal address"):
        asyncio.run(check_target(ALLOWED + "x", [ALLOWED]))
    _resolve_to(monkeypatch, "58.16.0.1", address)  # a public and an internal answer: still refused
    with pytest.raises(TargetRefused):
        asyncio.run(check_target(ALLOWED + "x", [ALLOWED]))
    _resolve_to(monkeypatch, "58.16.0.1")
    checked = asyncio.run(check_target(ALLOWED + "x", [ALLOWED]))
    assert checked.url == "https://58.16.0.1/hooks/x" and checked.server_name == "hr.county.example"


def _resolve_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    async def fake(self: object, host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        assert host == "hr.county.example"
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", fake)


def test_an_address_the_operator_names_is_called_at_the_checked_address(receiver: Receiver) -> None:
    """Naming 127.0.0.1 in the allow-list allows it; the worker connects to the address it checked and
    tells the server the name (Host), so no second lookup can re-point the delivery."""
    port = receiver.server.server_address[1]
    prefixes = [f"http://localhost:{port}/hooks/", f"http://127.0.0.1:{port}/"]
    checked = asyncio.run(check_target(f"http://localhost:{port}/hooks/x", prefixes))
    assert checked.url == f"http://127.0.0.1:{port}/hooks/x"
    secret = signing.new_secret()
    receiver.secrets["/hooks/x"] = secret
    headers = signing.headers(secret, msg_id="m1", timestamp=int(time.time()), body=b"{}")
    httpx.post(checked.url, content=b"{}", headers={**headers, "Host": checked.host_header})
    assert receiver.received[-1][1]["host"] == f"localhost:{port}"
