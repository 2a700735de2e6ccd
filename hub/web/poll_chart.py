"""The geometry of a poll result's bar chart, drawn as server-side SVG (no script), readable on a phone.

One row per option: its label on a line of its own (long labels do not squeeze the bars), then the bar with the
count and share beside it. The viewBox is narrow, so the chart scales down to a phone's width without tiny text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 360
VALUE_WIDTH = 110  # room for "12 345 (100 %)" after the longest bar
ROW_HEIGHT = 56
BAR_HEIGHT = 22
LABEL_CHARS = 44  # what fits in WIDTH at the template's font size; the full label is in the title and the table
TOP = 4


@dataclass(frozen=True, slots=True)
class ResultBar:
    """One option's row: its label, votes and share, and where they are drawn."""

    label: str
    votes: int
    percent: float
    label_y: int
    y: int
    width: int
    height: int
    value_x: int
    text_y: int


@dataclass(frozen=True, slots=True)
class ResultChart:
    """The whole chart."""

    width: int
    height: int
    bars: tuple[ResultBar, ...]


def share(votes: int, counted: int) -> float:
    """``votes`` as a percentage of the counted ballots (0 when none counted), one decimal."""
    return round(100 * votes / counted, 1) if counted else 0.0


def result_chart(rows: Sequence[tuple[str, int]], counted: int) -> ResultChart:
    """A chart of ``(label, votes)``; the longest bar is the most votes (an approval poll's shares may sum
    to more than 100 %)."""
    scale = max([1, *(votes for _label, votes in rows)])
    area = WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, votes) in enumerate(rows):
        top = TOP + index * ROW_HEIGHT
        length = round(area * votes / scale)
        bars.append(
            ResultBar(
                label=label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…",
                votes=votes,
                percent=share(votes, counted),
                label_y=top + 16,
                y=top + 24,
                width=max(length, 2 if votes else 0),
                height=BAR_HEIGHT,
                value_x=length + 6,
                text_y=top + 24 + BAR_HEIGHT // 2 + 5,
            )
        )
    return ResultChart(width=WIDTH, height=TOP + max(len(rows), 1) * ROW_HEIGHT + 4, bars=tuple(bars))
