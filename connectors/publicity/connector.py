"""Publicity (宣传): the county convergence-media centre's RSS notice feed, by URL or file."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

import httpx
from defusedxml.ElementTree import iterparse
from pydantic import Field

from connectors.publicity.models import GOV, FeedItem, PublicityPush
from connectors.publicity.translate import translate_item
from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourceSettings
from connectors.sdk.errors import FatalSourceError, RetriableSourceError
from connectors.sdk.records import Checkpoint, RawItem, RawRecord, Translation
from schemas.codes import Department

_REPEATED = {f"{{{GOV}}}region": "gov:region", f"{{{GOV}}}audience": "gov:audience"}
_SINGLE = {f"{{{GOV}}}expires": "gov:expires"}


class PublicitySettings(SourceSettings):
    """Where the feed is: an http(s) URL, or a file path."""

    url: str = Field(description="https://media.example/rss.xml or /path/to/feed.xml")
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)


def item_payload(element: Element) -> dict[str, Any]:
    """Return an <item> as a payload: child elements by name, gov:region and gov:audience as lists."""
    payload: dict[str, Any] = {"gov:region": [], "gov:audience": []}
    for child in element:
        text = (child.text or "").strip()
        if child.tag in _REPEATED:
            payload[_REPEATED[child.tag]].append(text)
        elif child.tag in _SINGLE:
            payload[_SINGLE[child.tag]] = text
        elif "}" not in child.tag:
            payload[child.tag] = child.text or ""
    return payload


class PublicityConnector(Connector[PublicitySettings]):
    """Notices of the feed; an edited item (same guid, newer pubDate) replaces the stored one."""

    name: ClassVar[str] = "publicity"
    department: ClassVar[Department] = Department.PUBLICITY
    settings_model = PublicitySettings
    raw_models = (FeedItem,)
    push_model = PublicityPush
    order: ClassVar[int] = 40

    def _fetch(self) -> bytes:
        """Read the feed from its URL (retrying transient failures) or file."""
        url = self.settings.url
        if not url.startswith(("http://", "https://")):
            path = Path(url.removeprefix("file://"))
            try:
                return path.read_bytes()
            except OSError as exc:
                raise FatalSourceError(f"publicity: cannot read {path}: {exc.strerror}") from None
        problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                response = httpx.get(url, timeout=self.settings.timeout_seconds, follow_redirects=True)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code < 500 and response.status_code != 429:
                    raise FatalSourceError(f"publicity: the feed answered HTTP {response.status_code}")
                problem = f"HTTP {response.status_code}"
            if attempt < self.settings.max_attempts:
                time.sleep(min(10.0, 0.5 * 2**attempt))
        raise RetriableSourceError(
            f"publicity: feed still failing after {self.settings.max_attempts} attempts: {problem}"
        )

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Stream the feed's items (defusedxml: no entities, no external references)."""
        content = self._fetch()
        try:
            for _event, element in iterparse(io.BytesIO(content), events=("end",)):
                if element.tag == "item":
                    yield RawItem(FeedItem, item_payload(element))
                    element.clear()
        except Exception as exc:  # ParseError or a defusedxml refusal (DTD, entities)
            raise FatalSourceError(
                f"publicity: the feed is not well-formed RSS: {type(exc).__name__}: {exc}"
            ) from None
        yield Checkpoint(state={}, final=True)

    def translate(self, raw: RawRecord) -> Translation:
        """Translate an item."""
        assert isinstance(raw, FeedItem)
        return translate_item(raw)
