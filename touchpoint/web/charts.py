"""Line charts drawn on the server as inline SVG.

The machines that run the bot may have no internet, and a page that needs a
charting library fetched at run time would show nothing there; a few lines
of SVG need nothing. Colours are presentation attributes, not `style`, so
the strict Content-Security-Policy of the pages does not blank them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from touchpoint.web.html import Html, Node, el


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


SERIES = (
    Series("guide", "guidance", "#2563eb"),
    Series("nudge", "nudges", "#9333ea"),
    Series("helpful", "helpful", "#16a34a"),
    Series("not_helpful", "not helpful", "#dc2626"),
)
"""What a playbook's chart shows, per ISO week: was it asked for, did it speak up, did it help."""

WIDTH, HEIGHT = 420, 180
LEFT, RIGHT, TOP, BOTTOM = 34, 22, 10, 26


def nice_ceiling(value: int) -> int:
    """The top of the y axis: 1, 2, 5 or 10 times a power of ten, at least `value`."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def week_label(week: str) -> str:
    """`2024-W05` -> `W05`; the year shows where it changes, below the axis."""
    return week.partition("-")[2] or week


def legend() -> Html:
    return el("ul", [el("li", el("svg", el("rect", width=12, height=12, fill=s.colour),
                                 width=12, height=12, aria_hidden="true"), s.label)
                     for s in SERIES], class_="legend")


def line_chart(title: str, weeks: Sequence[str],
               values: Mapping[str, Sequence[int]]) -> Html:
    """One chart: a line per series over `weeks` (oldest first), points titled with counts.

    Each series carries its numbers in `data-values`, so a test (or a curious
    manager's browser tools) reads what was drawn without parsing geometry.
    """
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((max(v, default=0) for v in values.values()), default=0))
    count = max(1, len(weeks) - 1)

    def x(index: int) -> float:
        return round(LEFT + inner_w * index / count, 1)

    def y(value: int) -> float:
        return round(TOP + inner_h * (1 - value / top), 1)

    grid: list[Node] = []
    for tick in sorted({0, top // 2 if top % 2 == 0 else 0, top}):
        grid.append(el("line", x1=LEFT, x2=WIDTH - RIGHT, y1=y(tick), y2=y(tick),
                       stroke="#e5e7eb"))
        grid.append(el("text", tick, x=LEFT - 6, y=y(tick) + 4, text_anchor="end",
                       font_size=11, fill="#6b7280"))
    every = max(1, len(weeks) // 6)
    for index, week in enumerate(weeks):
        if index % every == 0 or index == len(weeks) - 1:
            grid.append(el("text", week_label(week), x=x(index), y=HEIGHT - 8,
                           text_anchor="middle", font_size=11, fill="#6b7280"))
    lines: list[Node] = []
    for series in SERIES:
        points = list(values.get(series.key, [0] * len(weeks)))
        path = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(points))
        dots = [el("circle", el("title", f"{weeks[i]}: {v} {series.label}"), cx=x(i), cy=y(v),
                   r=3, fill=series.colour) for i, v in enumerate(points)]
        lines.append(el("g", el("polyline", points=path, fill="none", stroke=series.colour,
                                stroke_width=2, stroke_linejoin="round"), dots,
                        class_="series", data_series=series.key,
                        data_values=",".join(str(v) for v in points)))
    return el("svg", el("title", title), grid, lines, viewBox=f"0 0 {WIDTH} {HEIGHT}",
              width=WIDTH, height=HEIGHT, role="img", class_="chart",
              xmlns="http://www.w3.org/2000/svg")
