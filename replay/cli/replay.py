"""``runreel replay``: re-render a past run at any speed, with seek controls."""

from __future__ import annotations

import click
from click.core import ParameterSource
from rich.console import Console

from replay.cli.index import indexing_progress
from replay.cli.live import check_snapshot_path
from replay.cli.options import WHEN, FloatRange, lenient_option, log_argument, warn
from replay.core.when import END, START, When
from replay.index.cursor import Cursor
from replay.index.position import NoSuchMark, move
from replay.index.store import load_or_build
from replay.outputs.formats import Format, format_for_path
from replay.sessions.loop import finish, is_interactive, run_interactive, run_plain
from replay.sessions.replay import ReplaySession


@click.command()
@log_argument
@click.option(
    "--speed",
    type=FloatRange(min=0, finite=True),
    default=1.0,
    show_default=True,
    help="Times real speed; more than 0.",
)
@click.option("--instant", is_flag=True, help="Play as fast as possible (not with --speed).")
@click.option(
    "--from",
    "start",
    type=WHEN,
    default="start",
    show_default=True,
    help="Where to begin (same WHEN as snapshot --at).",
)
@click.option("--to", "stop", type=WHEN, default="end", show_default=True, help="Where to stop.")
@click.option(
    "--max-idle",
    type=FloatRange(min=0, min_open=True),
    help="Cap quiet gaps to this many seconds (times shown do not change).",
)
@click.option("--pause-at-marks", is_flag=True, help="Pause at every mark (on a terminal).")
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, path_type=str),
    callback=check_snapshot_path,
    help="Write the frame where the replay stopped (.txt .ansi .svg .html .json).",
)
@click.option(
    "--refresh",
    type=FloatRange(1, 60),
    default=20.0,
    show_default=True,
    help="Screen refreshes per second.",
)
@click.option(
    "--interval",
    type=FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds between status lines when not on a terminal.",
)
@lenient_option
def replay(
    log: str,
    speed: float,
    instant: bool,
    start: When | None,
    stop: When | None,
    max_idle: float | None,
    pause_at_marks: bool,
    snapshot: str | None,
    refresh: float,
    interval: float,
    lenient: bool,
) -> int:
    """Re-render the run in LOG as it happened, at --speed times real speed.

    \b
    Keys: space pause/resume · left/right seek 5 s · [ ] previous/next mark
    , . step one event back/forward · + - speed · 0-9 jump to 0-90%
    g G start/end · e E next/previous failure · q quit
    Not on a terminal it plays to --to and prints the final frame. Exits with the
    code for the state where it stopped.
    """
    if speed == 0:  # what --instant was once spelled: say so
        raise click.BadParameter(
            "0 is no speed; --instant plays as fast as possible", param_hint="--speed"
        )
    ctx = click.get_current_context()
    if instant and ctx.get_parameter_source("speed") is not ParameterSource.DEFAULT:
        raise click.UsageError("--instant plays as fast as possible: it takes no --speed")
    with indexing_progress(log) as progress:
        index = load_or_build(log, lenient=lenient, progress=progress)
    cursor = Cursor(index, lenient=lenient)
    try:
        _check_range(cursor, start or START, stop or END)
        session = ReplaySession(
            cursor,
            start=start or START,
            stop=stop or END,
            speed=0.0 if instant else speed,
            max_idle=max_idle,
            pause_at_marks=pause_at_marks,
        )
    except NoSuchMark as exc:
        raise click.BadParameter(str(exc)) from None
    warn(index.report().warnings())
    interactive = is_interactive()
    console = Console(highlight=False, markup=False, emoji=False)
    if interactive:
        run_interactive(session, console, refresh_hz=refresh)
    else:
        run_plain(session, interval=interval, poll=0.05)
    fmt: Format = format_for_path(snapshot) if snapshot else "text"
    return finish(
        session, interactive=interactive, console=console, snapshot=snapshot, snapshot_format=fmt
    )


def _check_range(cursor: Cursor, start: When, stop: When) -> None:
    """A --from after --to is a usage error: the session would silently play nothing."""
    stop_t = move(cursor, stop)
    stop_event = cursor.position
    start_t = move(cursor, start)
    if cursor.position > stop_event or start_t > stop_t:
        raise click.UsageError(f"--from {start} is after --to {stop}")
