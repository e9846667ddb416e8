"""A store of a log up to an event, built a part at a time so a session stays responsive.

Reading the log and folding it into rows is done ``step`` events per call, between a
session's frames. What follows the last event (writing the open tasks, making the
indexes, counting, summing the strips: seconds at millions of events, and SQLite's work
alone) runs in a thread, which releases the interpreter while SQLite works (unless the
store is smaller than one step); ``close`` abandons it at once (SQLite's progress
handler stops the statement running).
"""

from __future__ import annotations

import os
import sqlite3
import threading

from recorder.location import LogPath
from replay.index.build import READ_CHUNK
from replay.sources.file import ReadReport, read_batches
from replay.store import schema, strips
from replay.store.build import Builder
from replay.store.keep import new_store, write_meta

_CHECK = 10_000  # SQLite instructions between looks at whether the build was abandoned


class Abandoned(Exception):
    """The build was closed before it completed."""


class Building:
    """A store of ``log`` up to event ``target`` (None: the end) at ``path``."""

    def __init__(
        self,
        log: LogPath,
        path: str,
        *,
        lenient: bool = False,
        events: int | None = None,
        workers: bool = True,
    ) -> None:
        self.target, self.lenient, self.workers = events, lenient, workers
        self.mtime_ns = os.stat(log).st_mtime_ns
        self.conn = new_store(path, threads=True)
        self.builder = Builder(self.conn, workers=workers)  # False: lean (``store.lean``)
        self.report = ReadReport(log)
        self._batches = read_batches(log, lenient=lenient, report=self.report, chunk=READ_CHUNK)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.conn.set_progress_handler(lambda: int(self._closed), _CHECK)

    @property
    def events(self) -> int:
        return self.builder.events

    @property
    def finishing(self) -> bool:
        """Every event is read; the indexes are being made."""
        return self._thread is not None

    @property
    def ready(self) -> bool:
        """The indexes are made: the next ``step`` completes the store."""
        return self._thread is not None and not self._thread.is_alive()

    def step(self, budget: int | None = None) -> bool:
        """Read about ``budget`` more events, or go on finishing (None: everything, here);
        True once the store is complete (its connection closed)."""
        if self._thread is None:
            b = self.builder
            goal = None if budget is None else b.events + budget
            for batch in self._batches:
                if self.target is not None and b.events + len(batch) >= self.target:
                    b.feed(batch[: self.target - b.events])
                    break
                b.feed(batch)
                if goal is not None and b.events >= goal:
                    return False
            if budget is None or b.events <= budget:  # a small store: its indexes take no time
                self._finish()
                if self._failure is not None:
                    raise self._failure
                return True
            self._thread = threading.Thread(target=self._finish, daemon=True)
            self._thread.start()
        if budget is not None and self._thread.is_alive():
            return False
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return True

    def _finish(self) -> None:
        try:
            b, conn = self.builder, self.conn
            b.finish()
            conn.execute("COMMIT")
            schema.index(conn, workers=self.workers)
            conn.execute("BEGIN")
            if self.workers:
                strips.keep(conn, b.first_t, b.last_t)
            write_meta(
                conn, b.events, self.report, self.mtime_ns, self.lenient, b.first_t, b.last_t
            )
            conn.execute("COMMIT")
            conn.close()
        except (sqlite3.Error, OSError) as exc:
            self._failure = Abandoned() if self._closed else exc

    def close(self) -> None:
        """Stop (a build left unfinished leaves an incomplete file: its owner removes it)."""
        self._closed = True
        self._batches = iter(())  # the reader's file closes with it
        if self._thread is not None:
            self._thread.join()
        self.conn.close()
