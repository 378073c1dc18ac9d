"""Notice fields other than the body are plain text or validated URLs (issue 12, Build 7)."""

from __future__ import annotations

import pytest

from connectors.publicity.models import FeedItem
from connectors.publicity.translate import translate_item
from connectors.sdk.errors import RecordInvalid


def _item(**extra: object) -> FeedItem:
    raw = {
        "guid": "n-1",
        "title": "关于冬季防火的通知",
        "link": "https://www.example.gov.cn/n/1.html",
        "description": "<p>注意防火</p>",
        "pubDate": "Mon, 02 Nov 2026 09:00:00 +0800",
        "category": "通知公告",
        "gov:region": ["511599000000"],
        "gov:audience": ["全体村民"],
    }
    raw.update(extra)
    return FeedItem.model_validate(raw)


def test_title_markup_is_stripped() -> None:
    notice = translate_item(_item(title="<b>防火</b><script>alert(1)</script>"))
    assert notice.title == "防火"


@pytest.mark.parametrize("guid", ["<script>x</script>", "n 1", "n\n1", 'n"1'])
def test_guid_with_markup_is_refused(guid: str) -> None:
    with pytest.raises(RecordInvalid):
        translate_item(_item(guid=guid))


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)//https://x",
        "https://",
        "http:///path",
        "https://exa mple.cn/",
        "ftp://x.cn/",
        "//x.cn/a",
    ],
)
def test_links_must_be_absolute_http_urls(link: str) -> None:
    assert translate_item(_item(link=link)).link is None


def test_a_valid_link_is_kept() -> None:
    assert translate_item(_item()).link == "https://www.example.gov.cn/n/1.html"


@pytest.mark.parametrize(
    "description",
    [
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&amp;lt;b&amp;gt;",
    ],
)
def test_body_text_gains_no_markup_through_entities(description: str) -> None:
    text = translate_item(_item(description=description)).body_text
    assert "<script" not in text and "<img" not in text and "<b>" not in text
