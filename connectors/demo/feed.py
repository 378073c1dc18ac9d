"""Write the county media centre's notice feed: RSS 2.0 with the gov: namespace and editors' HTML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from connectors.demo.gazetteer import COUNTY, Gazetteer
from connectors.demo.quirks import QuirkBook
from connectors.demo.reference import NOTICE_AUDIENCES, NOTICE_CATEGORIES, NOTICE_TITLES, REFERENCE_DAY
from schemas.time import CHINA

BASE = "https://media.shifan.example"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# What editors paste into the rich-text editor; every one must be sanitised away downstream.
HAZARDS: dict[str, str] = {
    "rss_script": "<script>alert(1)</script>",
    "rss_on_handler": '<p style="x" onclick="steal()">详情</p>',
    "rss_javascript_link": '<a href="javascript:alert(3)">点击</a>',
    "rss_iframe": '<iframe src="http://example.invalid/embed"></iframe>',
    "rss_remote_img": '<img src="http://example.invalid/banner.png" onerror="alert(2)">',
}


def rfc822(moment: dt.datetime) -> str:
    """Format a Beijing-time moment as an RFC 822 date with +0800, independent of the locale."""
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
        f"{moment:%H:%M:%S} +0800"
    )


def feed_size(residents: int) -> int:
    """Return how many distinct notices a county of this size publishes."""
    return min(300, max(20, residents // 2000))


@dataclass(frozen=True)
class _Notice:
    """One notice as the CMS publishes it."""

    guid: str
    title: str
    body: str
    published: dt.datetime
    category: str
    regions: tuple[str, ...]
    audiences: tuple[str, ...]
    expires: dt.datetime | None

    def render(self) -> str:
        """Render the notice as one <item> line."""
        parts = [
            f'<item><guid isPermaLink="false">{self.guid}</guid><title>{escape(self.title)}</title>',
            f"<link>{BASE}/n/{self.guid}</link><description><![CDATA[{self.body}]]></description>",
            f"<pubDate>{rfc822(self.published)}</pubDate><category>{self.category}</category>",
            *(f"<gov:region>{code}</gov:region>" for code in self.regions),
            *(f"<gov:audience>{a}</gov:audience>" for a in self.audiences),
        ]
        if self.expires is not None:
            parts.append(f"<gov:expires>{self.expires.isoformat()}</gov:expires>")
        parts.append("</item>\n")
        return "".join(parts)


def _regions(gaz: Gazetteer, *, u: float, pick: float) -> tuple[str, ...]:
    """Choose the area(s) a notice addresses: the county, a township, or one or two villages."""
    if u < 0.3:
        return (COUNTY[0],)
    if u < 0.5:
        return (gaz.townships[int(pick * len(gaz.townships))].code,)
    first = gaz.villages[int(pick * len(gaz.villages))].code
    if u < 0.85:
        return (first,)
    second = gaz.villages[int((1 - pick) * len(gaz.villages) * 0.999)].code
    return (first,) if second == first else (first, second)


def write_feed(path: Path, *, gaz: Gazetteer, residents: int, rng: random.Random, quirks: QuirkBook) -> int:
    """Write publicity_feed.xml; return the number of <item> elements (edits included)."""
    r = rng.random
    notices: list[_Notice] = []
    edits: list[_Notice] = []
    window = int((REFERENCE_DAY - dt.date(2026, 6, 1)).days * 24)
    start = dt.datetime(2026, 6, 1, tzinfo=CHINA)
    expired_needed = True
    for i in range(feed_size(residents)):
        title = NOTICE_TITLES[int(r() * len(NOTICE_TITLES))]
        published = start + dt.timedelta(hours=int(r() * (window - 24)))
        body = f"<p>{title}。</p><p>请{'各村（社区）' if r() < 0.5 else '广大群众'}相互转告。</p>"
        body += "".join(html for name, html in HAZARDS.items() if quirks.hit(name))
        audiences = [NOTICE_AUDIENCES[int(r() * 4)]]
        other = NOTICE_AUDIENCES[int(r() * 4)]
        if r() < 0.4 and other not in audiences:
            audiences.append(other)
        expires: dt.datetime | None = None
        if r() < 0.35 or expired_needed:
            expires = published + dt.timedelta(days=5 + int(r() * 45))
            if expired_needed and expires.date() >= REFERENCE_DAY:
                expires = published + dt.timedelta(days=1)
            if expires.date() < REFERENCE_DAY:
                quirks.note("rss_expired")
                expired_needed = False
        notice = _Notice(
            guid=f"notice-{i:05d}",
            title=title,
            body=body,
            published=published,
            category="应急预警" if "预警" in title else NOTICE_CATEGORIES[int(r() * 3)],
            regions=_regions(gaz, u=r(), pick=r()),
            audiences=tuple(audiences),
            expires=expires,
        )
        notices.append(notice)
        if r() < 0.1 or i == 0:
            quirks.note("rss_edited_repeat")
            edited = published + dt.timedelta(hours=1 + int(r() * 47))
            edits.append(dataclasses.replace(notice, body=body + "<p>（已更新）</p>", published=edited))
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:gov="urn:example:gov-notice:1"><channel>\n'
        f"<title>示范县融媒体中心 通知公告</title><link>{BASE}/</link><description>示范县</description>\n"
    )
    body_xml = "".join(n.render() for n in notices + edits)
    path.write_text(head + body_xml + "</channel></rss>\n", encoding="utf-8")
    return len(notices) + len(edits)
