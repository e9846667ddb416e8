"""The tasks view: every task as of the position, in a table that scrolls, sorts and filters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import Page, TaskRow
from replay.core.text import hms, lit, plural, short, worker_name
from replay.core.views.grid import Column, Grid
from replay.core.views.listing import (
    MARK,
    NO_MARK,
    OUTCOME_STYLE,
    SELECTED,
    clamp,
    more_rows,
    shown_status,
    title,
    window,
)

STATUS_STYLE = OUTCOME_STYLE
COLUMNS = (
    Column("task", min_width=8, max_width=32),
    Column("status", min_width=9),
    Column("worker", max_width=12),
    Column("att", justify="right"),
    Column("start", justify="right"),
    Column("took", justify="right"),
    Column("error", flexible=True),
)


@dataclass(frozen=True)
class Tasks:
    page: Page[TaskRow]
    selected: int
    first_t: float
    now: float
    sort: str
    grep: str
    group: str | None
    counts: tuple[tuple[str, int], ...]
    typing: str | None = None
    over: bool = False  # the run is over: open tasks read as unfinished (``shown_status``)

    def shown_counts(self) -> tuple[tuple[str, int], ...]:
        """Tasks per status of the set shown: every task's (``counts``), else the
        filtered set's when the page read holds all of it, else none (never the counts
        of another set than the one listed)."""
        found: Counter[str] = Counter()
        if not (self.grep or self.group):
            for status, n in self.counts:
                found[shown_status(status, self.over)] += n
        else:
            page = self.page
            if page.first or len(page.rows) < page.total:
                return ()
            found.update(shown_status(r.status, self.over) for r in page.rows)
        return tuple(sorted(found.items()))

    def heading(self, width: int) -> Text:
        """What is listed, then its figures, then the keys: at a narrow width the key
        hints go first. The counts are one piece, all or none, so the shown ones add up."""
        shown = Text(plural(self.page.total, "task"), style="bold")
        counts = Text(" · ", style="dim").join(
            Text(f"{n} {status}", style="dim") for status, n in self.shown_counts()
        )
        filt: Text | str = ""
        hint: Text | str = Text("/ filter", style="dim")
        if self.typing is not None:
            filt = Text.assemble(("filter: ", "bold yellow"), lit(self.typing), ("▏", "yellow"))
            hint = Text("(task id or error; Enter keeps, Esc undoes)", style="dim")
        elif self.grep:
            filt = Text.assemble(("filter ", "dim"), lit(self.grep, "bold"))
            hint = Text("(Esc clears)", style="dim")
        group = Text.assemble(("group ", "dim"), lit(self.group, "bold red")) if self.group else ""
        order = Text.assemble(("sorted by ", "dim"), (self.sort, "bold"), (" (s)", "dim"))
        return title(width, shown, group, filt, counts, order, hint)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        yield self.heading(width)
        page = self.page
        if not page.total:
            yield Text("no tasks" + (" match" if self.grep or self.group else ""), style="dim")
            return
        sel = clamp(self.selected, page.total)
        fits = max(height - 3, 1)  # the title, the table's head and its rule
        if page.total > fits:  # and a line under the rows says which of them are shown
            fits = max(height - 4, 1)
        first = window(sel, page.total, fits)
        shown = 0
        rows = []
        for i in range(first, min(first + fits, page.total)):
            j = i - page.first
            if not 0 <= j < len(page.rows):
                break
            r = page.rows[j]
            took = r.duration_s
            running = took is None and r.start_t is not None and r.end_t is None
            if running:
                took = self.now - (r.start_t or self.now)
            status = shown_status(r.status, self.over)
            cells = (
                Text.assemble(MARK if i == sel else NO_MARK, lit(r.task)),
                Text(status, style=STATUS_STYLE.get(status, "")),
                Text(worker_name(r.worker)),
                str(r.attempts),
                hms(r.start_t - self.first_t) if r.start_t is not None else "",
                Text(
                    (short(took) + ("…" if running and not self.over else ""))
                    if took is not None
                    else ""
                ),
                lit(r.error or "", "red"),
            )
            rows.append((cells, SELECTED if i == sel else None))
            shown += 1
        yield Grid(COLUMNS, tuple(rows))
        if page.total > fits:
            yield more_rows(first, shown, page.total, "tasks")
