"""The log view: the run's log messages, filtered by level and searched with ``/``."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import LogLine, Page
from replay.core.text import hms, lit
from replay.core.views.listing import (
    MARK,
    NO_MARK,
    SELECTED,
    clamp,
    fit,
    more_rows,
    title,
    window,
)

LEVEL_STYLE = {
    "debug": "dim",
    "info": "",
    "warning": "yellow",
    "warn": "yellow",
    "stderr": "yellow",  # a recorded command's standard error, as the overview colours it
    "error": "bold red",
}
LEVEL_STYLE |= {"critical": "bold red", "fatal": "bold red"}
SHORT = {"warning": "WARN", "critical": "CRIT"}  # the usual four-letter forms
LEVEL_MIN, LEVEL_MAX = 5, 12  # cells of the level column; a longer level is cut with "…"


def level_name(level: str) -> Text:
    """A row's level as the column shows it: whole (STDOUT, STDERR, NOTICE), but WARN
    and CRIT; a level from the log past LEVEL_MAX cells is cut with an ellipsis."""
    name = lit(SHORT.get(level.lower(), level.upper()), LEVEL_STYLE.get(level.lower(), ""))
    name.truncate(LEVEL_MAX, overflow="ellipsis")
    return name


@dataclass(frozen=True)
class LogView:
    page: Page[LogLine]
    selected: int
    first_t: float
    level: str
    search: str
    typing: str | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        if self.typing is not None:
            find = Text.assemble(("search: ", "bold yellow"), lit(self.typing), ("▏", "yellow"))
        elif self.search:
            find = Text.assemble(
                ("search ", "dim"), lit(self.search, "bold"), (" (Esc clears)", "dim")
            )
        else:
            find = Text("/ search", style="dim")
        level = "every level" if self.level == "debug" else f"{self.level} and above"
        yield title(
            width,
            Text(f"{self.page.total} log messages", style="bold"),
            Text.assemble((level, "bold"), (" (v)", "dim")),
            find,
        )
        page = self.page
        if not page.total:
            yield Text(
                "no log messages" + (" match" if self.search or self.level != "debug" else ""),
                style="dim",
            )
            return
        sel = clamp(self.selected, page.total)
        fits = max(height - 1, 1)
        if page.total > fits:  # a line under the rows says which of them are shown
            fits = max(height - 2, 1)
        first = window(sel, page.total, fits)
        rows = [
            (i, page.rows[i - page.first])
            for i in range(first, min(first + fits, page.total))
            if 0 <= i - page.first < len(page.rows)
        ]
        names = [level_name(r.level) for _, r in rows]
        column = max([LEVEL_MIN, *(n.cell_len for n in names)])  # as wide as the widest shown
        for (i, r), name in zip(rows, names, strict=True):
            name.pad_right(column - name.cell_len)
            line = Text.assemble(
                MARK if i == sel else NO_MARK,
                (hms(r.t - self.first_t), "dim"),
                " ",
                name,
                " ",
                lit(r.msg, LEVEL_STYLE.get(r.level.lower(), "")),
            )
            if i == sel:
                line.stylize(SELECTED)
            yield fit(line, width)
        if page.total > fits:
            yield more_rows(first, len(rows), page.total, "messages")
