"""rich's ``Live`` on the alternate screen, writing only the rows that changed.

``Live`` writes the whole frame at each refresh, after three more passes over its lines
(its ``Screen``, its ``LiveRender`` and the console's crop). Measured with
``bench/live_latency.py`` (README, "Live viewer"), that took the viewer over its budgets:
about 1.5x the CPU while animating and in the 10 s after the last event, 10 ms more
latency, and the 150 ms latency target missed while 10,000 events/s stream. So this
subclass overrides only how a frame reaches the terminal: rendered into lines once, at
the terminal's size, compared row by row with the frame on the screen, and only the rows
that differ written, each after a cursor move. Everything else (the alternate screen,
the hidden cursor, the lock, restoring the terminal on stop) is ``Live``'s own.
"""

from __future__ import annotations

from rich.console import COLOR_SYSTEMS, Console
from rich.live import Live
from rich.segment import Segment

from replay.core.views.stack import lines_of

CLEAR = "\x1b[H\x1b[2J"  # home, then erase the screen (a new size redraws every row)


class RowLive(Live):
    """A ``Live`` refreshed only when told to (no thread), whose refresh writes changed rows."""

    def __init__(self, console: Console) -> None:
        super().__init__(
            console=console,
            screen=True,
            auto_refresh=False,
            redirect_stdout=False,  # nothing else prints while it runs
            redirect_stderr=False,
        )
        self.rows: list[list[Segment]] = []
        self.shape: tuple[int, int] | None = None

    def refresh(self) -> None:
        if not self._alt_screen:  # not on a terminal's alternate screen: Live decides
            super().refresh()
            return
        with self._lock:
            self.paint()

    def paint(self) -> int:
        """Bring the screen to the current renderable at the terminal's size; rows written."""
        c = self.console
        width, height = c.size
        lines = lines_of(c, self.get_renderable(), c.options.update_dimensions(width, height))
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
