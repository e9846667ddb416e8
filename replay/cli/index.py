"""``runreel index``: build the seek index of a log now, so later seeks are instant."""

from __future__ import annotations

import click

from recorder.errors import WriteFailed
from recorder.location import Location
from replay.cli.options import lenient_option, log_argument, warn
from replay.cli.progress import indexing_progress
from replay.core.text import plural
from replay.core.when import END
from replay.index.cursor import Cursor
from replay.index.position import move, warnings
from replay.index.store import load_or_build
from replay.sources import local_file
from replay.store.keep import fresh_store


@click.command("index")
@log_argument
@lenient_option
def index_command(log: Location, lenient: bool) -> int:
    """Build (or bring up to date) the seek index and the post-mortem store of LOG.

    They are written beside LOG as LOG.runreel-index and LOG.runreel-store.sqlite, or
    in the user cache directory when that is not writable. replay, snapshot and the
    post-mortem commands use and refresh them by themselves. Exits 74 when the index
    could be written nowhere.
    """
    path = local_file(log)
    with indexing_progress(path) as progress:
        index = load_or_build(path, lenient=lenient, persist=True, progress=progress, store=True)
    cursor = Cursor(index, lenient=lenient)
    move(cursor, END)  # the state at the end, from the last checkpoint: for its warnings
    warn(warnings(index.report(), cursor.metrics))
    if index.file is None:
        raise WriteFailed(
            f"no index written for {log}: no writable place beside the log or in the "
            "cache directory (XDG_CACHE_HOME)"
        )
    h = index.header
    nowhere = "none written (no writable place beside the log or in the cache)"
    stored = fresh_store(path, lenient)
    counts = (
        plural(h.count, "event", grouped=True),
        plural(len(h.checkpoints), "checkpoint", grouped=True),
        plural(len(index.marks), "mark", grouped=True),
        plural(len(index.failures), "failure", grouped=True),
    )
    click.echo(
        f"{log}: {', '.join(counts)}; index: {index.file or nowhere}; "
        f"post-mortem store: {stored or nowhere}"
    )
    return 0
