"""Raw items of the county media centre's RSS 2.0 notice feed (with the gov: namespace)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from connectors.sdk.batch import Payload, PushBatch
from connectors.sdk.records import BODY_LEN, CODE_LEN, DATE_LEN, TEXT_LEN, URL_LEN, RawRecord

GOV = "urn:example:gov-notice:1"


class FeedItem(RawRecord):
    """An <item>: plain RSS elements plus gov:region, gov:audience (repeatable) and gov:expires."""

    key_alias = "guid"
    kind = "notice"

    guid: str = Field(max_length=TEXT_LEN, min_length=1)
    title: str | None = Field(default=None, max_length=TEXT_LEN)
    link: str | None = Field(default=None, max_length=URL_LEN)
    description: str | None = Field(default=None, max_length=BODY_LEN)
    pub_date: str | None = Field(max_length=DATE_LEN, default=None, alias="pubDate")
    category: str | None = Field(default=None, max_length=TEXT_LEN)
    regions: list[Annotated[str, StringConstraints(max_length=CODE_LEN)]] = Field(
        default_factory=list, alias="gov:region"
    )
    audiences: list[Annotated[str, StringConstraints(max_length=CODE_LEN)]] = Field(
        default_factory=list, alias="gov:audience"
    )
    expires: str | None = Field(max_length=DATE_LEN, default=None, alias="gov:expires")


class PublicityPush(PushBatch):
    """New or edited notices from the media centre's CMS: RSS <item>s as objects keyed by element name.

    gov:region and gov:audience are lists (they repeat in the feed); description is the editor's HTML,
    sanitised before anyone is served it, exactly as a synced feed item is.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "guid": "notice-00100",
                            "title": "关于冬季防火的通知",
                            "link": "https://media.shifan.example/n/notice-00100",
                            "description": "<p>请各村做好冬季防火工作。</p>",
                            "pubDate": "Mon, 02 Nov 2026 09:00:00 +0800",
                            "category": "通知公告",
                            "gov:region": ["511599000000"],
                            "gov:audience": ["全体村民"],
                            "gov:expires": "2026-12-31T23:59:59+08:00",
                        }
                    ]
                }
            ]
        }
    )

    streams = (("items", FeedItem),)
    max_key = 255  # a guid is often the item's URL

    items: list[Payload] = Field(
        default_factory=list,
        description="Feed items: guid, title, link, description, pubDate (RFC 822), category, gov:region, "
        "gov:audience, gov:expires (RFC 3339).",
    )
