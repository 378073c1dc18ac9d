"""Headless Debian Chromium driven by playwright, with every non-loopback request blocked and counted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

CHROMIUM = os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Blocked:
    """URLs the page tried to load from anywhere but this machine."""

    urls: list[str] = field(default_factory=list)


def chromium_available() -> bool:
    """Tell whether Debian's chromium is installed."""
    return os.path.exists(CHROMIUM)


@contextmanager
def offline_page() -> Iterator[tuple[object, Blocked]]:
    """Yield a playwright page on which only 127.0.0.1 is reachable, and the list of blocked URLs."""
    from playwright.sync_api import Route, sync_playwright

    blocked = Blocked()

    def guard(route: Route) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.urls.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            context.route("**/*", guard)
            yield context.new_page(), blocked
        finally:
            browser.close()
