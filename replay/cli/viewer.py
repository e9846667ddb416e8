"""What every viewing command shares: its options, one object, and running a session.

This is the edge where the real clocks are read: sessions and the loop get them from here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import click
from rich.console import Console

from replay.cli.options import FloatRange, OutputPath, need_directory
from replay.outputs.formats import EXTENSIONS, Format, format_for_path
from replay.sessions.live import LiveSession
from replay.sessions.loop import Session, finish, is_interactive, run_interactive, run_plain
from replay.sources.follow import FollowSource

F = TypeVar("F", bound=Callable[..., Any])

WALL = time.time  # this machine's clock: live "now" before any event arrived
MONO = time.monotonic  # for durations: timeouts, playback, the loop's cadence


@dataclass(frozen=True)
class ViewerOptions:
    """How a session is shown and when it stops, as the viewing commands take it."""

    timeout: float | None = None
    snapshot: str | None = None
    stay: bool = False
    refresh: float = 10.0
    interval: float = 10.0

    @property
    def snapshot_format(self) -> Format:
        return format_for_path(self.snapshot) if self.snapshot else "text"


def check_snapshot_path(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is not None and format_for_path(value, default="") not in EXTENSIONS.values():  # type: ignore[arg-type]
        raise click.BadParameter(
            f"{value!r}: the format comes from the extension: {', '.join(sorted(EXTENSIONS))}"
        )
    if value is not None:
        need_directory(value)
    return value


def viewer_options(*, replay: bool = False) -> Callable[[F], F]:
    """The viewer's options, handed to the command as one ``viewer: ViewerOptions``.

    A live view (live, record, demo) has a timeout and --stay; a replay stops where it is
    told to, so it has neither, and redraws faster by default.
    """
    snapshot_help = (
        "Write the frame where the replay stopped (.txt .ansi .svg .html .json)."
        if replay
        else "Write the final frame here (.txt .ansi .svg .html .json)."
    )
    timeout = click.option(
        "--timeout",
        type=FloatRange(min=0, min_open=True),
        help="Soft timeout in seconds: stop (exit 3 if unfinished) unless "
        "cancelled with c; + extends it.",
    )
    snapshot = click.option(
        "--snapshot",
        type=OutputPath(),
        callback=check_snapshot_path,
        help=snapshot_help,
    )
    stay = click.option(
        "--stay", is_flag=True, help="Keep the final screen after the run finishes, until q."
    )
    refresh = click.option(
        "--refresh",
        type=FloatRange(1, 60),
        default=20.0 if replay else 10.0,
        show_default=True,
        help="Screen refreshes per second.",
    )
    interval = click.option(
        "--interval",
        type=FloatRange(min=0, min_open=True),
        default=10.0,
        show_default=True,
        help="Seconds between status lines when not on a terminal.",
    )
    options = (
        [snapshot, refresh, interval] if replay else [timeout, snapshot, stay, refresh, interval]
    )
    names = [f.name for f in fields(ViewerOptions)]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def command(**kwargs: Any) -> Any:
            viewer = ViewerOptions(**{n: kwargs.pop(n) for n in names if n in kwargs})
            return f(viewer=viewer, **kwargs)

        for option in reversed(options):
            command = option(command)
        return command  # type: ignore[return-value]

    return decorate


def run_session(session: Session, viewer: ViewerOptions, *, poll: float = 0.1) -> int:
    """Show ``session`` until it stops (screen mode on a terminal, status lines otherwise),
    write the snapshot, and return the exit code for how it ended."""
    interactive = is_interactive()
    console = Console(highlight=False, markup=False, emoji=False)
    try:
        if interactive:
            run_interactive(session, console, refresh_hz=viewer.refresh, clock=MONO)
        else:
            run_plain(session, interval=viewer.interval, clock=MONO, poll=poll)
        session.check()
        return finish(
            session,
            interactive=interactive,
            console=console,
            snapshot=viewer.snapshot,
            snapshot_format=viewer.snapshot_format,
        )
    finally:  # after the last frame and the snapshot, which may read the views' store
        session.close()


def watch(
    follower: FollowSource,
    viewer: ViewerOptions,
    on_stop: Callable[[str | None], None] | None = None,
) -> int:
    """The live view over ``follower``; its exit code. ``on_stop``: what stopping the
    view does to the run besides (the demo ends its run), before the last frame."""
    session = LiveSession(follower, wall=WALL, mono=MONO, timeout=viewer.timeout, stay=viewer.stay)
    session.on_stop = on_stop
    return run_session(session, viewer)


def follow_block(viewer: ViewerOptions) -> float:
    """How long one read of a followed log may wait: well inside a frame."""
    return min(0.05, 0.5 / viewer.refresh)
