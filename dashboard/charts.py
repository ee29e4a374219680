"""Chart geometry for the dashboard's server-rendered SVG: numbers in, rectangles and ticks out. The templates draw
them (and translate their words), so the charts need no script and no library."""

import math
from dataclasses import dataclass


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1): a readable axis maximum."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str
    label: str = ""


WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 28


def tick_count(top: int) -> int:
    """How many steps divide the axis into whole numbers: 5 or 4 for a nice ceiling (10 → 2s, 20 → 4s, 500 → 100s),
    fewer for the smallest ones (2 → 1s)."""
    return next(n for n in (5, 4, 2, 1) if top % n == 0)


def day_chart(days: list[dict], *, series=("inbound", "outbound"), names: dict | None = None) -> dict:
    """Side-by-side bars per day (`days`: dicts with "day" and a count per series), a y axis with round ticks and
    a date label under every fifth day and the last; each bar says its series' name (`names`) in its tooltip."""
    names = names or {}
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((day[name] for day in days for name in series), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = slot * 0.8 / len(series)
    columns = []
    for index, day in enumerate(days):
        x0 = LEFT + index * slot + slot * 0.1
        bars = []
        for n, name in enumerate(series):
            height = plot_height * day[name] / top
            x, y = x0 + n * bar_width, TOP + plot_height - height
            bars.append(
                Bar(
                    round(x, 1),
                    round(y, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    day[name],
                    name,
                    names.get(name, ""),
                )
            )
        label = index % 5 == 0 or index == len(days) - 1
        columns.append({"day": day, "bars": bars, "label_x": round(LEFT + (index + 0.5) * slot, 1), "labelled": label})
    steps = tick_count(top)
    ticks = [{"value": top * n // steps, "y": TOP + plot_height - plot_height * n / steps} for n in range(steps + 1)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "tick_x": LEFT - 6,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_height,
        "label_y": HEIGHT - 8,
        "columns": columns,
        "ticks": ticks,
    }


ROW, LABEL_WIDTH, H_WIDTH = 26, 130, 480


def bar_rows(items: list[tuple[str, int]], *, scale_to: int | None = None) -> dict:
    """Horizontal bars, one row per (label, value), scaled to `scale_to` (the largest value by default); each row
    says its share of that too (a funnel step's share of what was queued)."""
    top = scale_to if scale_to is not None else max((value for _, value in items), default=0)
    room = H_WIDTH - LABEL_WIDTH - 110
    rows = []
    for index, (label, value) in enumerate(items):
        width = room * value / top if top else 0
        rows.append(
            {
                "label": label,
                "value": value,
                "percent": round(100 * value / top) if top else 0,
                "y": index * ROW + 4,
                "text_y": index * ROW + 17,
                "width": round(max(width, 1 if value else 0), 1),
                "value_x": round(LABEL_WIDTH + width + 6, 1),
            }
        )
    return {
        "width": H_WIDTH,
        "height": len(items) * ROW + 4,
        "bar_x": LABEL_WIDTH,
        "label_x": LABEL_WIDTH - 8,
        "rows": rows,
    }
