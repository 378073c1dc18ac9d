"""A stacked bar chart of accesses per department per day, drawn as inline SVG on the server (no CDN)."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

from gateway.dashboard.svg import text_width

PALETTE = (
    "#2f6db5",
    "#d9822b",
    "#3a9c5b",
    "#a23b72",
    "#6b6b6b",
    "#c9b400",
    "#17a2b8",
    "#8c564b",
    "#e377c2",
    "#1f1f7a",
)
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 260, 44, 40, 16
LEGEND_ROW = 18


def _legend(labels: list[str]) -> list[tuple[float, int]]:
    """Place legend entries left to right, wrapping to a new row before one would cross the edge."""
    places: list[tuple[float, int]] = []
    x, row = float(LEFT), 0
    for text in labels:
        w = 14 + text_width(text, size=11) + 18
        if x + w > WIDTH - 8 and x > LEFT:
            x, row = float(LEFT), row + 1
        places.append((x, row))
        x += w
    return places


def accesses_chart(
    rows: list[tuple[str, str, int, int]], *, max_days: int = 31, label: Callable[[str], str] = str
) -> Markup:
    """Return an SVG element: one stacked bar per day, one colour per department (allowed + denied)."""
    days = sorted({d for d, *_ in rows})[-max_days:]
    depts = sorted({dep for _, dep, *_ in rows})
    if not days:
        return Markup('<p class="empty">所选时间内没有访问记录。</p>')
    names = [label(dep) if dep else "(未知)" for dep in depts]
    places = _legend(names)
    # The legend never cuts: as many rows as it needs, the chart taller by them.
    height = HEIGHT + LEGEND_ROW * (max((r for _, r in places), default=0))
    totals = {(d, dep): a + n for d, dep, a, n in rows}
    peak = max(sum(totals.get((d, dep), 0) for dep in depts) for d in days) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / len(days)
    bar = max(step * 0.7, 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="各部门每日访问量">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" stroke="#999"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, day in enumerate(days):
        x = LEFT + i * step + (step - bar) / 2
        y = float(TOP + plot_h)
        for j, dep in enumerate(depts):
            count = totals.get((day, dep), 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(day)} {escape(names[j])}: {count}</title></rect>"
            )
        if len(days) <= 12 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="11">'
                f"{escape(day[5:])}</text>"
            )
    for j, (name, (lx, row)) in enumerate(zip(names, places, strict=True)):
        y = HEIGHT - 14 + row * LEGEND_ROW
        parts.append(
            f'<g class="legend"><rect x="{lx:.1f}" y="{y}" width="10" height="10" '
            f'fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 14:.1f}" y="{y + 9}" font-size="11">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    # Every text in `parts` went through escape(); numbers and colours are ours.
    return Markup("".join(parts))  # noqa: S704
