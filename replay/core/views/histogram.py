"""The timeline view: throughput and failures per time bucket across the run, like lnav's
histogram: one row per bucket, marks beside their bucket, the position marked; Enter
seeks a replay to the selected bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.metrics import Metrics
from replay.core.text import hms, lit, short
from replay.core.views.listing import MARK, NO_MARK, SELECTED, clamp, fit, title, window


def buckets(m: Metrics, now: float) -> int:
    """Rows of the timeline: the series' buckets the run covers up to ``now``."""
    return m.series_used(now) if m.first_t is not None else 0


def here(m: Metrics, now: float) -> int:
    """The row of ``now``: where the timeline's selection starts."""
    n = buckets(m, now)
    return min(max(int((now - (m.first_t or now)) / m.series_width), 0), max(n - 1, 0))


def bucket_start(m: Metrics, row: int) -> float:
    """When bucket ``row`` begins (where Enter seeks to)."""
    return (m.first_t or 0.0) + row * m.series_width


def stamp(elapsed: float, step: float) -> str:
    """A row's time, with tenths or hundredths when rows are that short."""
    if step >= 1:
        return hms(elapsed).rjust(8)
    whole = hms(elapsed)
    digits = 1 if step >= 0.1 else 2
    return f"{whole}{f'{elapsed % 1:.{digits}f}'[1:]}".rjust(8)


@dataclass(frozen=True)
class Histogram:
    m: Metrics
    now: float
    marks: tuple[tuple[float, str], ...]
    selected: int | None  # None: the row of now

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        m, n = self.m, buckets(self.m, self.now)
        yield title(
            width,
            Text("tasks ended per bucket", style="bold"),
            Text.assemble(("█", "green"), (" ended", "dim")),
            Text.assemble(("█", "red"), (" failed", "dim")),
            Text.assemble(("◆", "magenta"), (" mark", "dim")),
            Text.assemble(("●", "bold"), (" now", "dim")),
            Text(f"{short(m.series_width)} a row · Enter seeks", style="dim"),
        )
        if not n:
            yield Text("no events yet", style="dim")
            return
        first_t = m.first_t or 0.0
        done, failed = m.series_done[:n], m.series_failed[:n]
        top = max(max(done), 1)
        labels: dict[int, list[str]] = {}
        for t, label in self.marks:
            labels.setdefault(min(max(int((t - first_t) / m.series_width), 0), n - 1), []).append(
                label
            )
        now_row = here(m, self.now)
        sel = clamp(now_row if self.selected is None else self.selected, n)
        fits = max(height - 1, 1)
        first = window(sel, n, fits)
        bar_width = max(min(width // 2, width - 40), 8)
        for i in range(first, min(first + fits, n)):
            ok, bad = done[i] - failed[i], failed[i]
            full = round(done[i] / top * bar_width)
            red = min(round(bad / top * bar_width) if bad else 0, full) or (1 if bad else 0)
            green = max(full - red, 1 if ok > 0 else 0)
            when = Text(MARK if i == sel else NO_MARK)
            when.append(stamp(i * m.series_width, m.series_width))
            row = Text.assemble(
                when,
                (" ●" if i == now_row else "  ", "bold"),
                " ",
                ("█" * green, "green"),
                ("█" * red, "red"),
                (" " * max(bar_width - green - red, 0), ""),
                (f" {done[i]:>4}", ""),
                (f" ✖{bad}" if bad else "", "red"),
            )
            for label in labels.get(i, ()):
                row.append("  ◆ ", "magenta")
                row.append_text(lit(label, "magenta"))
            if i == sel:
                row.stylize(SELECTED)
            yield fit(row, width)
