"""Sanitise notice bodies written in a rich-text editor: an allow-list of tags and attributes (nh3).

Nothing executable survives: no <script>/<style> (dropped with their content), no on* handlers (no
attribute outside the allow-list survives), no javascript: or data: URLs (http, https, mailto, tel only),
no frames, objects or embeds (dropped with their content), and no images (the CMS links them from remote
servers: a reader's client would fetch them, which leaks who reads what and fails offline).
"""

from __future__ import annotations

import html
import re
from typing import Final
from urllib.parse import urlsplit

import nh3

TAGS: Final = frozenset(
    {
        "p", "br", "hr", "div", "span", "strong", "b", "em", "i", "u", "s", "sub", "sup",
        "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td", "a",
    }
)  # fmt: skip
ATTRIBUTES: Final = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
DROP_WITH_CONTENT: Final = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
    }
)
URL_SCHEMES: Final = frozenset({"http", "https", "mailto", "tel"})
_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|h[1-6]|tr|blockquote|table|ul|ol)>|<hr\s*/?>")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")
# After entity decoding, a "<" that opens a tag, comment or declaration would be live markup again.
_MARKUP_START = re.compile(r"<(?=[A-Za-z/!?])")
_GUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,127}")
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]+")


def sanitise_html(raw: str) -> str:
    """Return the body with only the allow-listed markup left."""
    return nh3.clean(
        raw,
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_text(clean_html: str) -> str:
    """Return sanitised HTML as plain text, one line per block (for reading aloud or SMS)."""
    marked = _BLOCK_END.sub("\n", clean_html)
    text = html.unescape(nh3.clean(marked, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT)))
    # `&lt;script&gt;` decodes to "<script>": show it as the fullwidth "＜script>", text not markup.
    text = _MARKUP_START.sub("\uff1c", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def plain_title(raw: str) -> str:
    """Return a title as plain text: markup stripped (scripts with their content), one line."""
    return " ".join(plain_text(sanitise_html(raw)).split())


def valid_guid(raw: str) -> bool:
    """Tell whether a feed guid is a plain identifier (it becomes the notice id in URLs and JSON)."""
    return _GUID.fullmatch(raw) is not None


def safe_link(raw: str | None) -> str | None:
    """Return an absolute http(s) URL with a host, or None (javascript:, relative, spaces, no host)."""
    value = (raw or "").strip()
    if not value or any(c.isspace() or not c.isprintable() or c in "<>\"'`" for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme.lower() not in {"http", "https"} or not host or not _HOST.fullmatch(host):
        return None
    return value
