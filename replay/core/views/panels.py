"""The dashboard's panels, each a pure function of (metrics, now) and how the view stopped.

Each panel comes with what it holds as lines, so the layout can make it as tall as
that (``rows``) and no taller. Log text enters only through ``lit``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from rich.spinner import Spinner
from rich.text import Text

from recorder.events import INTERRUPTED
from replay.core.metrics import ErrorEntry, InFlight, LogEntry, Metrics
from replay.core.outcome import Outcome, outcome_of
from replay.core.text import hms, lit, short, worker_name

STALL_AFTER = 5.0  # seconds without events before the status says "stalled"

_FRAMES: list[str] = list(Spinner("dots").frames)
# Spinners and the pulsing bar move in steps of 1/ANIMATION_HZ s. Every animation on the
# screen steps at the same moments, so a live viewer whose only change is animation redraws
# 5 times a second, not at every refresh (a full frame is the costly part of an idle view).
ANIMATION_HZ = 5

STOP_WORDS = {"quit": "q", "timeout": "timeout", "sigint": "SIGINT", "sigterm": "SIGTERM"}
LOG_END = "end"  # a replay played its log to the end: nothing runs past the last event
# Past a day without events, "stalled for 26778h" says more about the clocks than the run
# (the writer's and the viewer's need not agree): the stall is dated by its last event.
STALE_AFTER = 86400.0


# Time and animation -------------------------------------------------------------


def animation_step(now: float) -> int:
    """Which animation step ``now`` falls in (steps are 1/ANIMATION_HZ s long)."""
    return math.floor(now * ANIMATION_HZ)


def interrupted(m: Metrics) -> bool:
    """The run itself was recorded as interrupted (``runreel record`` stopped its
    command). A viewer that stops (q, a timeout, a signal) interrupts no run."""
    return m.finished and m.status == INTERRUPTED


def view_stopped(m: Metrics, stopped: str | None) -> bool:
    """The view stopped (q, a timeout, a signal) while the run had not finished: the
    picture is the run's state then, still, and labelled so."""
    return not m.finished and stopped in STOP_WORDS


def ended(m: Metrics, stopped: str | None) -> bool:
    """The tasks in flight will never end in what is shown: the run finished, or a
    replay reached the end of its log."""
    return m.finished or stopped == LOG_END


def log_ended(m: Metrics, stopped: str | None) -> bool:
    """A replay reached the end of a log whose run never finished in it."""
    return not m.finished and stopped == LOG_END


def stale(m: Metrics, now: float) -> bool:
    """No event for more than STALE_AFTER seconds (a log nobody writes any more)."""
    return not m.finished and m.last_t is not None and now - m.last_t >= STALE_AFTER


def stall(m: Metrics, now: float) -> str:
    """How long no event came: "for 12s", or "since <UTC time of the last event>" once
    that is past a day (an elapsed time of years reads as a broken clock)."""
    last = m.last_t or 0.0
    if now - last >= STALE_AFTER:
        return f"since {utc(last)}"
    return f"for {short(now - last)}"


def utc(t: float) -> str:
    """An epoch time as ``YYYY-MM-DD HH:MM:SS UTC`` (civil from days, pure arithmetic:
    the core reads no clock and imports no datetime)."""
    days, rem = divmod(int(t), 86400)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    z = days + 719468
    era, doe = divmod(z, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d} UTC"


def elapsed(m: Metrics, now: float) -> str:
    """The header's elapsed time; a stale run's is measured to its last event."""
    if stale(m, now):
        return f"{hms(m.elapsed(m.last_t or now))} to its last event"
    return hms(m.elapsed(now))


def eta_text(m: Metrics, now: float, stopped: str | None) -> str:
    """The ETA as the footer and the status line both say it: "done" only when nothing
    is left; an estimate only while the run can still go on (labelled when the view
    stopped); never "00:00" while tasks remain."""
    left = bool(m.remaining) or bool(m.in_flight)
    if m.finished:
        if m.status == INTERRUPTED and m.remaining != 0:
            return "none: interrupted"
        return "none: ended with tasks left" if left else "done"
    if m.remaining == 0:
        return "done"
    if stopped == LOG_END:
        return "none: the log ends here"
    eta = m.eta(now)
    estimate = (
        "--:--" if eta is None else hms(max(eta, 1.0))
    )  # under a second reads 00:01, not 00:00
    return f"{estimate} at the stop" if view_stopped(m, stopped) and eta is not None else estimate


def moving(m: Metrics, now: float, stopped: str | None = None) -> bool:
    """Whether events still arrive: only then do spinners and the pulsing bar move."""
    if ended(m, stopped) or view_stopped(m, stopped):
        return False
    return m.last_t is not None and now - m.last_t < STALL_AFTER


def spinner_frame(now: float, offset: int = 0) -> str:
    """The spinner's frame at ``now``: the same time always draws the same frame.

    ``offset`` shifts the frame, so that spinners side by side do not move in lockstep.
    """
    return _FRAMES[(animation_step(now) + offset) % len(_FRAMES)]


# What each panel says ---------------------------------------------------------------


def run_state(m: Metrics, now: float, stopped: str | None = None) -> Text:
    """finished (with outcome), interrupted, stalled for Ns, or running: never claims
    work that stopped; a view that stopped says so after the state it stopped at."""
    exit_status = "" if m.exit_status is None else f" (exit status {m.exit_status})"
    if interrupted(m):
        return Text(f"interrupted{exit_status}", style="bold magenta")
    if m.finished:
        outcome = outcome_of(m)
        label = f"finished: {outcome.value}{exit_status}"
        return lit(label, "bold green" if outcome is Outcome.SUCCEEDED else "bold red")
    if log_ended(m, stopped):
        return Text("unfinished: the log ends here", style="bold magenta")
    if m.last_t is None:
        state = Text("waiting for events", style="yellow")
    elif now - m.last_t >= STALL_AFTER:
        state = Text(f"stalled {stall(m, now)}", style="bold yellow")
    else:
        state = Text("running", style="bold cyan")
    if view_stopped(m, stopped):
        state.append(f" (view stopped: {STOP_WORDS[str(stopped)]})", style="bold magenta")
    return state


def status_lead(m: Metrics, now: float, stopped: str | None) -> Text:
    """The status line's first word: a spinner only while events arrive."""
    if interrupted(m):
        return Text("■ Interrupted", style="bold magenta")
    if m.finished:
        ok = outcome_of(m) is Outcome.SUCCEEDED
        return Text("✔ Done" if ok else "✖ Done", style="bold green" if ok else "bold red")
    if log_ended(m, stopped):
        return Text("■ Log ends", style="bold magenta")
    if view_stopped(m, stopped):
        return Text("■ View stopped", style="bold magenta")
    if m.last_t is None:
        return Text("… Waiting", style="yellow")
    if now - m.last_t >= STALL_AFTER:
        return Text(f"⏸ Stalled {stall(m, now)}", style="bold yellow")
    return Text(f"{spinner_frame(now)} Processing", style="bold yellow")


def backing_off(m: Metrics) -> list[InFlight]:
    """Tasks waiting to be retried, the soonest first."""
    return sorted((f for f in m.in_flight.values() if f.state == "backoff"), key=_retry_key)


def _retry_key(f: InFlight) -> tuple[float, str]:
    return (f.retry_at, f.task)


def status_parts(m: Metrics, now: float, stopped: str | None) -> list[Text]:
    """The status line as whole parts: the seed's ``(errors - processed / total)`` first,
    then the same figures with words, so nothing needs decoding."""
    total = "?" if m.total is None else str(m.total)
    waiting = sum(1 for f in m.in_flight.values() if f.state == "backoff")
    flying = len(m.in_flight)
    parts = [
        Text.assemble(status_lead(m, now, stopped), " ", (m.status_text, "bold")),
        Text.assemble((f"{m.processed}/{total}", "bold"), " done"),
        Text.assemble((str(m.succeeded), "bold green"), " ok"),
        Text.assemble((str(m.failed), "bold red" if m.failed else "bold"), " failed"),
    ]
    if m.skipped:
        parts.append(Text.assemble((str(m.skipped), "bold"), " skipped"))
    if ended(m, stopped):
        if flying:
            parts.append(Text.assemble((str(flying), "bold magenta"), " unfinished"))
    else:
        run = Text.assemble((str(flying - waiting), "bold cyan"), " running")
        if waiting:
            run.append_text(Text.assemble(" + ", (str(waiting), "bold yellow"), " backing off"))
        parts.append(run)
    parts.append(Text.assemble((str(m.retries), "bold"), " retried"))
    return parts


def worker_rows(m: Metrics, now: float, stopped: str | None) -> tuple[str, tuple[Text, ...]]:
    """The workers panel's title and one row per worker, busy ones first."""
    rows: list[Text] = []
    live = moving(m, now, stopped)
    over = ended(m, stopped)
    counts = {"running": 0, "backoff": 0, "idle": 0}
    for i, name in enumerate(sorted(m.workers)):
        w = m.workers[name]
        counts[w.state] = counts.get(w.state, 0) + 1
        if w.state == "running":
            mark = "◌" if over else spinner_frame(now, i) if live else "◦"
            icon = Text(mark + " ", style="magenta" if over else "cyan")
        elif w.state == "backoff":
            icon = Text("↻ ", style="magenta" if over else "yellow")
        else:
            icon = Text("· ", style="dim")
        row = Text.assemble(icon, Text(worker_name(name), style="bold"))
        if w.task is not None:
            row.append("  ")
            row.append_text(lit(w.task))
            row.append(f"  {short(now - w.since)}", style="dim")
            if over:
                row.append("  unfinished", style="magenta")
        row.append(f"  ✔{w.succeeded}", style="green")
        if w.failed:
            row.append(f" ✖{w.failed}", style="red")
        rows.append(row)
    if over:
        left = counts["running"] + counts["backoff"]
        title = f"Workers ({len(m.workers)}, " + (
            f"{left} left a task unfinished)" if left else "all idle)"
        )
    else:
        title = f"Workers ({counts['running']} busy"
        if counts["backoff"]:
            title += f", {counts['backoff']} backing off"
        title += f" / {len(m.workers)})"
    return title, tuple(rows)


def retry_rows(m: Metrics, now: float, stopped: str | None) -> tuple[Text, ...]:
    """One row per task backing off: when it retries and why it failed."""
    rows = []
    for f in backing_off(m):
        left = f.retry_at - now
        if ended(m, stopped):
            due = "unfinished"
        else:
            due = f"next in {short(left)}" if left > 0 else "retry due"
        rows.append(
            Text.assemble(
                ("↻ ", "yellow"),
                lit(f.task, "bold"),
                (f"  attempt {f.attempt}  {due}  ", "yellow"),
                lit(f.error, "dim"),
            )
        )
    return tuple(rows)


def error_lines(m: Metrics, last: int) -> tuple[Text, ...]:
    """The newest ``last`` failures and failed attempts, oldest first."""
    start = m.first_t or 0.0
    return tuple(_error_line(e, start) for e in list(m.recent_errors)[-last:])


# An entry's line is the same in every frame: built once (shared, so never mutated:
# the lists that show them copy each line before cutting it to width).
@lru_cache(maxsize=1024)
def _error_line(e: ErrorEntry, start: float) -> Text:
    return Text.assemble(
        (f"{hms(e.t - start)} ", "dim"),
        ("✖ " if e.final else "↻ ", "red" if e.final else "yellow"),
        lit(e.task, "bold"),
        (f" on {worker_name(e.worker)}", "dim"),
        ("  ", ""),
        lit(e.error, "red" if e.final else ""),
    )


_LOG_STYLES = {"error": "red", "stderr": "yellow", "warning": "yellow", "warn": "yellow"}


def log_lines(m: Metrics, last: int) -> tuple[Text, ...]:
    """The newest ``last`` log messages (e.g. the output of a recorded command)."""
    start = m.first_t or 0.0
    return tuple(_log_line(e, start) for e in list(m.recent_logs)[-last:])


@lru_cache(maxsize=1024)
def _log_line(e: LogEntry, start: float) -> Text:
    return Text.assemble((f"{hms(e.t - start)} ", "dim"), lit(e.msg, _LOG_STYLES.get(e.level, "")))


def took(seconds: float) -> str:
    """A task's duration: milliseconds below a second, else as ``short``."""
    return f"{seconds * 1000:.0f}ms" if seconds < 0.9995 else short(seconds)


def duration_parts(m: Metrics, now: float, stopped: str | None) -> list[Text]:
    """Task durations (p50, p95, max of the ended ones), then the tasks in flight
    longest, longest first: parts for one line that drops what does not fit."""
    parts: list[Text] = []
    p50, p95 = m.duration_percentile(0.5), m.duration_percentile(0.95)
    if p50 is not None and p95 is not None:  # bucket bounds: never past the longest task
        p50, p95 = min(p50, m.max_duration), min(p95, m.max_duration)
        parts.append(
            Text.assemble(
                ("durations  p50 ", "dim"),
                (f"≤{took(p50)}", "bold"),
                ("  p95 ", "dim"),
                (f"≤{took(p95)}", "bold"),
                ("  max ", "dim"),
                (took(m.max_duration), "bold"),
            )
        )
    # Start times, not ticking durations: a stalled view then has nothing to redraw.
    # Timed from the first attempt's start (backoffs included), and labelled so.
    word = "unfinished from 1st try" if ended(m, stopped) else "in flight from 1st try"
    start = m.first_t or 0.0
    for i, f in enumerate(sorted(m.in_flight.values(), key=_longest_key)):
        part = Text.assemble((f"{word} " if i == 0 else "", "dim"), (hms(f.started - start), ""))
        part.append_text(Text.assemble(" ", lit(f.task, "bold")))
        if f.state == "backoff":
            part.append(" ↻", "yellow")
        elif f.attempt > 1:  # the workers panel times this try, not the first
            part.append(f" (try {f.attempt})", "yellow")
        parts.append(part)
    return parts


def _longest_key(f: InFlight) -> tuple[float, str]:
    return (f.started, f.task)
