"""The notice feed over HTTP from 127.0.0.1, and feeds that must be refused."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from connectors.demo import CountyManifest
from connectors.publicity import PublicityConnector, PublicitySettings
from connectors.sdk.runner import run_connectors
from connectors.sdk.testing import TODAY


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def web(tmp_path: Path, county: tuple[Path, CountyManifest]) -> Iterator[tuple[str, Path]]:
    """Serve a folder holding the county's feed on 127.0.0.1; return its URL and path."""
    (tmp_path / "feed.xml").write_bytes((county[0] / "publicity_feed.xml").read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        thread.join(timeout=5)


def sync(store: Engine, url: str) -> tuple[bool, str | None, int]:
    """Sync the feed at `url`; return ok, error and the number of notices stored."""
    summary = run_connectors(
        store, [PublicityConnector(PublicitySettings(url=url, max_attempts=1))], today=TODAY
    )
    with store.connect() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM notice")).scalar_one()
    return summary.ok, summary.sources[0].error, int(count)


def test_feed_by_url(web: tuple[str, Path], store: Engine, county: tuple[Path, CountyManifest]) -> None:
    """The feed is fetched over HTTP and every item ends up a notice (edits collapse onto their guid)."""
    ok, error, count = sync(store, f"{web[0]}/feed.xml")
    assert ok, error
    assert 0 < count <= county[1].counts["publicity_feed.xml"]


def test_missing_and_hostile_feeds_fail_the_source(web: tuple[str, Path], store: Engine) -> None:
    """HTTP 404, malformed XML and an entity-expansion DTD fail the sync; nothing is stored."""
    ok, error, _ = sync(store, f"{web[0]}/nope.xml")
    assert not ok and "404" in (error or "")
    (web[1] / "broken.xml").write_text("<rss><channel><item><guid>x</guid>", encoding="utf-8")
    ok, error, _ = sync(store, f"{web[0]}/broken.xml")
    assert not ok and "not well-formed" in (error or "")
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss>&b;</rss>'
    (web[1] / "bomb.xml").write_text(bomb, encoding="utf-8")
    ok, error, count = sync(store, str(web[1] / "bomb.xml"))
    assert not ok and count == 0
