"""The dashboard: a pure function from (metrics, now) to a rich ``Layout`` of panels.

Views read no clock, environment or terminal: spinner frames come from ``now``,
sizes from the console they are rendered on. Text from the log is untrusted, so
it only ever enters ``Text`` objects, never markup, after ``safe()``.

The layout's regions are the header, the body, the key controls (when a session has
them) and the footer. The body is split into its own ``Layout`` when it is drawn, from
what each panel holds and the size it is given: a panel is as tall as its content, the
sections that matter most get their rows first, and the chart of the run over time takes
the rows left over. Each region holds a ``Box`` (``stack.py``), whose lines are kept
while its content is unchanged, so a Layout redrawn several times a second only places
them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.layout import Layout
from rich.text import Text

from replay.core.metrics import Metrics
from replay.core.text import lit, short
from replay.core.views.charts import Chart, outcome_bar
from replay.core.views.flow import Flow, flow
from replay.core.views.listing import Head, Tail
from replay.core.views.panels import (
    ANIMATION_HZ,
    STALL_AFTER,
    duration_parts,
    elapsed,
    error_lines,
    eta_text,
    log_lines,
    moving,
    retry_rows,
    run_state,
    spinner_frame,
    status_parts,
    took,
    worker_rows,
)
from replay.core.views.stack import Board, Box, Lines, texts_key

__all__ = [
    "ANIMATION_HZ",
    "STALL_AFTER",
    "dashboard",
    "frame_key",
    "run_state",
    "spinner_frame",
]

CHART_MIN, CHART_ROOMY, CHART_MOST = 3, 10, 12  # rows of the chart panel (a sparkline; 5, 7 bars)
SIDE_BY_SIDE = 100  # columns from which errors and log messages sit side by side


def header(m: Metrics, now: float, stopped: str | None) -> Box:
    parts = [
        Text.assemble(("runreel ", "bold"), lit(m.name or "(unnamed run)", "bold white")),
        run_state(m, now, stopped),
        Text.assemble(("elapsed ", "dim"), (elapsed(m, now), "bold")),
        Text.assemble(("run ", "dim"), lit(m.run or "?", "cyan")),
    ]
    return Box(Flow(tuple(parts), "  ", squeeze=True), border_style="blue")


def footer(m: Metrics, now: float, stopped: str | None, extra: Iterable[Text] = ()) -> Box:
    """Remaining, rate, ETA, events; parts that do not fit are left out whole."""
    remaining = m.remaining
    said = eta_text(m, now, stopped)
    if remaining is None and said == "done":  # a run that ended with nothing left
        remaining = 0
    left = "?" if remaining is None else str(remaining)
    eta = Text.assemble(("ETA ", "dim"), (said, "magenta" if said.startswith("none") else "bold"))
    parts = [
        Text.assemble(("Remaining ", "dim"), (left, "bold")),
        Text.assemble(("Rate ", "dim"), (f"{m.rate(now):.1f}/s", "bold")),
        eta,
        Text.assemble(("Events ", "dim"), (str(m.events), "")),
    ]
    if m.lost_events or m.gap_count:
        parts.append(Text(f"lost {m.lost_events} events ({m.gap_count} gaps)", style="bold red"))
    unknown = sum(m.unknown_events.values())
    if unknown:
        parts.append(Text(f"{unknown} events of unknown types skipped", style="yellow"))
    parts.extend(extra)
    return Box(Flow(tuple(parts)), border_style="green")


@dataclass(frozen=True)
class Section:
    """One panel of the body: the rows it needs, the rows without which it is left out,
    and its place in the queue for rows (lower first)."""

    name: str
    need: int
    least: int
    rank: int
    grow: int  # place in the queue for rows beyond the least


def allot(sections: list[Section], height: int, stretch: str) -> dict[str, int]:
    """Rows for each section: first the least of each, by rank (a section that cannot
    have its least is left out), then up to what each needs, by rank; ``stretch``
    takes what is left."""
    rows: dict[str, int] = {}
    room = height
    for s in sorted(sections, key=lambda s: s.rank):
        least = min(s.least, s.need)
        if least <= room:
            rows[s.name] = least
            room -= least
    for s in sorted(sections, key=lambda s: s.grow):
        if s.name in rows:
            more = min(s.need - rows[s.name], room)
            rows[s.name] += more
            room -= more
    if stretch in rows:
        rows[stretch] += room
    return rows


@dataclass(frozen=True)
class Body:
    """Everything between the header and the footer, laid out for the size it gets."""

    m: Metrics
    now: float
    stopped: str | None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, options.height or console.height
        yield self.layout(width, height)

    def frame_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        """The lines of the body's ``Board`` (``stack.lines_of``)."""
        width, height = options.max_width, options.height or console.height
        return self.layout(width, height).frame_lines(console, options)

    def layout(self, width: int, height: int) -> Board:
        """The body's regions at ``width`` x ``height``: one row of panels per section
        (errors and the log side by side when both fit)."""
        m, now, stopped = self.m, self.now, self.stopped
        inner = max(width - 4, 1)  # inside a panel's border and padding
        parts = status_parts(m, now, stopped)
        status = flow(parts, inner)
        boxed = all(line.cell_len <= inner for line in status)  # else a figure is cut
        status_h = len(status) + 3 if boxed else len(flow(parts, width)) + 1
        title, workers = worker_rows(m, now, stopped)
        columns = _grid_columns(workers, inner)
        worker_h = -(-len(workers) // columns) + 2 if workers else 0
        retries = retry_rows(m, now, stopped)
        errors, logs = error_lines(m, max(height, 1)), log_lines(m, max(height, 1))
        half = (width - 8) // 2  # inside each of two panels side by side
        beside = bool(errors and logs and width >= SIDE_BY_SIDE)
        beside = beside and max(e.cell_len for e in errors) <= half
        sections = [  # the status first, on every row the body has if need be
            Section("status", status_h, min(status_h, height), 0, 0),
            Section("workers", worker_h, min(worker_h, 6), 1, 1) if workers else None,
            Section("retries", len(retries) + 2, 3, 3, 3) if retries else None,
            Section("chart", CHART_ROOMY, CHART_MIN, 4, 2) if m.processed or m.in_flight else None,
        ]
        if beside:
            sections.append(Section("notes", max(len(errors), len(logs)) + 2, 5, 2, 4))
        else:
            if errors:
                sections.append(Section("errors", len(errors) + 2, 5, 2, 4))
            if logs:
                sections.append(Section("log", len(logs) + 2, 5, 3, 5))
        rows = allot([s for s in sections if s is not None], height, "chart")
        spare = rows.get("chart", 0) - CHART_MOST  # past 10 rows of bars: the slowest tasks
        slow = slow_rows(m) if spare >= 3 else ()  # drawn only when there is room
        slow_cols = _grid_columns(slow, inner)
        slow_h = -(-len(slow) // slow_cols) + 2 if slow else 0
        if slow:
            rows["slowest"] = min(spare, slow_h)
            rows["chart"] -= rows["slowest"]
            sections.append(Section("slowest", slow_h, 3, 6, 6))
        bar = outcome_bar(inner, m.total, _outcomes(m))
        panels = {
            "status": _status_panel(
                status if boxed else [], bar, rows.get("status", 0), parts, width, m
            ),
            "workers": Box(_Grid(workers, columns), title, "cyan"),
            "retries": Box(Head(retries), f"Retries ({len(retries)} backing off)", "yellow"),
            "chart": Box(self.chart(), self.chart_title(), "green"),
            "errors": _errors_panel(m, errors),
            "log": Box(Tail(logs), "Log", "white"),
            "slowest": Box(_Grid(slow, slow_cols), "Slowest tasks", "green"),
        }
        regions = []
        for s in sections:
            if s is None or s.name not in rows:
                continue
            region = Layout(name=s.name, size=rows[s.name])
            if s.name == "notes":
                region.split_row(
                    Layout(panels["errors"], name="errors"), Layout(panels["log"], name="log")
                )
            else:
                region.update(panels[s.name])
            regions.append(region)
        body = Board(Text(""), name="body")  # no rows at all: blank, never rich's placeholder
        if regions:
            body.split_column(*regions)
        return body

    def factor(self) -> int:
        """Buckets drawn as one: enough tasks per bar for its height to mean something."""
        m = self.m
        used, factor = m.series_used(self.now), 1
        while used > 16 * factor and sum(m.series_done[:used]) * factor < 6 * used:
            factor *= 2
        return factor

    def chart(self) -> Chart:
        m, k = self.m, self.factor()
        used = m.series_used(self.now)
        return Chart(
            "ended/s",
            _coarse(m.series_done[:used], k, sum),
            _coarse(m.series_failed[:used], k, sum),
            _coarse(_held(m.series_busy[:used]), k, max),
            m.series_width * k,
            tuple(duration_parts(m, self.now, self.stopped)),
        )

    def chart_title(self) -> str:
        m = self.m
        peak = max(m.series_busy[: m.series_used(self.now)], default=0)
        return f"Over time (bars of {m.series_width * self.factor():g}s, at most {peak} in flight)"


def _status_panel(
    status: list[Text], bar: Text, rows: int, parts: list[Text], width: int, m: Metrics
) -> RenderableType:
    """The status as a panel with its bar, or without the bar, or (fewer rows than a
    panel needs, or a part wider than its inside) its lines alone across the whole width,
    the bar under them when there is a row for it: the figures are on screen at every
    size. ``status``: its lines inside a panel (none: too wide for one)."""
    if status and rows >= len(status) + 3:
        return Box(_Lines((*status, bar)), "Status", "cyan")
    if status and rows >= len(status) + 2:
        return Box(_Lines(tuple(status)), "Status", "cyan")
    lead = parts[0].plain  # the status lead and the seed's figures: "⠹ Processing (1 - 2 / 4)"
    if parts[0].cell_len > width and 0 < lead.find(" ") < lead.rfind(" ("):
        # too wide: "⠹ (1 - 2 / 4)", the header says the words
        glyph, words, figures = parts[0].divide([lead.find(" ") + 1, lead.rfind(" (") + 1])
        parts = [Text.assemble(glyph, figures), *parts[1:]]
    lines = flow(parts, width, max(rows, 1))
    if len(lines) < rows:
        lines.append(outcome_bar(width, m.total, _outcomes(m)))
    return _Lines(tuple(lines))


def slow_rows(m: Metrics) -> tuple[Text, ...]:
    """The slowest tasks that ended, longest first."""
    return tuple(Text.assemble((f"{took(d):>6} ", "bold"), lit(task)) for d, task in m.slowest)


def _coarse(values: list[int], k: int, merge: Callable[[list[int]], int]) -> tuple[int, ...]:
    """Every ``k`` neighbouring buckets as one."""
    if k == 1:  # each bucket as it is (what merging one value gives)
        return tuple(values)
    return tuple(merge(values[i : i + k]) for i in range(0, len(values), k))


def _held(levels: list[int]) -> list[int]:
    """Tasks in flight per bucket: a bucket without a task event keeps the level before."""
    out, last = [], 0
    for v in levels:
        last = v or last
        out.append(last)
    return out


def _outcomes(m: Metrics) -> list[tuple[int, str]]:
    return [(m.succeeded, "green"), (m.failed, "red"), (m.skipped, "yellow")]


def _errors_panel(m: Metrics, lines: tuple[Text, ...]) -> Box:
    title = f"Errors ({m.failed} failed, {m.retries} retried)"
    return Box(Tail(lines, "no errors"), title, "red")


def _grid_columns(rows: tuple[Text, ...], width: int) -> int:
    """How many columns of rows fit side by side (rows keep their whole width)."""
    if not rows:
        return 1
    cell = max(r.cell_len for r in rows) + 3
    return max(1, min(len(rows), (width + 3) // cell))


@dataclass(frozen=True)
class _Lines:
    lines: tuple[Text, ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines

    def cache_key(self) -> Hashable:
        return texts_key(self.lines)


@dataclass(frozen=True)
class _Grid:
    """Rows in columns, down first; "+N more" in the last cell when they do not fit."""

    rows: tuple[Text, ...]
    columns: int

    def cache_key(self) -> Hashable:
        return (texts_key(self.rows), self.columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = max(options.height or 1, 1)
        if self.columns == 1 or not self.rows:
            yield Head(self.rows, "no workers yet")
            return
        per = -(-len(self.rows) // self.columns)
        gap = 3
        cell = (options.max_width + gap) // self.columns - gap
        cells = list(self.rows)
        if per > height:  # keep the first rows of each column's worth, and say how many not
            keep = height * self.columns - 1
            cells = [*cells[:keep], Text(f"+{len(self.rows) - keep} more", style="dim")]
            per = height
        for r in range(per):
            line = Text(no_wrap=True, overflow="ellipsis")
            for c in range(self.columns):
                i = c * per + r
                if i >= len(cells):
                    break
                part = cells[i].copy()
                part.truncate(cell, overflow="ellipsis", pad=True)
                line.append_text(part)
                line.append(" " * gap)
            line.rstrip()
            yield line


def dashboard(
    m: Metrics,
    now: float,
    *,
    footer_extra: Iterable[Text] = (),
    controls: RenderableType | None = None,
    stopped: str | None = None,
) -> Layout:
    """The whole dashboard at ``now``: a Layout of the header, the body, ``controls``
    (two rows, when given) and the footer.

    ``stopped`` is why the view stopped ("quit", "timeout", "sigint", "sigterm",
    "finished"), for its last frame: a run not finished then reads as it stood, with
    "view stopped" (only a run recorded as interrupted reads "interrupted").
    """
    regions = [
        Layout(header(m, now, stopped), name="header", size=3),
        Layout(Body(m, now, stopped), name="body"),
        Layout(footer(m, now, stopped, footer_extra), name="footer", size=3),
    ]
    if controls is not None:
        regions.insert(2, Layout(controls, name="controls", size=2))
    board = Board(name="dashboard")
    board.split_column(*regions)
    return board


def frame_key(m: Metrics, now: float) -> tuple[object, ...]:
    """Everything ``dashboard(m, now)`` draws that depends on ``now``, as cheap values.

    For the same metrics (same events folded), equal keys draw equal frames, so a
    live loop can skip re-rendering an unchanged screen. Keep it in step with the
    panels above (tests/test_live.py checks equal keys give equal frames).
    """
    key: list[object] = [elapsed(m, now), run_state(m, now).plain, m.series_used(now)]
    if not m.finished and m.last_t is not None:
        idle = now - m.last_t
        key.append(short(idle) if idle >= STALL_AFTER else spinner_frame(now))
    live = moving(m, now)
    for i, name in enumerate(sorted(m.workers)):
        w = m.workers[name]
        key.append(spinner_frame(now, i) if w.state == "running" and live else None)
        if w.task is not None:
            key.append(short(now - w.since))
    for f in m.in_flight.values():
        if f.state == "backoff":
            left = f.retry_at - now
            key.append(short(left) if left > 0 else None)
    key.append(f"{m.rate(now):.1f}")
    key.append(eta_text(m, now, None))
    return tuple(key)
