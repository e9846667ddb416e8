"""The log view: the run's log messages, filtered by level and searched with ``/``."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import LogLine, Page
from replay.core.text import hms, lit
from replay.core.views.listing import MARK, NO_MARK, SELECTED, clamp, fit, title, window

LEVEL_STYLE = {
    "debug": "dim",
    "info": "",
    "warning": "yellow",
    "warn": "yellow",
    "error": "bold red",
}
LEVEL_STYLE |= {"critical": "bold red", "fatal": "bold red"}
SHORT = {"warning": "WARN", "critical": "CRIT"}


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
        first = window(sel, page.total, fits)
        for i in range(first, min(first + fits, page.total)):
            j = i - page.first
            if not 0 <= j < len(page.rows):
                break
            r = page.rows[j]
            lvl = r.level.lower()
            name = SHORT.get(lvl, r.level.upper()[:5])
            line = Text.assemble(
                MARK if i == sel else NO_MARK,
                (hms(r.t - self.first_t), "dim"),
                " ",
                lit(name.ljust(5), LEVEL_STYLE.get(lvl, "")),
                " ",
                lit(r.msg, LEVEL_STYLE.get(lvl, "")),
            )
            if i == sel:
                line.stylize(SELECTED)
            yield fit(line, width)
