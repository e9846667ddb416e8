"""``runreel index``: build the seek index of a log now, so later seeks are instant."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from replay.cli.options import lenient_option, log_argument
from replay.index.build import Progress
from replay.index.store import load_or_build

SHOW_AFTER = 0.5  # seconds of indexing before a progress line appears


@click.command("index")
@log_argument
@lenient_option
def index_command(log: str, lenient: bool) -> int:
    """Build (or bring up to date) the seek index of LOG.

    It is written beside LOG as LOG.runreel-index, or in the user cache directory
    when that is not writable. replay and snapshot use and refresh it by themselves.
    """
    with indexing_progress(log) as progress:
        index = load_or_build(log, lenient=lenient, persist=True, progress=progress)
    h = index.header
    where = index.file or "none written (no writable place beside the log or in the cache)"
    click.echo(
        f"{log}: {h.count} events, {len(h.checkpoints)} checkpoints, {len(index.marks)} marks, "
        f"{len(index.failures)} failures; index: {where}"
    )
    return 0


@contextmanager
def indexing_progress(log: str) -> Iterator[Progress | None]:
    """A "indexing LOG: N%" line on stderr while a big log is read (on a terminal only)."""
    try:
        on_terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):
        on_terminal = False
    if not on_terminal:
        yield None
        return
    began = time.monotonic()
    shown = [-1]

    def show(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != shown[0] and time.monotonic() - began >= SHOW_AFTER:
            shown[0] = percent
            click.echo(f"\rrunreel: indexing {log}: {percent}%", err=True, nl=False)

    try:
        yield show
    finally:
        if shown[0] >= 0:
            click.echo("\r\x1b[K", err=True, nl=False)  # the line is gone when done
