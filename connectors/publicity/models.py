"""Raw items of the county media centre's RSS 2.0 notice feed (with the gov: namespace)."""

from __future__ import annotations

from pydantic import Field

from connectors.sdk.records import RawRecord

GOV = "urn:example:gov-notice:1"


class FeedItem(RawRecord):
    """An <item>: plain RSS elements plus gov:region, gov:audience (repeatable) and gov:expires."""

    key_alias = "guid"
    kind = "notice"

    guid: str = Field(min_length=1)
    title: str | None = None
    link: str | None = None
    description: str | None = None
    pub_date: str | None = Field(default=None, alias="pubDate")
    category: str | None = None
    regions: list[str] = Field(default_factory=list, alias="gov:region")
    audiences: list[str] = Field(default_factory=list, alias="gov:audience")
    expires: str | None = Field(default=None, alias="gov:expires")
