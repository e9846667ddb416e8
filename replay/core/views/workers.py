"""The workers view: one lane per worker across the run, like htop's meters per core.

The strip shows, per column of time, whether the worker was busy (green, by how much),
waiting to retry a task it had failed (a yellow dash) or idle (a dim dot); the title
names every glyph it draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from replay.core.records import Lane, Work
from replay.core.text import lit, plural, short, worker_name
from replay.core.views.listing import MARK, NO_MARK, SELECTED, clamp, title, window, work_lines

_SHADES = " ░▒▓█"  # busy a quarter, half, three quarters, all of a column's time
BACKOFF = "╌"  # waiting to retry: not a shade, so it reads apart without colour


def strip(lane: Lane, width: int) -> Text:
    """The lane over ``width`` columns: busy shades, waits, idle dots."""
    n = len(lane.busy)
    out = Text()
    run, run_style = "", ""  # columns of one style go in as one span: fewer to draw
    for c in range(width):
        lo, hi = c * n // width, max((c + 1) * n // width, c * n // width + 1)
        busy = sum(lane.busy[lo:hi]) / (hi - lo)
        wait = sum(lane.backoff[lo:hi]) / (hi - lo)
        if busy > 0.02:
            glyph, style = _SHADES[max(1, min(4, round(busy * 4)))], "green"
        elif wait > 0.02:
            glyph, style = BACKOFF, "yellow"
        else:
            glyph, style = "·", "dim"
        if style != run_style and run:
            out.append(run, run_style)
            run = ""
        run, run_style = run + glyph, style
    if run:
        out.append(run, run_style)
    return out


@dataclass(frozen=True)
class Workers:
    lanes: tuple[Lane, ...]
    selected: int
    first_t: float
    now: float
    work: tuple[Work, ...] = ()  # the selected worker's latest attempts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        yield title(
            width,
            Text(plural(len(self.lanes), "worker"), style="bold"),
            Text.assemble((_SHADES[1:], "green"), (" busy ¼ to all the time", "dim")),
            Text.assemble((BACKOFF, "yellow"), (" backing off", "dim")),
            Text.assemble(("·", "dim"), (" idle", "dim")),
            Text(f"across {short(self.now - self.first_t)}", style="dim"),
        )
        if not self.lanes:
            yield Text("no worker has started a task", style="dim")
            return
        sel = clamp(self.selected, len(self.lanes))
        room = max(height - 3, 1)  # the title, the table's head and its rule
        fits = min(room if not self.work else max(room * 2 // 3, 1), len(self.lanes))
        first = window(sel, len(self.lanes), fits)
        lane_width = max(min(width // 3, 60), 10)
        table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
        table.add_column("worker", no_wrap=True, overflow="ellipsis", max_width=16)
        table.add_column("across the run", no_wrap=True, width=lane_width)
        table.add_column("busy", justify="right", no_wrap=True)
        table.add_column("att", justify="right", no_wrap=True)
        table.add_column("err", justify="right", no_wrap=True)
        table.add_column("mean", justify="right", no_wrap=True)
        table.add_column("last error", no_wrap=True, overflow="ellipsis", ratio=1)
        span = max(self.now - self.first_t, 1e-9)
        for i in range(first, min(first + fits, len(self.lanes))):
            lane = self.lanes[i]
            table.add_row(
                Text.assemble(MARK if i == sel else NO_MARK, (worker_name(lane.worker), "cyan")),
                strip(lane, lane_width),
                f"{min(lane.busy_s / span, 1.0):.0%}",
                str(lane.attempts),
                Text(str(lane.failed), style="red" if lane.failed else "dim"),
                short(lane.mean_s) if lane.mean_s is not None else "",
                lit(lane.last_error or "", "red"),
                style=SELECTED if i == sel else None,
            )
        yield table
        lane = self.lanes[sel]
        heading = Text.assemble(
            (worker_name(lane.worker), "bold cyan"), (": latest attempts, running first", "bold")
        )
        yield from work_lines(heading, self.work, self.first_t, self.now, width, room - fits)
