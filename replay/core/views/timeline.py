"""The replay's timeline: one line of the run with its marks, failures and where it stands."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text


@dataclass(frozen=True)
class Timeline:
    """A one-line bar of the run: markers, failures and where the replay stands.

    ``marks`` and ``failures`` are positions in per-mille of the run (0..1000),
    precomputed once, so drawing costs the same whatever the log's size.
    """

    position: float  # 0..1
    marks: frozenset[int]
    failures: frozenset[int]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        cells = ["─"] * width
        styles = ["dim"] * width

        def col(per_mille: float) -> int:
            return min(int(per_mille * width / 1000), width - 1)

        for f in self.failures:
            cells[col(f)], styles[col(f)] = "✖", "red"
        for k in self.marks:
            cells[col(k)], styles[col(k)] = "◆", "magenta"
        here = col(self.position * 1000)
        cells[here], styles[here] = "●", "bold white"
        line = Text()
        for c, st in zip(cells, styles, strict=True):
            line.append(c, st)
        yield line
