"""``runreel index``: build the seek index of a log now, so later seeks are instant."""

from __future__ import annotations

import click

from recorder.location import Location
from replay.cli.options import lenient_option, log_argument
from replay.cli.progress import indexing_progress
from replay.index.store import load_or_build
from replay.sources import local_file


@click.command("index")
@log_argument
@lenient_option
def index_command(log: Location, lenient: bool) -> int:
    """Build (or bring up to date) the seek index of LOG.

    It is written beside LOG as LOG.runreel-index, or in the user cache directory
    when that is not writable. replay and snapshot use and refresh it by themselves.
    """
    path = local_file(log)
    with indexing_progress(path) as progress:
        index = load_or_build(path, lenient=lenient, persist=True, progress=progress)
    h = index.header
    where = index.file or "none written (no writable place beside the log or in the cache)"
    click.echo(
        f"{log}: {h.count} events, {len(h.checkpoints)} checkpoints, {len(index.marks)} marks, "
        f"{len(index.failures)} failures; index: {where}"
    )
    return 0
