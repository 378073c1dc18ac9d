"""Horizontal bar charts as inline SVG, rendered on the server: no script, no CDN, no library."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from gateway.stats.suppression import Shown

WIDTH = 640
LABEL_W = 150
VALUE_W = 70
ROW_H = 26
BAR_H = 16


def text_width(text: str, *, size: float = 13) -> float:
    """Return an upper bound of a label's rendered width: a CJK character is a full em, others half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def bar_chart(
    rows: Sequence[tuple[str, Shown | None]], *, title: str, percent: bool = False, css: str = "chart"
) -> Markup:
    """Return an SVG bar chart of labelled values; hidden values ("<5", "*") get a mark, not a bar."""
    numbers = [v for _, v in rows if isinstance(v, int | float)]
    top = max([*numbers, 1.0 if percent else 1])
    if percent:
        top = 1.0
    # Labels are never cut: the label column widens to the longest and the chart with it.
    label_w = max([LABEL_W, *(int(text_width(label)) + 16 for label, _ in rows)])
    width = WIDTH - LABEL_W + label_w
    span = width - label_w - VALUE_W
    height = ROW_H * max(len(rows), 1) + 8
    parts = [
        f'<svg class="{css}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * ROW_H
        mid = y + ROW_H / 2
        top_y = f"{mid - BAR_H / 2:.1f}"
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{mid:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label)}</text>'
        )
        if isinstance(value, int | float):
            w = span * (value / top) if top else 0
            text = f"{value:.1%}" if percent else str(value)
            parts.append(f'<rect class="bar" x="{label_w}" y="{top_y}" width="{w:.1f}" height="{BAR_H}"/>')
        else:
            # A suppressed count is drawn as a short hatched stub so no length hints at its value.
            text = "无数据" if value is None else str(value)
            parts.append(f'<rect class="bar hidden" x="{label_w}" y="{top_y}" width="6" height="{BAR_H}"/>')
            w = 6
        parts.append(
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{mid:.1f}" '
            f'dominant-baseline="middle">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated string is escaped above
