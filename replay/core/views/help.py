"""The help screen: every key of a mode in a box drawn over the dashboard.

The rows come from the session's key table (the same rows that handle the keys), so
what help says and what a key does cannot drift apart. ``Overlay`` paints one
renderable over the middle of another, so the dashboard stays visible around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

CLOSING = "Every other key works while the keys are shown."


def help_panel(mode: str, rows: Sequence[tuple[str, str]], note: str = CLOSING) -> Panel:
    """The keys of ``mode`` (``rows``: how a key is written, what it does)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, does in rows:  # Text, never markup: "[/]" is a key here, not a closing tag
        table.add_row(Text(key), Text(does))
    table.add_row("", "")
    table.add_row("", Text(note, style="dim"))
    return Panel(
        table,
        title=Text(f"keys · {mode}", style="bold"),
        box=box.ROUNDED,
        border_style="cyan",
        padding=(0, 1),
        expand=False,
    )


@dataclass(frozen=True)
class Overlay:
    """``foreground`` drawn at its natural size in the middle of ``background``.

    The background is drawn at the full size given (a dashboard fills the screen);
    rows of the foreground that do not fit are dropped.
    """

    background: RenderableType
    foreground: RenderableType

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lines = console.render_lines(self.background, options, pad=True)
        fg_width = min(Measurement.get(console, options, self.foreground).maximum, width)
        box_options = options.update(width=fg_width, height=None)
        box_lines = console.render_lines(self.foreground, box_options, pad=True)[: len(lines)]
        top = (len(lines) - len(box_lines)) // 2
        left = (width - fg_width) // 2
        for y, line in enumerate(lines):
            if top <= y < top + len(box_lines):
                before, _, after = Segment.divide(line, [left, left + fg_width, width])
                line = [*before, *box_lines[y - top], *after]
            yield from line
            yield Segment.line()
