"""The workers view: one lane per worker across the run, like htop's meters per core.

The strip shows, per column of time, whether the worker was busy (green, by how much),
waiting to retry a task it had failed (a yellow dash) or idle (a dim dot); the title
names every glyph it draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Span, Text

from replay.core.records import Lane, Work
from replay.core.text import lit, plural, short, worker_name
from replay.core.views.grid import Column, Grid
from replay.core.views.listing import MARK, NO_MARK, SELECTED, clamp, title, window, work_lines

_SHADES = " ░▒▓█"  # busy a quarter, half, three quarters, all of a column's time
BACKOFF = "╌"  # waiting to retry: not a shade, so it reads apart without colour


def strip(lane: Lane, width: int) -> Text:
    """The lane over ``width`` columns: busy shades, waits, idle dots (each run of one
    style a single span: fewer to draw)."""
    n = len(lane.busy)
    busy, backoff = lane.busy, lane.backoff
    glyphs: list[str] = []
    spans: list[Span] = []
    run_style, run_start = "", 0
    for c in range(width):
        lo = c * n // width
        hi = max((c + 1) * n // width, lo + 1)
        share = sum(busy[lo:hi]) / (hi - lo)
        if share > 0.02:
            glyph, style = _SHADES[max(1, min(4, round(share * 4)))], "green"
        elif sum(backoff[lo:hi]) / (hi - lo) > 0.02:
            glyph, style = BACKOFF, "yellow"
        else:
            glyph, style = "·", "dim"
        if style != run_style:
            if c:
                spans.append(Span(run_start, c, run_style))
            run_style, run_start = style, c
        glyphs.append(glyph)
    if width > 0:
        spans.append(Span(run_start, width, run_style))
    return Text("".join(glyphs), spans=spans)


def columns(lane_width: int) -> tuple[Column, ...]:
    return (
        Column("worker", max_width=16),
        Column("across the run", width=lane_width),
        Column("busy", justify="right"),
        Column("att", justify="right"),
        Column("err", justify="right"),
        Column("mean", justify="right"),
        Column("last error", flexible=True),
    )


@dataclass(frozen=True)
class Workers:
    lanes: tuple[Lane, ...]
    selected: int
    first_t: float
    now: float
    work: tuple[Work, ...] = ()  # the selected worker's latest attempts
    over: bool = False  # the run is over: open attempts read as unfinished

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
        span = max(self.now - self.first_t, 1e-9)
        rows = []
        for i in range(first, min(first + fits, len(self.lanes))):
            lane = self.lanes[i]
            cells = (
                Text.assemble(MARK if i == sel else NO_MARK, (worker_name(lane.worker), "cyan")),
                strip(lane, lane_width),
                f"{min(lane.busy_s / span, 1.0):.0%}",
                str(lane.attempts),
                Text(str(lane.failed), style="red" if lane.failed else "dim"),
                short(lane.mean_s) if lane.mean_s is not None else "",
                lit(lane.last_error or "", "red"),
            )
            rows.append((cells, SELECTED if i == sel else None))
        yield Grid(columns(lane_width), tuple(rows))
        lane = self.lanes[sel]
        heading = Text.assemble(
            (worker_name(lane.worker), "bold cyan"), (": latest attempts, running first", "bold")
        )
        yield from work_lines(
            heading, self.work, self.first_t, self.now, width, room - fits, self.over
        )
