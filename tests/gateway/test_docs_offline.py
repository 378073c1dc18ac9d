"""The API docs render in a browser with no internet: every asset is served by the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.live import LiveServer


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveServer]:
    """Serve the gateway for real on 127.0.0.1."""
    with LiveServer(create_app(Settings(database_url=sqlite_url))) as server:
        yield server


def test_swagger_ui_renders_every_operation_offline(
    live: LiveServer, page_and_blocked: tuple[Any, Any]
) -> None:
    page, blocked = page_and_blocked
    spec = httpx.get(live.url + "/openapi.json").json()
    n_ops = sum(len(ops) for ops in spec["paths"].values())
    page.goto(live.url + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() == n_ops
    assert "Xiangzhi Gateway" in page.locator(".title").first.inner_text()
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body", timeout=5_000)
    assert blocked.urls == []


def test_redoc_renders_offline(live: LiveServer, page_and_blocked: tuple[Any, Any]) -> None:
    page, blocked = page_and_blocked
    page.goto(live.url + "/redoc")
    page.wait_for_selector("[role=menuitem], .menu-content li", timeout=20_000)
    assert "List residents" in page.content()
    assert blocked.urls == []
