"""Line charts of the statistics series as inline SVG, rendered on the server: no script, no CDN.

A hidden count ("<5", "*") has no point: the line breaks there, so no position hints at its value.
Lines differ by colour and by dash pattern, so a black-and-white print still tells them apart; the
legend wraps onto as many rows as it needs and never cuts an entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from gateway.dashboard.svg import text_width
from gateway.stats.suppression import Shown

WIDTH = 640
LEFT, RIGHT, TOP, PLOT_H = 48, 24, 12, 170
AXIS_H = 26
LEGEND_ROW = 22
COLOURS = ("#2f5d3a", "#b5472f", "#2f5d9b", "#8a6d1f", "#6b3f8a", "#1f7a7a", "#555555", "#a33a6b")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")


def _ceiling(top: float) -> int:
    """Return a round upper bound of the axis (1, 2 or 5 times a power of ten)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= top:
                return step * m
        step *= 10


def _legend(names: Sequence[str]) -> tuple[list[tuple[float, float, int, str]], float]:
    """Lay legend entries out in rows of the chart's width; return (x, y, index, name) and the height."""
    placed = []
    x, y = float(LEFT), 0.0
    for i, name in enumerate(names):
        w = 34 + text_width(name, size=12) + 18
        if x + w > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + LEGEND_ROW
        placed.append((x, y, i, name))
        x += w
    return placed, y + LEGEND_ROW


class _Frame:
    """The plot's scales: periods spread across the width, counts from 0 to a round top."""

    def __init__(self, periods: Sequence[str], top: int) -> None:
        self.periods, self.top = periods, top

    def x(self, i: int) -> float:
        """Return the x of the i-th period."""
        span, n = WIDTH - LEFT - RIGHT, len(self.periods)
        return LEFT + (span / 2 if n == 1 else span * i / (n - 1))

    def y(self, v: int) -> float:
        """Return the y of a count."""
        return TOP + PLOT_H * (1 - v / self.top)


def _stroke(s: int) -> str:
    dash = DASHES[s % len(DASHES)]
    return f'stroke="{COLOURS[s % len(COLOURS)]}"' + (f' stroke-dasharray="{dash}"' if dash else "")


def _axes(frame: _Frame) -> list[str]:
    parts = []
    for tick in (0, frame.top // 2, frame.top):
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{tick}</text>'
        )
    for i, period in enumerate(frame.periods):
        parts.append(
            f'<text class="tick" x="{frame.x(i):.1f}" y="{TOP + PLOT_H + 18}" text-anchor="middle">'
            f"{escape(period)}</text>"
        )
    return parts


def _line(frame: _Frame, s: int, name: str, values: Sequence[Shown | None]) -> list[str]:
    parts = []
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if not isinstance(v, int):
            if runs[-1]:
                runs.append([])  # a hidden count breaks the line
            continue
        x, y = frame.x(i), frame.y(v)
        runs[-1].append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[s % len(COLOURS)]}">'
            f"<title>{escape(name)} {escape(frame.periods[i])}: {v}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            parts.append(
                f'<polyline class="line" fill="none" stroke-width="2" {_stroke(s)} points="{" ".join(run)}"/>'
            )
    return parts


def line_chart(
    periods: Sequence[str], series: Sequence[tuple[str, Sequence[Shown | None]]], *, title: str
) -> Markup:
    """Return an SVG line chart: one line per (name, values) over the periods, a complete legend."""
    numbers = [v for _, vals in series for v in vals if isinstance(v, int)]
    frame = _Frame(periods, _ceiling(max([*numbers, 1])))
    entries, legend_h = _legend([name for name, _ in series])
    height = TOP + PLOT_H + AXIS_H + legend_h + 6
    parts = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *_axes(frame),
    ]
    for s, (name, values) in enumerate(series):
        parts += _line(frame, s, name, values)
    base = TOP + PLOT_H + AXIS_H
    for x, y, s, name in entries:
        yy = base + y + LEGEND_ROW / 2
        parts.append(
            f'<g class="legend-entry"><line x1="{x:.1f}" x2="{x + 28:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke-width="2" {_stroke(s)}/><text class="legend-label" x="{x + 34:.1f}" y="{yy:.1f}" '
            f'dominant-baseline="middle">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated string is escaped above
