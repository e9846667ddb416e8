"""The task detail view: every attempt at one task, with the full error and traceback.

The text is wrapped to the width and scrolls (↑/↓, PgUp/PgDn); Esc goes back to the list
it was opened from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import Attempt, TaskDetail
from replay.core.text import hms, lit, plural, safe, short, worker_name
from replay.core.views.listing import OUTCOME_STYLE, shown_status, title

STATUS_STYLE = OUTCOME_STYLE
DETAIL_LIMIT = 20_000  # characters of one traceback shown


@dataclass(frozen=True)
class Detail:
    detail: TaskDetail | None
    name: str | None
    scroll: int
    first_t: float
    now: float
    over: bool = False  # the run is over: an open attempt reads as unfinished

    def attempt_lines(self, a: Attempt) -> list[Text]:
        since = self.first_t
        start = hms(a.start_t - since) if a.start_t is not None else "?"
        end = a.end_t if a.end_t is not None else None
        span = ""
        if a.start_t is not None:
            took = (end if end is not None else self.now) - a.start_t
            still = "" if self.over else ", running"  # over: the outcome says unfinished
            span = f" ({short(took)}{'' if end is not None else still})"
        outcome = shown_status(a.outcome, self.over)
        head = Text.assemble(
            (f"attempt {a.attempt}", "bold"),
            (" on ", "dim"),
            Text(worker_name(a.worker), style="cyan"),
            ("  ", ""),
            (start, ""),
            (" → ", "dim"),
            (hms(end - since) if end is not None else "…", ""),
            (span, "dim"),
            ("  ", ""),
            (outcome, OUTCOME_STYLE.get(outcome, "")),
        )
        out = [head]
        if a.error:
            out.append(
                Text.assemble(
                    ("  error: ", "dim"), (safe(a.error, one_line=False, limit=2000), "bold red")
                )
            )
        if a.detail:
            text = safe(a.detail.rstrip("\n"), one_line=False, limit=DETAIL_LIMIT)
            out.extend(Text("  " + line, style="red") for line in text.split("\n"))
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        d = self.detail
        if d is None:
            missing = "no task chosen: Enter on a task or a failure" if self.name is None else ""
            yield Text(
                missing or f"no task {safe(self.name or '')} at this position", style="yellow"
            )
            return
        lines: list[Text] = []
        for a in d.attempts:
            for line in self.attempt_lines(a):
                lines.extend(line.wrap(console, width))  # wrapped, never cut
            lines.append(Text())
        body = max(height - 1, 1)
        status = shown_status(d.status, self.over)
        top = min(self.scroll, max(len(lines) - body, 0))
        shown = lines[top : top + body]
        more = f"lines {top + 1}-{top + len(shown)} of {len(lines)}"
        yield title(
            width,
            lit(d.task, "bold"),
            Text(status, style=STATUS_STYLE.get(status, "")),
            plural(len(d.attempts), "attempt"),
            Text("Esc back", style="dim"),
            Text("↑/↓ scroll", style="dim"),
            Text(more if top + body < len(lines) else "", style="dim"),
        )
        yield from shown
