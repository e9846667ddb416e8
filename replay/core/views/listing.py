"""What lists share: which rows fit, a selected row, a title line, a bar of counts; and
the overview's lists that take the height they are given (``Tail``, ``Head``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from replay.core.records import Work
from replay.core.text import hms, lit, short, worker_name
from replay.core.views.charts import resample
from replay.core.views.hints import Hints
from replay.core.views.stack import texts_key

_EIGHTHS = " ▁▂▃▄▅▆▇█"
SELECTED = "on grey23"  # the selected row; "▶" marks it where there is no colour
MARK, NO_MARK = "▶ ", "  "
OUTCOME_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "running": "cyan",
    "backoff": "yellow",
    "skipped": "dim",
    "retried": "yellow",
    "restarted": "magenta",
    "unfinished": "magenta",
}
OPEN = ("running", "backoff")


def shown_status(status: str, over: bool) -> str:
    """How a task's status or an attempt's outcome reads: ``unfinished`` for one still
    open when the run is over (the overview's word: it will never end in what is shown),
    else as recorded."""
    return "unfinished" if over and status in OPEN else status


def window(selected: int, total: int, height: int) -> int:
    """The first row to show so that ``selected`` is on screen, as near the middle as
    the list allows: a pure function of the three, so a snapshot needs no scroll state."""
    if total <= height:
        return 0
    return max(0, min(selected - height // 2, total - height))


def more_rows(first: int, shown: int, total: int, what: str) -> Text:
    """The line under a list that shows only some of its rows: which ones, of how many,
    and the keys that scroll it, so hidden rows are never a surprise."""
    return Text(f"  {first + 1}-{first + shown} of {total} {what} (↑/↓)", style="dim")


def clamp(selected: int, total: int) -> int:
    return min(max(selected, 0), max(total - 1, 0))


def title(width: int, *parts: Text | str) -> Text:
    """A view's first line, ``width`` cells: what it shows, its order, filter and keys, in
    dim separators. Parts come most important first; the first that does not fit is
    dropped whole with the rest (``Hints``), so no figure or key is ever cut."""
    pieces = [p if isinstance(p, Text) else Text(p) for p in parts if p]
    return fit(Hints(pieces, " · ", "dim").fit(width), width)


def spark(values: Sequence[int], width: int, style: str) -> Text:
    """Counts over time as one row of eighth blocks, the tallest full; none: a dim line."""
    cols = resample(values, width)
    top = max(cols, default=0.0)
    if top <= 0:
        return Text("·" * width, style="dim")
    out = Text()
    for v in cols:
        if v <= 0:
            out.append("·", "dim")
        else:
            out.append(_EIGHTHS[max(1, round(v / top * 8))], style)
    return out


def fit(text: Text, width: int) -> Text:
    """One line of ``text``, cut with an ellipsis at ``width`` cells."""
    line = text.copy()
    line.no_wrap = True
    line.truncate(width, overflow="ellipsis", pad=True)
    return line


def work_lines(
    heading: Text,
    work: Sequence[Work],
    first_t: float,
    now: float,
    width: int,
    rows: int,
    over: bool = False,
) -> list[Text]:
    """Up to ``rows`` lines: a rule with ``heading``, then one line per attempt (``over``:
    the run is over, open attempts read as unfinished)."""
    if rows < 2 or not work:
        return []
    rule = Text("── ", style="dim")
    rule.append_text(heading)
    rule.append(" " + "─" * width, "dim")
    rule.truncate(width)
    out = [rule]
    shown = work[: rows - 1]
    column = max([9] + [len(shown_status(w.outcome, over)) for w in shown])
    for w in shown:
        start = hms(w.start_t - first_t) if w.start_t is not None else "  ?  "
        if w.end_t is not None:
            end, took = hms(w.end_t - first_t), short(w.end_t - (w.start_t or w.end_t))
        else:
            end, took = "  …  ", short(now - (w.start_t or now))
        outcome = shown_status(w.outcome, over)
        line = Text.assemble(
            (f"{start} → {end} ", "dim"),
            (took.rjust(6), ""),
            "  ",
            lit(w.task, "bold"),
            (f" #{w.attempt}", "dim"),
            "  ",
            Text(worker_name(w.worker), style="cyan"),
            "  ",
            (outcome.ljust(column), OUTCOME_STYLE.get(outcome, "")),
            "  ",
            lit(w.error or "", "red"),
        )
        out.append(fit(line, width))
    return out


# Lists that take the height they are given --------------------------------------------


def _one_line(line: Text) -> Text:
    line = line.copy()
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


@dataclass(frozen=True)
class Tail:
    """The last lines that fit the height it is given, oldest first (a scrolling list)."""

    lines: tuple[Text, ...]
    empty: str = ""

    def cache_key(self) -> Hashable:
        return (texts_key(self.lines), self.empty)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or len(self.lines) or 1
        lines = self.lines[-height:] if self.lines else (Text(self.empty, style="dim"),)
        yield from map(_one_line, lines)


@dataclass(frozen=True)
class Head:
    """The first rows that fit, with "+N more" when some do not."""

    rows: tuple[Text, ...]
    empty: str = ""

    def cache_key(self) -> Hashable:
        return (texts_key(self.rows), self.empty)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or len(self.rows) or 1
        rows = self.rows
        if not rows:
            yield Text(self.empty, style="dim")
            return
        if len(rows) > height == 1:  # one row: the first, and how many more
            yield _one_line(Text.assemble(rows[0], (f"  (+{len(rows) - 1} more)", "dim")))
            return
        if len(rows) > height:
            rows = (*rows[: height - 1], Text(f"+{len(self.rows) - height + 1} more", style="dim"))
        yield from map(_one_line, rows)
