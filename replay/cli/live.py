"""``runreel live``: follow a growing log on a live dashboard."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from recorder.errors import LogUnavailable
from replay.cli.options import FloatRange, followed_log_argument, lenient_option
from replay.outputs.formats import EXTENSIONS, Format, format_for_path
from replay.sessions.live import LiveSession
from replay.sessions.loop import finish, is_interactive, run_interactive, run_plain
from replay.sources import follower as follower_for
from replay.sources.file import open_log
from replay.sources.follow import FollowSource

F = TypeVar("F", bound=Callable[..., Any])


def check_snapshot_path(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is not None and format_for_path(value, default="") not in EXTENSIONS.values():  # type: ignore[arg-type]
        raise click.BadParameter(
            f"{value!r}: the format comes from the extension: {', '.join(sorted(EXTENSIONS))}"
        )
    return value


def viewer_options(f: F) -> F:
    """Options every live view shares (live, record, demo)."""
    for option in reversed(
        [
            click.option(
                "--timeout",
                type=FloatRange(min=0, min_open=True),
                help="Soft timeout in seconds: stop (exit 3 if unfinished) unless "
                "cancelled with c; + extends it.",
            ),
            click.option(
                "--snapshot",
                type=click.Path(dir_okay=False, path_type=str),
                callback=check_snapshot_path,
                help="Write the final frame here (.txt .ansi .svg .html .json).",
            ),
            click.option(
                "--stay",
                is_flag=True,
                help="Keep the final screen after the run finishes, until q.",
            ),
            click.option(
                "--refresh",
                type=FloatRange(1, 60),
                default=10.0,
                show_default=True,
                help="Screen refreshes per second.",
            ),
            click.option(
                "--interval",
                type=FloatRange(min=0, min_open=True),
                default=10.0,
                show_default=True,
                help="Seconds between status lines when not on a terminal.",
            ),
        ]
    ):
        f = option(f)
    return f


def view(
    follower: FollowSource,
    *,
    timeout: float | None,
    snapshot: str | None,
    stay: bool,
    refresh: float,
    interval: float,
) -> int:
    """Run a live view over ``follower`` and return the exit code."""
    session = LiveSession(follower, timeout=timeout, stay=stay)
    interactive = is_interactive()
    console = Console(highlight=False, markup=False, emoji=False)
    try:
        if interactive:
            run_interactive(session, console, refresh_hz=refresh)
        else:
            run_plain(session, interval=interval)
    finally:
        follower.close()
    if not follower.appeared and session.reason not in ("sigint", "sigterm"):
        unreachable = getattr(follower, "unreachable", None)  # a Redis server never reached
        if unreachable:
            raise LogUnavailable(f"{unreachable} (stopped: {session.reason})")
        raise LogUnavailable(f"{follower.path} never appeared (stopped: {session.reason})")
    fmt: Format = format_for_path(snapshot) if snapshot else "text"
    return finish(
        session, interactive=interactive, console=console, snapshot=snapshot, snapshot_format=fmt
    )


@click.command()
@followed_log_argument
@viewer_options
@lenient_option
def live(
    log: str,
    timeout: float | None,
    snapshot: str | None,
    stay: bool,
    refresh: float,
    interval: float,
    lenient: bool,
) -> int:
    """Follow LOG (a file or a redis:// stream URL) as it grows on the live dashboard.

    Waits for LOG to appear. Keys: q quit, c cancel the timeout, + extend it.
    Exits when the run finishes (or on q / timeout / signal) with the code for
    the state it stopped at.
    """
    if os.path.isdir(log):  # it will never become a log: do not wait for it
        raise LogUnavailable(f"cannot open {log}: it is a directory")
    if os.path.exists(log):  # there but unreadable: waiting would not change that
        os.close(open_log(log))
    return view(
        follower_for(log, lenient=lenient, block=min(0.05, 0.5 / refresh)),
        timeout=timeout,
        snapshot=snapshot,
        stay=stay,
        refresh=refresh,
        interval=interval,
    )
