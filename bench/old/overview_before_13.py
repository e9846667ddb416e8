"""The dashboard as it was before issue 13 (kept only to compare frame costs in bench/frame.py).

Views read no clock, environment or terminal: spinner frames come from ``now``,
sizes from the console they are rendered on. Text from the log is untrusted, so
it only ever enters ``Text`` objects, never markup, after ``safe()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.layout import Layout
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from replay.core.metrics import InFlight, Metrics
from replay.core.outcome import Outcome, outcome_of
from replay.core.text import hms, lit, short

STALL_AFTER = 5.0  # seconds without events before the status says "stalled"

_FRAMES: list[str] = list(Spinner("dots").frames)
# Spinners and the pulsing bar move in steps of 1/ANIMATION_HZ s. Every animation on the
# screen steps at the same moments, so a live viewer whose only change is animation redraws
# 5 times a second, not at every refresh (a full frame is the costly part of an idle view).
ANIMATION_HZ = 5


# Small pure helpers -------------------------------------------------------------


def animation_step(now: float) -> int:
    """Which animation step ``now`` falls in (steps are 1/ANIMATION_HZ s long)."""
    return math.floor(now * ANIMATION_HZ)


def moving(m: Metrics, now: float) -> bool:
    """Whether events still arrive: only then do spinners and the pulsing bar move."""
    return not m.finished and m.last_t is not None and now - m.last_t < STALL_AFTER


def animation_time(m: Metrics, now: float) -> float:
    """``now`` while events arrive; then frozen at the moment the run stalled or finished."""
    if moving(m, now) or m.last_t is None:
        return now if m.last_t is not None else 0.0
    return m.last_t if m.finished else m.last_t + STALL_AFTER


def spinner_frame(now: float, offset: int = 0) -> str:
    """The spinner's frame at ``now``: the same time always draws the same frame.

    ``offset`` shifts the frame, so that spinners side by side do not move in lockstep.
    """
    return _FRAMES[(animation_step(now) + offset) % len(_FRAMES)]


@dataclass(frozen=True)
class Tail:
    """The last lines that fit the height it is given, oldest first (a scrolling list)."""

    lines: tuple[Text, ...]
    empty: str = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or len(self.lines) or 1
        lines = self.lines[-height:] if self.lines else (Text(self.empty, style="dim"),)
        for line in lines:
            line = line.copy()
            line.no_wrap, line.overflow = True, "ellipsis"
            yield line


@dataclass(frozen=True)
class Head:
    """The first rows that fit, with "+N more" when some do not."""

    rows: tuple[Text, ...]
    empty: str = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or len(self.rows) or 1
        rows = self.rows
        if not rows:
            yield Text(self.empty, style="dim")
            return
        if len(rows) > height:
            rows = (*rows[: height - 1], Text(f"+{len(self.rows) - height + 1} more", style="dim"))
        for row in rows:
            row = row.copy()
            row.no_wrap, row.overflow = True, "ellipsis"
            yield row


# Panels -------------------------------------------------------------------------


def run_state(m: Metrics, now: float) -> Text:
    """finished (with outcome), stalled for Ns, or running: never claims work that stopped."""
    if m.finished:
        outcome = outcome_of(m)
        label = f"finished: {outcome.value}"
        if m.exit_status is not None:
            label += f" (exit status {m.exit_status})"
        return lit(label, "bold green" if outcome is Outcome.SUCCEEDED else "bold red")
    idle = now - m.last_t if m.last_t is not None else 0.0
    if m.last_t is None:
        return Text("waiting for events", style="yellow")
    if idle >= STALL_AFTER:
        return Text(f"stalled for {short(idle)}", style="bold yellow")
    return Text("running", style="bold cyan")


def header(m: Metrics, now: float) -> Panel:
    title = Text.assemble(
        ("runreel ", "bold"),
        lit(m.name or "(unnamed run)", "bold white"),
        ("  run ", "dim"),
        lit(m.run or "?", "cyan"),
        ("  ", ""),
        run_state(m, now),
        ("  elapsed ", "dim"),
        (hms(m.elapsed(now)), "bold"),
    )
    title.no_wrap, title.overflow = True, "ellipsis"
    return Panel(title, border_style="blue")


def status_panel(m: Metrics, now: float) -> Panel:
    """Spinner only while events arrive; the outcome once finished."""
    if m.finished:
        ok = outcome_of(m) is Outcome.SUCCEEDED
        lead = Text("✔ Done " if ok else "✖ Done ", style="bold green" if ok else "bold red")
    elif m.last_t is not None and now - m.last_t >= STALL_AFTER:
        lead = Text(f"⏸ Stalled for {short(now - m.last_t)} ", style="bold yellow")
    elif m.last_t is None:
        lead = Text("… Waiting ", style="yellow")
    else:
        lead = Text(f"{spinner_frame(now)} Processing ", style="bold yellow")
    line = Text.assemble(lead, (m.status_text, "bold"))
    counts = Text.assemble(
        ("ok ", "dim"),
        (str(m.succeeded), "green"),
        ("  failed ", "dim"),
        (str(m.failed), "red" if m.failed else ""),
        ("  skipped ", "dim"),
        (str(m.skipped), ""),
        ("  running ", "dim"),
        (str(len(m.in_flight)), "cyan"),
    )
    bar = Table.grid(expand=True)
    bar.add_row(
        ProgressBar(
            total=float(m.total) if m.total else None,
            completed=float(m.processed),
            animation_time=animation_step(animation_time(m, now)) / ANIMATION_HZ,
            pulse=not m.total and not m.finished,
        )
    )
    return Panel(Group(line, bar, counts), title="Status", border_style="cyan")


def workers_panel(m: Metrics, now: float) -> Panel:
    """A spinner for each busy worker while events arrive; once they stop, a still mark."""
    rows: list[Text] = []
    live = moving(m, now)
    for name in sorted(m.workers):
        w = m.workers[name]
        if w.state == "running":
            icon = Text((spinner_frame(now, len(rows)) if live else "◦") + " ", style="cyan")
        elif w.state == "backoff":
            icon = Text("↻ ", style="yellow")
        else:
            icon = Text("· ", style="dim")
        row = Text.assemble(icon, lit(name or "(main)", "bold"))
        if w.task is not None:
            row.append("  ")
            row.append_text(lit(w.task))
            row.append(f"  {short(now - w.since)}", style="dim")
        row.append(f"  ✔{w.succeeded}", style="green")
        if w.failed:
            row.append(f" ✖{w.failed}", style="red")
        rows.append(row)
    busy = sum(1 for w in m.workers.values() if w.state == "running")
    title = f"Workers ({busy} busy / {len(m.workers)})"
    return Panel(Head(tuple(rows), "no workers yet"), title=title, border_style="cyan")


def retries_panel(m: Metrics, now: float) -> Panel:
    waiting = sorted((f for f in m.in_flight.values() if f.state == "backoff"), key=_retry_key)
    rows = []
    for f in waiting:
        left = f.retry_at - now
        due = f"next in {short(left)}" if left > 0 else "retry due"
        rows.append(
            Text.assemble(
                ("↻ ", "yellow"),
                lit(f.task, "bold"),
                (f"  attempt {f.attempt}  {due}  ", "yellow"),
                lit(f.error, "dim"),
            )
        )
    title = f"Retries ({m.retries} total, {len(waiting)} backing off)"
    return Panel(Head(tuple(rows), "no task is backing off"), title=title, border_style="yellow")


def _retry_key(f: InFlight) -> tuple[float, str]:
    return (f.retry_at, f.task)


def errors_panel(m: Metrics, now: float) -> Panel:
    start = m.first_t or 0.0
    lines = tuple(
        Text.assemble(
            (f"{hms(e.t - start)} ", "dim"),
            ("✖ " if e.final else "↻ ", "red" if e.final else "yellow"),
            lit(e.task, "bold"),
            ("  ", ""),
            lit(e.error, "red" if e.final else ""),
        )
        for e in m.recent_errors
    )
    title = f"Errors ({m.failed} failed, {m.retries} retried)"
    return Panel(Tail(lines, "no errors"), title=title, border_style="red")


def logs_panel(m: Metrics, now: float) -> Panel:
    """The latest log messages (e.g. the output of a recorded command)."""
    start = m.first_t or 0.0
    styles = {"error": "red", "stderr": "yellow", "warning": "yellow", "warn": "yellow"}
    lines = tuple(
        Text.assemble(
            (f"{hms(e.t - start)} ", "dim"),
            lit(e.msg, styles.get(e.level, "")),
        )
        for e in m.recent_logs
    )
    return Panel(Tail(lines, "no log messages"), title="Log", border_style="white")


def footer(m: Metrics, now: float, extra: Iterable[Text] = ()) -> Panel:
    remaining = m.remaining
    parts = [
        Text.assemble(
            ("Remaining ", "dim"), ("?" if remaining is None else str(remaining), "bold")
        ),
        Text.assemble(("Rate ", "dim"), (f"{m.rate(now):.1f}/s", "bold")),
        Text.assemble(("ETA ", "dim"), ("done" if m.finished else hms(m.eta(now)), "bold")),
        Text.assemble(("Events ", "dim"), (str(m.events), "")),
    ]
    if m.lost_events or m.gap_count:
        parts.append(Text(f"lost {m.lost_events} events ({m.gap_count} gaps)", style="bold red"))
    unknown = sum(m.unknown_events.values())
    if unknown:
        parts.append(Text(f"{unknown} events of unknown types skipped", style="yellow"))
    parts.extend(extra)
    line = Text("  ·  ").join(parts)
    line.no_wrap, line.overflow = True, "ellipsis"
    return Panel(line, border_style="green")


def dashboard(
    m: Metrics,
    now: float,
    *,
    footer_extra: Iterable[Text] = (),
    controls: RenderableType | None = None,
) -> Layout:
    """The whole dashboard at ``now``; ``controls`` (two rows) sit above the footer."""
    layout = Layout(name="root")
    rows = [
        Layout(header(m, now), name="header", size=3),
        Layout(name="body", ratio=1),
        Layout(footer(m, now, footer_extra), name="footer", size=3),
    ]
    if controls is not None:
        rows.insert(2, Layout(controls, name="controls", size=2))
    layout.split(*rows)
    layout["body"].split_row(Layout(name="left"), Layout(name="right"))
    left = [
        Layout(status_panel(m, now), name="status", size=5),
        Layout(retries_panel(m, now), name="retries", ratio=1),
    ]
    if m.recent_logs:
        left.append(Layout(logs_panel(m, now), name="log", ratio=1))
    layout["left"].split(*left)
    layout["right"].split(
        Layout(workers_panel(m, now), name="workers", ratio=1),
        Layout(errors_panel(m, now), name="errors", ratio=1),
    )
    return layout


def frame_key(m: Metrics, now: float) -> tuple[object, ...]:
    """Everything ``dashboard(m, now)`` draws that depends on ``now``, as cheap values.

    For the same metrics (same events folded), equal keys draw equal frames, so a
    live loop can skip re-rendering an unchanged screen. Keep it in step with the
    panels above (tests/test_live.py checks equal keys give equal frames).
    """
    key: list[object] = [hms(m.elapsed(now)), run_state(m, now).plain]
    if not m.finished and m.last_t is not None:
        idle = now - m.last_t
        key.append(short(idle) if idle >= STALL_AFTER else spinner_frame(now))
    live = moving(m, now)
    if not m.total:
        key.append(animation_step(animation_time(m, now)))  # the pulsing bar's position
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
    key.append(None if m.finished else hms(m.eta(now)))
    return tuple(key)
