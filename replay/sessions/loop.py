"""The terminal loop: render a session at a fixed rate, take keys and signals, stop cleanly.

Interactive (a TTY): rich's ``Live`` owns the alternate screen (``screen.RowLive``: it
writes only the rows that changed); it refreshes only when the loop hands it a new frame,
and the loop does that only when the frame's key changed (no refresh thread: a frame that
would draw the same is neither rendered nor written); keys are read on a thread; the
terminal is always restored. Otherwise: no cursor movement and no escape sequences, one
plain status line every ``interval`` seconds. The cadence is measured on the ``clock``
the caller passes (``time.monotonic`` at the CLI).
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

import click
from rich.console import Console, RenderableType

from recorder.atomic import write_file
from replay import exitcodes
from replay.core.clock import Source
from replay.core.metrics import Metrics
from replay.outputs.formats import Format
from replay.outputs.snapshot import render
from replay.sessions.keys import Inputs, keyboard, signals
from replay.sessions.pages import Pages
from replay.sessions.screen import RowLive


class Session(Protocol):
    """What the loop needs from a live or replay session."""

    keys: bool
    reason: str | None
    pages: Pages

    @property
    def shown_stop(self) -> str | None: ...

    @property
    def metrics(self) -> Metrics: ...

    def tick(self) -> None: ...
    def key(self, key: str) -> None: ...
    def now(self) -> float: ...
    def view(self) -> RenderableType: ...
    def status_line(self) -> str: ...
    def close(self) -> None: ...
    def check(self) -> None: ...


def is_interactive(environ: dict[str, str] | None = None) -> bool:
    """Screen mode only on a real terminal (rich's TTY_INTERACTIVE overrides either way)."""
    env = os.environ if environ is None else environ
    forced = env.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    if env.get("TTY_COMPATIBLE") == "0" or env.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    try:
        return os.isatty(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        return False


def run_interactive(
    session: Session, console: Console, *, refresh_hz: float, clock: Source
) -> None:
    """Screen-mode loop until the session has a stop reason."""
    inputs = Inputs()
    period = 1.0 / refresh_hz
    with signals(inputs), keyboard(inputs) as has_keys:
        session.keys = has_keys
        session.tick()
        with live_screen(console) as live:
            next_tick = clock()
            drawn: object = None
            seen, step = session.metrics.events, period
            while session.reason is None:
                frame = _frame_key(session, console)
                if frame is None or frame != drawn:
                    live.update(session.view(), refresh=True)
                    drawn = frame
                next_tick += step
                for key in inputs.wait(next_tick - clock()):
                    session.key(key)
                if session.reason is None:
                    session.tick()
                events = session.metrics.events
                step, seen = pace(period, events - seen), events
                if clock() - next_tick > step:
                    next_tick = clock()  # fell behind: do not try to catch up
    _catch_up(session)


def live_screen(console: Console) -> RowLive:
    """rich's ``Live`` on the alternate screen, refreshed only by ``update(..., refresh=True)``:
    no refresh thread redrawing frames that did not change, stdout/stderr left alone."""
    return RowLive(console)


STREAMING = 500.0  # events/s from which the figures change faster than anyone reads them
STREAMING_HZ = 7.0  # refreshes per second while events stream: a change shows within 1/7 s


def pace(period: float, folded: int) -> float:
    """Seconds until the next refresh, after a refresh ``period`` that folded ``folded``
    events: at most ``STREAMING_HZ`` refreshes a second while events stream in (the
    screen changes at every refresh then, and drawing it is the viewer's main cost).
    A key is still answered at once: it ends the wait."""
    if folded < STREAMING * period:
        return period
    return max(period, 1.0 / STREAMING_HZ)


def _frame_key(session: Session, console: Console) -> object:
    """What the next frame depends on, when the session can tell (None: always redraw).

    A session may offer ``frame_key()``; equal keys at the same terminal size mean the
    screen would not change, so rendering it again (the costly part) is skipped.
    """
    frame_key = getattr(session, "frame_key", None)
    if frame_key is None:
        return None
    return (console.size, frame_key())


FINAL_HEIGHT = 30  # rows of the last dashboard printed when a viewer ends


def run_plain(session: Session, *, interval: float, clock: Source, poll: float = 0.1) -> None:
    """Pipe/CI loop: a status line every ``interval`` seconds, nothing else."""
    inputs = Inputs()
    with signals(inputs):
        session.tick()
        next_line = clock()
        while session.reason is None:
            if clock() >= next_line:
                click.echo(session.status_line())
                next_line += interval
            for key in inputs.wait(poll):
                session.key(key)
            if session.reason is None:
                session.tick()
    _catch_up(session)


def _catch_up(session: Session) -> None:
    """A live session folds what its log holds when the view stops (its ``catch_up``),
    so the last frame counts every event written up to the stop. A replay has none: it
    stops at its position."""
    catch_up = getattr(session, "catch_up", None)
    if catch_up is not None:
        catch_up()


def finish(
    session: Session,
    *,
    interactive: bool,
    console: Console,
    snapshot: str | None,
    snapshot_format: Format,
) -> int:
    """After the loop: final output, the snapshot, and the exit code for why it stopped."""
    m, now = session.metrics, session.now()
    if snapshot:
        width, height = (console.size.width, console.size.height) if interactive else (100, 30)
        write_file(
            snapshot,
            render(
                m,
                now,
                width=width,
                height=height,
                fmt=snapshot_format,
                stopped=session.shown_stop,
                view=session.pages.state,  # the view shown, as it was shown
                record=session.pages.last(),
                end=session.pages.end,
            ),
        )
    if interactive:  # the screen just closed: the last picture stays in the scrollback
        session.keys = False  # without the key hints: no key works there any more
        console.print(session.view(), height=min(console.size.height, FINAL_HEIGHT))
        click.echo(session.status_line() + f" (stopped: {session.reason})")
    else:
        click.echo(session.status_line() + f" (stopped: {session.reason})")
        console.print(session.view(), height=FINAL_HEIGHT)
    if session.reason == "sigint":
        return exitcodes.SIGINT
    if session.reason == "sigterm":
        return exitcodes.SIGTERM
    return exitcodes.for_metrics(m)
