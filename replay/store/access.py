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
from replay.index.build import READ_CHUNK
from replay.index.cursor import Cursor
from replay.index.position import enough_for, move
from replay.index.store import load_or_build
from replay.sources.file import ReadReport, read_batches
from replay.store import schema, strips
from replay.store.build import Builder
from replay.store.keep import fresh_store, new_store, write_meta
from replay.store.queries import open_read_only


@dataclass
class Answer:
    """A read-only connection to a store and what the reader found in the log."""

    conn: sqlite3.Connection
    warnings: list[str]
    events: int  # events of the log the store holds


@contextmanager
def store_at(log: LogPath, when: When, *, lenient: bool = False) -> Iterator[Answer]:
    """A read-only store of ``log`` as of ``when``; the mark errors of ``move`` pass on."""
    events: int | None = None
    if when.kind == "end":
        index = load_or_build(log, lenient=lenient, store=True)
        path = fresh_store(log, lenient)
        if path is not None:
            conn = open_read_only(path)
            try:
                yield Answer(conn, index.report().warnings(), index.header.count)
            finally:
                conn.close()
            return
    else:
        index = load_or_build(log, lenient=lenient, until=enough_for(when))
        cursor = Cursor(index, lenient=lenient)
        move(cursor, when)
        events = cursor.metrics.events
    with tempfile.TemporaryDirectory(prefix="runreel-store-") as tmp:
        path = os.path.join(tmp, "store.sqlite")
        count = build_to(log, path, lenient=lenient, events=events)
        conn = open_read_only(path)
        try:
            yield Answer(conn, index.report().warnings(), count)
        finally:
            conn.close()


def build_to(log: LogPath, path: str, *, lenient: bool = False, events: int | None = None) -> int:
    """Build a store of ``log`` at ``path`` up to event ``events`` (None: the end);
    returns the number of events it holds."""
    building = Building(log, path, lenient=lenient, events=events)
    building.step()
    return building.events


class Building:
    """A store of ``log`` up to event ``target`` (None: the end) built a part at a time,
    so that a session answers keys and draws frames between the parts (``step``)."""

    def __init__(
        self, log: LogPath, path: str, *, lenient: bool = False, events: int | None = None
    ) -> None:
        self.target, self.lenient = events, lenient
        self.mtime_ns = os.stat(log).st_mtime_ns
        self.conn = new_store(path)
        self.builder = Builder(self.conn)
        self.report = ReadReport(log)
        self._batches = read_batches(log, lenient=lenient, report=self.report, chunk=READ_CHUNK)
        self.done = False

    @property
    def events(self) -> int:
        return self.builder.events

    def step(self, budget: int | None = None) -> bool:
        """Read about ``budget`` more events (None: all that are left); True once the
        store is complete (its connection closed)."""
        b = self.builder
        goal = None if budget is None else b.events + budget
        for batch in self._batches:
            if self.target is not None and b.events + len(batch) >= self.target:
                b.feed(batch[: self.target - b.events])
                break
            b.feed(batch)
            if goal is not None and b.events >= goal:
                return False
        self._finish()
        return True

    def _finish(self) -> None:
        b, conn = self.builder, self.conn
        b.finish()
        conn.execute("COMMIT")
        schema.index(conn)
        conn.execute("BEGIN")
        strips.keep(conn, b.first_t, b.last_t)
        write_meta(conn, b.events, self.report, self.mtime_ns, self.lenient, b.first_t, b.last_t)
        conn.execute("COMMIT")
        self.close()
        self.done = True

    def close(self) -> None:
        """Stop (a build left unfinished leaves an incomplete file: its owner removes it)."""
        self._batches = iter(())  # the reader's file closes with it
        self.conn.close()
