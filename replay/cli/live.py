"""``runreel live``: follow a growing log on a live dashboard."""

from __future__ import annotations

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument
from replay.cli.viewer import ViewerOptions, follow_block, viewer_options, watch
from replay.sessions.keymap import keys_help
from replay.sessions.live import KEYS
from replay.sources import follower as follower_for


@click.command(epilog=keys_help(KEYS))
@log_argument
@viewer_options()
@lenient_option
def live(log: Location, viewer: ViewerOptions, lenient: bool) -> int:
    """Follow LOG (a file or a redis:// stream URL) as it grows on the live dashboard.

    Waits for LOG to appear. Exits when the run finishes (or on q / timeout /
    signal) with the code for the state it stopped at.
    """
    return watch(follower_for(log, lenient=lenient, block=follow_block(viewer)), viewer)
