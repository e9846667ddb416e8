"""``runreel live``: follow a growing log on a live dashboard."""

from __future__ import annotations

import os

import click

from recorder.errors import LogUnavailable
from replay.cli.options import followed_log_argument, lenient_option
from replay.cli.viewer import ViewerOptions, follow_block, viewer_options, watch
from replay.sources import follower as follower_for
from replay.sources.file import open_log


@click.command()
@followed_log_argument
@viewer_options()
@lenient_option
def live(log: str, viewer: ViewerOptions, lenient: bool) -> int:
    """Follow LOG (a file or a redis:// stream URL) as it grows on the live dashboard.

    Waits for LOG to appear. Keys: q quit, c cancel the timeout, + extend it.
    Exits when the run finishes (or on q / timeout / signal) with the code for
    the state it stopped at.
    """
    if os.path.isdir(log):  # it will never become a log: do not wait for it
        raise LogUnavailable(f"cannot open {log}: it is a directory")
    if os.path.exists(log):  # there but unreadable: waiting would not change that
        os.close(open_log(log))
    return watch(follower_for(log, lenient=lenient, block=follow_block(viewer)), viewer)
