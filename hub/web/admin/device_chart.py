"""The geometry of the devices page's bar chart (outbox depth per device), drawn as server-side SVG: no script.

One horizontal bar per device, its label on the left and its value on the right; a dashed line marks the alarm
threshold, and a bar beyond it is drawn in the alarm colour. The template turns these numbers into elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 150  # device ids are at most a slug; longer ones are cut by the template
VALUE_WIDTH = 90
ROW_HEIGHT = 30
BAR_HEIGHT = 20
TOP = 10
BOTTOM = 24  # room for the threshold's label


@dataclass(frozen=True, slots=True)
class Bar:
    """One device's bar: where it is drawn, and what it says."""

    label: str
    value: int | None  # None: the device has not reported its outbox yet
    x: int
    y: int
    width: int
    height: int
    text_y: int
    value_x: int
    over_limit: bool


@dataclass(frozen=True, slots=True)
class Chart:
    """The whole chart: its size, bars, and the threshold line."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    limit: int
    limit_x: int
    scale_max: int


def outbox_chart(depths: Sequence[tuple[str, int | None]], limit: int) -> Chart:
    """A chart of ``(device id, outbox depth)``; the scale reaches at least the alarm ``limit``."""
    scale_max = max([limit, 1, *(value or 0 for _label, value in depths)])
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for row, (label, value) in enumerate(depths):
        y = TOP + row * ROW_HEIGHT
        length = round(area * (value or 0) / scale_max)
        bars.append(
            Bar(
                label=label,
                value=value,
                x=LABEL_WIDTH,
                y=y + (ROW_HEIGHT - BAR_HEIGHT) // 2,
                width=max(length, 1 if value else 0),
                height=BAR_HEIGHT,
                text_y=y + ROW_HEIGHT // 2 + 5,
                value_x=LABEL_WIDTH + length + 6,
                over_limit=value is not None and value > limit,
            )
        )
    height = TOP + max(len(depths), 1) * ROW_HEIGHT + BOTTOM
    return Chart(
        width=WIDTH,
        height=height,
        bars=tuple(bars),
        limit=limit,
        limit_x=LABEL_WIDTH + round(area * limit / scale_max),
        scale_max=scale_max,
    )
