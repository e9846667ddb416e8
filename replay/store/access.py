"""A store to answer from, as of a position in the log.

At the end (the default) the kept store is used, brought up to date first (and built
along with the index when the log is big enough to keep one). At any other position
(``--at``) a store of the log up to that event is built in a temporary file, so every
question is answered as the run stood then: tasks still running are running, failures
that were retried later are still failures. That costs one read of the log up to the
position; without a kept store the end costs the same.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from recorder.location import LogPath
from replay.core.when import When
from replay.index.cursor import Cursor
from replay.index.position import enough_for, move, warnings
from replay.index.store import load_or_build
from replay.store.building import Building
from replay.store.keep import fresh_store
from replay.store.queries import open_read_only


@dataclass
class Answer:
    """A read-only connection to a store and what the reader found in the log."""

    conn: sqlite3.Connection
    warnings: list[str]
    events: int  # events of the log the store holds
    exit_status: int | None = None  # the recorded command's (run_finished), as of then


@contextmanager
def store_at(log: LogPath, when: When, *, lenient: bool = False) -> Iterator[Answer]:
    """A read-only store of ``log`` as of ``when``; the mark errors of ``move`` pass on."""
    events: int | None = None
    if when.kind == "end":
        index = load_or_build(log, lenient=lenient, store=True)
        cursor = Cursor(index, lenient=lenient)
        move(cursor, when)  # the state at the end: from the last checkpoint, in no time
        said = warnings(index.report(), cursor.metrics)
        path = fresh_store(log, lenient)
        if path is not None:
            conn = open_read_only(path)
            try:
                yield Answer(conn, said, index.header.count, cursor.metrics.exit_status)
            finally:
                conn.close()
            return
    else:
        index = load_or_build(log, lenient=lenient, until=enough_for(when))
        cursor = Cursor(index, lenient=lenient)
        move(cursor, when)
        events = cursor.metrics.events
        said = warnings(index.report(), cursor.metrics)
    with tempfile.TemporaryDirectory(prefix="runreel-store-") as tmp:
        path = os.path.join(tmp, "store.sqlite")
        count = build_to(log, path, lenient=lenient, events=events)
        conn = open_read_only(path)
        try:
            yield Answer(conn, said, count, cursor.metrics.exit_status)
        finally:
            conn.close()


def build_to(
    log: LogPath,
    path: str,
    *,
    lenient: bool = False,
    events: int | None = None,
    workers: bool = True,
) -> int:
    """Build a store of ``log`` at ``path`` up to event ``events`` (None: the end), lean
    without ``workers`` (``store.lean``); returns the number of events it holds."""
    building = Building(log, path, lenient=lenient, events=events, workers=workers)
    building.step()
    return building.events
