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
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
