"""Pure translation of a feed item to a Notice: sanitised body, plain text, codes from Chinese labels."""

from __future__ import annotations

import datetime as dt
import email.utils

from connectors.publicity.models import FeedItem
from connectors.publicity.sanitise import plain_text, plain_title, safe_link, sanitise_html, valid_guid
from connectors.sdk.errors import Reason, RecordInvalid
from connectors.sdk.normalise import parse_instant, region_code
from schemas.codes import Audience, NoticeCategory
from schemas.models import Notice

CATEGORY = {c.label: c for c in NoticeCategory}
AUDIENCE = {a.label: a for a in Audience}


def rfc822(raw: str | None, *, field: str) -> dt.datetime:
    """Parse an RFC 822 date ('Mon, 13 Jul 2026 07:00:00 +0800') to aware UTC."""
    try:
        moment = email.utils.parsedate_to_datetime((raw or "").strip())
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {raw!r} is not an RFC 822 date")
    if moment.tzinfo is None:
        raise RecordInvalid(Reason.INVALID_DATE, f"{field}: {raw!r} has no time zone")
    return moment.astimezone(dt.UTC)


def translate_item(item: FeedItem) -> Notice:
    """Translate an item; an item without a region, title or known category is held back."""
    title = plain_title(item.title or "")
    if not title:
        raise RecordInvalid(Reason.INVALID_RECORD, "title is empty (or markup only)")
    guid = item.guid.strip()
    if not valid_guid(guid):
        raise RecordInvalid(Reason.INVALID_RECORD, "guid must be letters, digits and . _ : / - only")
    category = CATEGORY.get((item.category or "").strip())
    if category is None:
        raise RecordInvalid(
            Reason.INVALID_CODE, f"category: {item.category!r} is not one of {list(CATEGORY)}"
        )
    audiences = []
    for label in item.audiences:
        audience = AUDIENCE.get(label.strip())
        if audience is None:
            raise RecordInvalid(
                Reason.INVALID_CODE, f"gov:audience: {label!r} is not one of {list(AUDIENCE)}"
            )
        audiences.append(audience)
    regions = [code for raw in item.regions if (code := region_code(raw, field="gov:region"))]
    if not regions:
        raise RecordInvalid(Reason.INVALID_REGION, "gov:region is missing: the notice addresses nobody")
    body = sanitise_html(item.description or "")
    return Notice(
        id=guid,
        title=title,
        body_html=body,
        body_text=plain_text(body),
        category=category,
        regions=list(dict.fromkeys(regions)),
        # No gov:audience means the notice is for everyone (全体村民).
        audiences=list(dict.fromkeys(audiences)) or [Audience.EVERYONE],
        link=safe_link(item.link),
        published_at=rfc822(item.pub_date, field="pubDate"),
        expires_at=parse_instant(item.expires, field="gov:expires")
        if item.expires and item.expires.strip()
        else None,
    )
