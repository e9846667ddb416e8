"""``runreel replay``: re-render a past run at any speed, with seek controls."""

from __future__ import annotations

import click
from click.core import ParameterSource

from recorder.location import Location
from replay.cli.options import WHEN, FloatRange, lenient_option, log_argument, warn
from replay.cli.progress import indexing_progress
from replay.cli.viewer import MONO, ViewerOptions, run_session, viewer_options
from replay.core.when import END, START, When
from replay.index.cursor import Cursor
from replay.index.position import BadPosition, move
from replay.index.store import load_or_build
from replay.sessions.keymap import keys_help
from replay.sessions.replay import ReplaySession
from replay.sessions.replay_keys import KEYS
from replay.sources import local_file


@click.command(epilog=keys_help(KEYS))
@log_argument
@click.option(
    "--speed",
    type=FloatRange(finite=True),  # 0 and below: refused below, with a hint
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
@viewer_options(replay=True)
@lenient_option
def replay(
    log: Location,
    speed: float,
    instant: bool,
    start: When | None,
    stop: When | None,
    max_idle: float | None,
    pause_at_marks: bool,
    viewer: ViewerOptions,
    lenient: bool,
) -> int:
    """Re-render the run in LOG as it happened, at --speed times real speed.

    Not on a terminal it plays to --to and prints the final frame. Exits with the
    code for the state where it stopped. --from and --to take the same WHEN as
    snapshot --at; one the run does not have (past its end, an unknown mark) is a
    usage error.
    """
    if speed <= 0:  # 0 is what --instant was once spelled: say so
        raise click.BadParameter(
            f"{speed:g} is no speed: a speed is more than 0 (--instant plays as fast as possible)",
            param_hint="--speed",
        )
    ctx = click.get_current_context()
    if instant and ctx.get_parameter_source("speed") is not ParameterSource.DEFAULT:
        raise click.UsageError("--instant plays as fast as possible: it takes no --speed")
    path = local_file(log)
    with indexing_progress(path) as progress:
        index = load_or_build(path, lenient=lenient, progress=progress)
    cursor = Cursor(index, lenient=lenient)
    _check_range(cursor, start or START, stop or END)
    session = ReplaySession(
        cursor,
        start=start or START,
        stop=stop or END,
        speed=0.0 if instant else speed,
        max_idle=max_idle,
        pause_at_marks=pause_at_marks,
        mono=MONO,
    )
    warn(index.report().warnings())
    return run_session(session, viewer, poll=0.05)


def _check_range(cursor: Cursor, start: When, stop: When) -> None:
    """Positions the log does not have (an unknown mark, past the end) and a --from
    after --to are usage errors: the session would silently play something else."""
    stop_t = _move(cursor, stop, "'--to'")
    stop_event = cursor.position
    start_t = _move(cursor, start, "'--from'")
    if cursor.position > stop_event or start_t > stop_t:
        raise click.UsageError(f"--from {start} is after --to {stop}")


def _move(cursor: Cursor, when: When, option: str) -> float:
    try:
        return move(cursor, when)
    except BadPosition as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
