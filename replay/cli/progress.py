"""A progress line on stderr while a big log is indexed (index, replay)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from recorder.location import LogPath
from replay.index.build import Progress

SHOW_AFTER = 0.5  # seconds of indexing before a progress line appears


@contextmanager
def indexing_progress(log: LogPath) -> Iterator[Progress | None]:
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
