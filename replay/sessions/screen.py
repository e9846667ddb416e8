"""The terminal in screen mode: each frame drawn whole, only its changed rows written.

rich's ``Live`` re-splits a whole frame into lines twice more on its way out and writes
every row at every refresh. Here a frame is rendered into lines once, compared row by
row with the frame on the screen, and only the rows that differ are written (each after
a cursor move to its start): a clock that ticks rewrites one row, not the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.segment import Segment

from replay.core.views.stack import Lines, render_lines

CLEAR = "\x1b[H\x1b[2J"  # home, then erase the screen (a new size redraws every row)


class Screen:
    """What is on the terminal, and how to bring it to the next frame."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: Lines = []
        self.shape: tuple[int, int] | None = None

    def paint(self, renderable: RenderableType) -> int:
        """Bring the screen to ``renderable`` at the terminal's size; rows written."""
        c = self.console
        width, height = c.size
        lines = render_lines(c, renderable, c.options.update_dimensions(width, height))
        lines = Segment.set_shape(lines, width, height)
        out: list[str] = []
        if (width, height) != self.shape:
            out.append(CLEAR)
            self.rows = []
        written = 0
        for y, line in enumerate(lines):
            if y < len(self.rows) and line == self.rows[y]:
                continue
            out.append(f"\x1b[{y + 1};1H")
            out.append(self.ansi(line))
            written += 1
        self.rows, self.shape = lines, (width, height)
        if out:
            c.file.write("".join(out))
            c.file.flush()
        return written

    def ansi(self, line: list[Segment]) -> str:
        """One row as the console would write it (its colours, or none)."""
        c = self.console
        system = COLOR_SYSTEMS.get(c.color_system or "")
        if c.no_color and system is not None:
            line = list(Segment.remove_color(line))
        if system is None:
            return "".join(text for text, _, control in line if not control)
        legacy = c.legacy_windows
        return "".join(
            style.render(text, color_system=system, legacy_windows=legacy) if style else text
            for text, style, control in line
            if not control
        )


@contextmanager
def screen_mode(console: Console) -> Iterator[Screen]:
    """The alternate screen without a cursor while the block runs; always restored."""
    alternate = console.set_alt_screen(True)
    console.show_cursor(False)
    try:
        yield Screen(console)
    finally:
        console.show_cursor(True)
        if alternate:
            console.set_alt_screen(False)
