"""Small pictures drawn from the fold's series: bar charts, sparklines, a stacked progress bar.

Pure functions of numbers and a width: the same series always draws the same cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Span, Text

from replay.core.views.flow import flow
from replay.core.views.stack import texts_key

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def resample(
    values: Sequence[int], width: int, merge: Callable[[Sequence[int]], int] = sum
) -> list[float]:
    """``values`` spread over ``width`` columns, each column per bucket of time.

    More columns than buckets: a bucket spans several columns (each shows its rate).
    Fewer: neighbouring buckets merge (``sum`` for counts, ``max`` for levels), scaled
    back to one bucket's worth, so a column's height is comparable whatever the width.
    """
    n = len(values)
    if n == 0 or width <= 0:
        return [0.0] * max(width, 0)
    if width >= n:
        return [float(values[c * n // width]) for c in range(width)]
    out: list[float] = []
    for c in range(width):
        lo, hi = c * n // width, (c + 1) * n // width
        part = values[lo:hi]
        out.append(merge(part) / len(part) if merge is sum else float(merge(part)))
    return out


def bar_rows(values: Sequence[float], height: int, top: float) -> list[str]:
    """A bar chart ``height`` rows tall, top row first; ``top`` is the full height.

    A value above zero shows at least one eighth, so a little activity never looks
    like none.
    """
    if height <= 0:
        return []
    if top <= 0 or not values:
        return [" " * len(values)] * height
    columns = []  # each column top first, then the rows read across them
    drawn: dict[float, str] = {}  # columns of equal values are drawn once (most bars are)
    for v in values:
        column = drawn.get(v)
        if column is None:
            eighths = min(max(round(v / top * height * 8), 1 if v > 0 else 0), 8 * height)
            full, part = divmod(eighths, 8)
            tip = _EIGHTHS[part] if part else ""
            column = drawn[v] = " " * (height - full - len(tip)) + tip + "█" * full
        columns.append(column)
    return ["".join(row) for row in zip(*columns, strict=True)]


@dataclass(frozen=True)
class Chart:
    """A labelled bar chart that takes the height and width it is given.

    ``series`` is per bucket of time; ``marks`` (same buckets) put a ✖ on the axis
    below the bars where any is non-zero (failures); ``level`` is a one-row sparkline
    under the axis (tasks in flight).
    """

    label: str
    series: tuple[int, ...]
    marks: tuple[int, ...]
    level: tuple[int, ...]
    bucket_s: float
    notes: tuple[Text, ...] = ()  # one line under the chart; parts that do not fit are left out
    gutter: int = 10

    def cache_key(self) -> Hashable:
        fields = (self.label, self.series, self.marks, self.level, self.bucket_s, self.gutter)
        return (*fields, texts_key(self.notes))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.gutter, 1)
        notes = bool(self.notes) and (options.height or 4) >= 4  # below: bars first
        height = max((options.height or 4) - 2 - notes, 1)
        values = resample(self.series, width)
        top = max(values, default=0.0)
        peak = f"max {top / self.bucket_s:.3g}" if top else ""
        labels = [self.label, peak, *([""] * height)]
        for i, row in enumerate(bar_rows(values, height, top)):
            yield self._labelled(labels[i], row, "green")
        axis = Text(self._gutter("failed"), style="dim")
        cells = "".join("✖" if f > 0 else "─" for f in resample(self.marks, width))
        for run in re.finditer("✖+|─+", cells):  # one span per run of equal cells
            axis.append(run.group(), "bold red" if run.group()[0] == "✖" else "dim")
        yield axis
        level = resample(self.level, width, max)
        most = max(level, default=0.0)
        spark = bar_rows(level, 1, most)[0]
        yield self._labelled("in flight", spark, "cyan")
        if notes:
            yield from flow(self.notes, options.max_width, 1)

    def _gutter(self, label: str) -> str:
        return label[: self.gutter - 1].ljust(self.gutter)

    def _labelled(self, label: str, row: str, style: str) -> Text:
        """``Text.assemble((gutter, "dim"), (row, style))``, made in one piece (a row of
        bars is long, and each piece of a Text is scanned for control codes)."""
        gutter = self._gutter(label)
        end = len(gutter) + len(row)
        return Text(
            gutter + row, spans=[Span(0, len(gutter), "dim"), Span(len(gutter), end, style)]
        )


def outcome_bar(
    width: int, total: int | None, parts: Sequence[tuple[int, str]], *, pending: str = "─"
) -> Text:
    """A progress bar stacked by outcome: ``parts`` are (count, style) in order.

    Cells are given to each part by its share of ``total`` (or of the parts' sum when
    the total is unknown or smaller); a part that is not zero gets at least one cell.
    """
    done = sum(n for n, _ in parts)
    whole = max(total or 0, done, 1)
    cells = [max(round(n * width / whole), 1 if n else 0) for n, _ in parts]
    while sum(cells) > width:  # rounding up small parts may overflow: take from the largest
        cells[cells.index(max(cells))] -= 1
    if done >= whole and cells:  # all done: no cell may read as pending after rounding
        cells[cells.index(max(cells))] += width - sum(cells)
    bar = Text()
    for (_, style), k in zip(parts, cells, strict=True):
        bar.append("━" * k, style)
    bar.append(pending * (width - sum(cells)), "grey23")
    return bar
