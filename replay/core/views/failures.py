"""The failures view: failures grouped by signature, most first, with when they happened.

Like Sentry's issue list: each group shows its counts, first and last seen, a bar of its
failures across the run and an example of the full error; Enter lists its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import Group, Work
from replay.core.text import hms, lit, plural
from replay.core.views.listing import (
    SELECTED,
    clamp,
    fit,
    more_rows,
    spark,
    title,
    window,
    work_lines,
)

ROWS = 4  # lines per group: counts, signature, bar, example


@dataclass(frozen=True)
class Failures:
    groups: tuple[Group, ...]
    selected: int
    first_t: float
    now: float = 0.0
    work: tuple[Work, ...] = ()  # the selected group's latest failures

    def lines(self, g: Group, width: int, chosen: bool) -> list[Text]:
        since = self.first_t
        counts = Text.assemble(
            ("▶ " if chosen else "  ", "bold"),
            (f"{g.failed} failed", "bold red" if g.failed else "dim"),
            (" · ", "dim"),
            (f"{g.retried} retried", "yellow" if g.retried else "dim"),
            (" · ", "dim"),
            (plural(g.tasks, "task"), ""),
            (" · first ", "dim"),
            (hms(g.first_t - since), "bold"),
            (" · last ", "dim"),
            (hms(g.last_t - since), "bold"),
        )
        sig = lit(g.signature, "bold")
        if chosen:
            sig.stylize(SELECTED)
        example = Text.assemble(
            ("  e.g. ", "dim"), lit(g.example.splitlines()[0] if g.example else "")
        )
        bar = Text.assemble(("  ", ""), spark(g.bar, max(width - 2, 1), "red"))
        return [fit(counts, width), fit(Text.assemble("  ", sig), width), bar, fit(example, width)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        failed = sum(g.failed for g in self.groups)
        retried = sum(g.retried for g in self.groups)
        yield title(
            width,
            Text(plural(len(self.groups), "failure group"), style="bold"),
            Text("Enter its tasks", style="dim"),
            Text("d latest failure", style="dim"),
            f"{failed} failed for good",
            f"{retried} retried",
            Text("↑/↓ select", style="dim"),
        )
        if not self.groups:
            yield Text("no failures", style="green")
            return
        sel = clamp(self.selected, len(self.groups))
        # The groups take at most two thirds of the rows; the selected group's latest
        # failures take the rest.
        most = max((height - 1) * 2 // 3 // ROWS, 1) if self.work else max((height - 1) // ROWS, 1)
        fits = min(most, len(self.groups))
        first = window(sel, len(self.groups), fits)
        used = 1
        for i in range(first, first + fits):
            yield from self.lines(self.groups[i], width, i == sel)
            used += ROWS
        if fits < len(self.groups):
            yield more_rows(first, fits, len(self.groups), "groups")
            used += 1
        heading = Text("latest failures in the selected group", style="bold")
        yield from work_lines(heading, self.work, self.first_t, self.now, width, height - used)
