"""A stacked bar chart of accesses per department per day, drawn as inline SVG on the server (no CDN)."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#2f6db5", "#d9822b", "#3a9c5b", "#a23b72", "#6b6b6b", "#c9b400")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 260, 44, 40, 16


def accesses_chart(rows: list[tuple[str, str, int, int]], *, max_days: int = 31) -> Markup:
    """Return an SVG element: one stacked bar per day, one colour per department (allowed + denied)."""
    days = sorted({d for d, *_ in rows})[-max_days:]
    depts = sorted({dep for _, dep, *_ in rows})
    if not days:
        return Markup('<p class="empty">所选时间内没有访问记录。</p>')
    totals = {(d, dep): a + n for d, dep, a, n in rows}
    peak = max(sum(totals.get((d, dep), 0) for dep in depts) for d in days) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / len(days)
    bar = max(step * 0.7, 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" aria-label="各部门每日访问量">',
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
                f"<title>{escape(day)} {escape(dep)}: {count}</title></rect>"
            )
        if len(days) <= 12 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="11">'
                f"{escape(day[5:])}</text>"
            )
    for j, dep in enumerate(depts):
        lx = LEFT + j * 130
        parts.append(
            f'<rect x="{lx}" y="{HEIGHT - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="{HEIGHT - 5}" font-size="11">{escape(dep or "(未知)")}</text>'
        )
    parts.append("</svg>")
    # Every text in `parts` went through escape(); numbers and colours are ours.
    return Markup("".join(parts))  # noqa: S704
