"""A view's lines kept from one frame to the next while what it draws is unchanged.

A live view redraws several times a second (its header moves with every event), but
its body changes only when its record is read again (once a second at most while
events stream) or the viewer acts. ``Kept`` wraps a body that is a frozen value of
frozen values (a view's dataclass over its record): equal bodies at the same size draw
equal lines, so the lines of an earlier frame are given again. They are the lines
``console.render_lines`` gives, so every output stays byte-identical.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment

from replay.core.views.stack import options_key

Lines = list[list[Segment]]

KEPT = 8  # bodies kept (a few views and sizes: switching back is a hit)
_LINES: list[tuple[Hashable, Lines]] = []


@dataclass(frozen=True)
class Kept:
    """``body``'s lines, drawn once for each size it is shown at (``body`` must compare
    equal exactly when it draws the same: no mutable part)."""

    body: RenderableType

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.height is None:  # a free height: nothing fixed to keep
            yield self.body
            return
        new_line = Segment.line()
        for line in kept_lines(console, self.body, options):
            yield from line
            yield new_line

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        """The lines ``console.render_lines(self, options)`` gives, unsplit (``stack.Board``:
        a region's lines taken as they are; called with a height)."""
        return kept_lines(console, self.body, options)


def kept_lines(console: Console, body: RenderableType, options: ConsoleOptions) -> Lines:
    """``console.render_lines(body, options)``, from an earlier frame when it had the same
    body and options (compared with ``==``: a body that is the same object costs nothing)."""
    key = (body, *options_key(options), console.safe_box)
    for i, (k, lines) in enumerate(_LINES):
        if k == key:
            if i:
                _LINES.insert(0, _LINES.pop(i))
            return lines
    lines = console.render_lines(body, options)
    _LINES.insert(0, (key, lines))
    del _LINES[KEPT:]
    return lines


def forget() -> None:
    """Drop every kept body (benchmarks measure a frame drawn from nothing)."""
    _LINES.clear()
