"""Headless Debian Chromium driven by playwright, with every non-loopback request blocked and counted.

A pytest plugin (tests/support/plugin.py loads it) for its shared `page_and_blocked` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.support.callers import Staff
from tests.support.env import skip_or_fail

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


# Draw each Han character of an element in the element's own font and compare it with the drawing of an
# unassigned code point (U+0378): a character without a glyph in any installed font is drawn as that
# same .notdef box ("tofu"), whatever its code point. Returns the characters drawn as tofu.
_TOFU_JS = """
([selector, limit]) => {
  const el = document.querySelector(selector);
  if (!el) throw new Error("no element " + selector);
  const font = getComputedStyle(el).font;
  const chars = [...new Set((el.innerText.match(/\\p{Script=Han}/gu) || []))].slice(0, limit);
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const draw = (c) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font.replace(/\\d+(\\.\\d+)?px/, "40px");
    ctx.fillStyle = "#000";
    ctx.fillText(c, 4, 48);
    return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(",");
  };
  const tofu = draw("\\u0378");
  return {chars: chars.length, tofu: chars.filter((c) => draw(c) === tofu)};
}
"""


def tofu(page: Any, selector: str = "body", *, limit: int = 60) -> tuple[int, list[str]]:
    """Return how many Han characters the element shows, and those drawn as missing-glyph boxes."""
    found = page.evaluate(_TOFU_JS, [selector, limit])
    return int(found["chars"]), list(found["tofu"])


def assert_renders_chinese(page: Any, selector: str = "body") -> None:
    """Fail when the element shows no Chinese, or shows Chinese as tofu (no CJK font: fonts-noto-cjk)."""
    shown, boxes = tofu(page, selector)
    assert shown, f"{selector} shows no Chinese text"
    assert not boxes, f"{len(boxes)} of {shown} Chinese characters render as missing glyphs: {''.join(boxes)}"


@pytest.fixture
def page_and_blocked() -> Iterator[tuple[Any, Any]]:
    """Yield an offline Chromium page, or skip (fail in CI) without Chromium."""
    if not chromium_available():
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    with offline_page() as pair:
        yield pair


@contextmanager
def offline_page(*, fonts_dir: str | None = None) -> Iterator[tuple[Any, Blocked]]:
    """Yield a playwright page on which only 127.0.0.1 is reachable, and the list of blocked URLs.

    `fonts_dir` limits chromium to the fonts of one directory (a machine without CJK fonts, for tests).
    """
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
        env = _fontconfig_env(fonts_dir) if fonts_dir else None
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=env)
        try:
            context = browser.new_context()
            context.route("**/*", guard)
            yield context.new_page(), blocked
        finally:
            browser.close()


def _fontconfig_env(fonts_dir: str) -> dict[str, str]:
    """Return an environment whose fontconfig sees only the fonts under fonts_dir."""
    import tempfile

    conf = Path(tempfile.mkdtemp(prefix="fontconfig-")) / "fonts.conf"
    conf.write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{fonts_dir}</dir>'
        f"<cachedir>{conf.parent}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def sign_in(page: Any, url: str, *, username: str, password: str, code: str) -> None:
    """Open a console's sign-in page and sign in with a staff account, its password and a TOTP code."""
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#totp", code)
    page.click("#login")


def dashboard_sign_in(page: Any, base_url: str, person: Staff) -> None:
    """Sign in to the dashboard at `base_url` as a provisioned staff account."""
    url = base_url + "/dashboard/"
    sign_in(page, url, username=person.account, password=person.password, code=person.code())


@contextmanager
def dashboard_page(base_url: str, person: Staff, *, width: int) -> Iterator[tuple[Any, Blocked]]:
    """Yield an offline page `width` pixels wide signed in to the dashboard, and its blocked URLs."""
    with offline_page() as (page, blocked):
        page.set_viewport_size({"width": width, "height": 900})
        dashboard_sign_in(page, base_url, person)
        yield page, blocked
