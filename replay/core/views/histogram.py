"""The timeline view: throughput and failures per time bucket across the run, like lnav's
histogram: one row per bucket, marks beside their bucket, the position marked; Enter
seeks a replay to the selected bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.metrics import SERIES, Metrics
from replay.core.text import hms, lit, short
from replay.core.views.listing import (
    MARK,
    NO_MARK,
    SELECTED,
    clamp,
    fit,
    more_rows,
    title,
    window,
)
from replay.core.views.stack import Lines, text_lines


def grid(m: Metrics, now: float, end: float | None = None) -> tuple[float, int]:
    """The timeline's row width and rows: the series' buckets up to ``end`` (a replay's
    whole run, so it can seek forward too) or ``now``, widened as the series would be
    (by doubling, so each row sums whole buckets of the series)."""
    if m.first_t is None:
        return m.series_width, 0
    span, width = max(max(now, end or now) - m.first_t, 0.0), m.series_width
    while int(span / width) + 1 > SERIES:
        width *= 2
    return width, int(span / width) + 1


def buckets(m: Metrics, now: float, end: float | None = None) -> int:
    """Rows of the timeline (see ``grid``)."""
    return grid(m, now, end)[1]


def here(m: Metrics, now: float, end: float | None = None) -> int:
    """The row of ``now``: where the timeline's selection starts."""
    width, n = grid(m, now, end)
    return min(max(int((now - (m.first_t or now)) / width), 0), max(n - 1, 0))


def bucket_start(m: Metrics, row: int, now: float, end: float | None = None) -> float:
    """When bucket ``row`` begins (where Enter seeks to)."""
    return (m.first_t or 0.0) + row * grid(m, now, end)[0]


def span_label(width: float) -> str:
    """A row's width, exact: 0.125s, 0.25s, 4.0s, 1m04s (rows double from 0.125s)."""
    return f"{width:g}s" if width < 1 else short(width)


def stamp(elapsed: float, step: float) -> str:
    """A row's time, with as many decimals as the row width has (0.125s: three)."""
    if step >= 1:
        return hms(elapsed).rjust(8)
    digits = len(f"{step:g}".partition(".")[2])
    return f"{hms(elapsed)}{f'{elapsed % 1:.{digits}f}'[1:]}".rjust(8)


def sums(values: list[int], k: int, n: int) -> list[int]:
    """``n`` rows, each the sum of ``k`` neighbouring buckets of ``values`` (0 past them)."""
    return [sum(values[i * k : (i + 1) * k]) for i in range(n)]


@dataclass(frozen=True)
class Histogram:
    m: Metrics
    now: float
    marks: tuple[tuple[float, str], ...]
    selected: int | None  # None: the row of now
    end: float | None = None  # a replay's end: rows after now are there to seek to
    seeks: bool = False  # Enter seeks (a replay; a live view cannot)

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        """The lines ``console.render_lines(self, options)`` gives; a row drawn in an
        earlier frame is reused (a live timeline redraws at every fold, and only the rows
        whose counts moved change)."""
        return text_lines(console, self, options, None)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        m = self.m
        step, n = grid(m, self.now, self.end)
        yield title(
            width,
            Text("tasks ended per bucket", style="bold"),
            Text.assemble(("█", "green"), (" ended", "dim")),
            Text.assemble(("█", "red"), (" failed", "dim")),
            Text.assemble(("◆", "magenta"), (" mark", "dim")),
            Text.assemble(("●", "bold"), (" now", "dim")),
            Text(f"{span_label(step)} a row", style="dim"),
            Text("Enter seeks" if self.seeks else "", style="dim"),
        )
        if not n:
            yield Text("no events yet", style="dim")
            return
        first_t = m.first_t or 0.0
        k = round(step / m.series_width)
        done, failed = sums(m.series_done, k, n), sums(m.series_failed, k, n)
        top = max(max(done), 1)
        labels: dict[int, list[str]] = {}
        for t, label in self.marks:
            labels.setdefault(min(max(int((t - first_t) / step), 0), n - 1), []).append(label)
        now_row = here(m, self.now, self.end)
        sel = clamp(now_row if self.selected is None else self.selected, n)
        fits = max(height - 1, 1)
        if n > fits:  # a line under the rows says which of them are shown
            fits = max(height - 2, 1)
        first = window(sel, n, fits)
        bar_width = max(min(width // 2, width - 40), 8)
        for i in range(first, min(first + fits, n)):
            ok, bad = done[i] - failed[i], failed[i]
            full = round(done[i] / top * bar_width)
            red = min(round(bad / top * bar_width) if bad else 0, full) or (1 if bad else 0)
            green = max(full - red, 1 if ok > 0 else 0)
            when = Text(MARK if i == sel else NO_MARK)
            when.append(stamp(i * step, step))
            later = i > now_row  # not replayed yet: nothing to count, somewhere to seek
            row = Text.assemble(
                when,
                (" ●" if i == now_row else "  ", "bold"),
                " ",
                ("█" * green, "green"),
                ("█" * red, "red"),
                (" " * max(bar_width - green - red, 0), ""),
                (f" {'·' if later else done[i]:>4}", "dim" if later else ""),
                (f" ✖{bad}" if bad else "", "red"),
            )
            for label in labels.get(i, ()):
                row.append("  ◆ ", "magenta")
                row.append_text(lit(label, "magenta"))
            if i == sel:
                row.stylize(SELECTED)
            yield fit(row, width)
        if fits < n:
            yield more_rows(first, min(fits, n - first), n, "rows")
