"""A store that follows a session's position: what the views of a live or replay session read.

A live session feeds it the events it folds (once a view first needs it, after catching
up from the file); a replay moves it with its cursor: forward by reading only the events
in between, backward (or far forward) by building it again up to the new position. At
the end of a log whose kept store is fresh, a replay reads the kept store and builds
nothing. The temporary store lives in its own directory, removed on ``close``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from recorder.location import LogPath
from replay.index.build import READ_CHUNK
from replay.index.format import Index
from replay.sources.file import ReadReport, read_batches
from replay.store import schema
from replay.store.access import build_to
from replay.store.asof import TASK_VIEWS, overlay
from replay.store.build import Builder
from replay.store.building import Building
from replay.store.keep import fresh_store, new_store
from replay.store.pages import AS_OF
from replay.store.queries import open_read_only

STEP = 20_000  # events read per frame while a store is built again (``step``)
FAR = 200_000  # events ahead beyond which building again beats reading them one batch at a time
HOLD = 50_000  # events held for a live store before they are written without a read


class Reading(Exception):
    """The store a view needs is being built: ``done`` of the ``target`` events so far."""

    def __init__(self, done: int, target: int, finishing: bool = False) -> None:
        if finishing:
            text = f"read the log to event #{target}: indexing what the view reads"
        else:
            text = f"reading the log to event #{target}: {done * 100 // target} %"
        super().__init__(text)
        self.done, self.target = done, target


class MovingStore:
    """A store of a log up to ``events``, moved with a session.

    With ``step``, a store built again (a seek back, or far ahead) is built ``step``
    events per read, ``at`` raising ``Reading`` until it is complete: a session draws a
    frame and answers keys between the parts (quitting abandons it)."""

    def __init__(
        self, log: LogPath | None, *, lenient: bool = False, step: int | None = None
    ) -> None:
        self.log = log
        self.lenient = lenient
        self.step = step
        self._building: Building | None = None
        self.events = 0
        self.first_t: float | None = None
        self._dir: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._kept: sqlite3.Connection | None = None
        self._held: list[Any] = []  # events added, not yet written (``add``)
        self._kept_path: str | None = None
        self._asof: tuple[int, sqlite3.Connection | None] | None = None  # position, tasks
        # Whether the store holds the workers' figures up to its end (``store.lean``):
        # only a store with a log to build it again from may go without them.
        self.whole = True

    @property
    def started(self) -> bool:
        return self._conn is not None

    def _path(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="runreel-views-")
        return os.path.join(self._dir, "store.sqlite")

    def _drop(self) -> None:
        self._held = []
        if self._building is not None:
            self._building.close()
            self._building = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._dir is not None and os.path.exists(self._path()):
            os.unlink(self._path())

    def start(self, events: int = 0, *, whole: bool | None = None) -> sqlite3.Connection:
        """A store of the first ``events`` events of the log (none: an empty store);
        with the workers' figures if ``whole`` (``store.lean``; None: as the store it
        replaces; a store without a log to read is always whole)."""
        self._drop()
        if whole is not None:
            self.whole = whole or self.log is None
        whole = self.whole
        path = self._path()
        if events and self.log is not None:
            held = build_to(self.log, path, lenient=self.lenient, events=events, workers=whole)
            return self._open(held)
        else:
            conn = new_store(path)
            conn.execute("COMMIT")
            schema.index(conn, workers=whole)
            self.events, self.first_t = 0, None
        self._conn = conn
        return conn

    @property
    def pending(self) -> tuple[int, int, bool] | None:
        """A store being built a step at a time: (events read, events it will hold,
        whether it is ready): it changes when the next frame has something to show."""
        b = self._building
        return None if b is None or b.target is None else (b.events, b.target, b.ready)

    def build(self, position: int) -> sqlite3.Connection:
        """``start(position)``, a ``step`` at a time: raises ``Reading`` until complete."""
        if self.step is None or self.log is None or position == 0:
            return self.start(position)
        b = self._building
        if b is None or b.target != position:
            self._drop()
            b = self._building = Building(
                self.log, self._path(), lenient=self.lenient, events=position, workers=self.whole
            )
        if not b.step(self.step):
            raise Reading(b.events, position, b.finishing)
        self._building = None
        return self._open(b.events)

    def _open(self, events: int) -> sqlite3.Connection:
        """The store just built at ``_path()``, holding ``events`` events."""
        conn = sqlite3.connect(self._path(), isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = OFF")  # a temporary store, built again at will
        row = conn.execute("SELECT value FROM meta WHERE key = 'first_t'").fetchone()
        self.first_t = None if row is None else float(row[0])
        self.events, self._conn = events, conn
        return conn

    def feed(self, batch: Sequence[Any]) -> None:
        """Add the events that follow the ones the store holds."""
        if not batch:
            return
        conn = self._conn if self._conn is not None else self.start()
        conn.execute("BEGIN")
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_t'").fetchone()
        last_t = None if row is None else row[0]
        builder = Builder(conn, self.events, self.first_t, last_t, workers=self.whole)
        builder.feed(batch)
        builder.finish()
        if self.first_t is None and builder.first_t is not None:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('first_t', ?)", (builder.first_t,))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_t', ?)", (builder.last_t,))
        conn.execute("COMMIT")
        self.events, self.first_t = builder.events, builder.first_t

    def lean(self) -> None:
        """Go on without the workers' figures (another view is shown): the workers view
        builds the store again, whole (``start``)."""
        if self.log is not None:
            self.whole = False

    def add(self, batch: Sequence[Any]) -> None:
        """Take events that follow the ones added before, to be written when the store is
        next read (``conn``) or HOLD of them wait: a live session adds what each poll
        brings, and writing them in one go costs far less than one write per poll."""
        self._held.extend(batch)
        if len(self._held) >= HOLD:
            self._write_held()

    def _write_held(self) -> None:
        held, self._held = self._held, []
        self.feed(held)

    @property
    def held(self) -> int:
        """Events added and written, or waiting to be."""
        return self.events + len(self._held)

    def at(self, index: Index, position: int) -> sqlite3.Connection:
        """The store as of ``position`` in the indexed log (a replay's cursor)."""
        if position >= index.header.count and self.log is not None:
            kept = self._kept_store()
            if kept is not None:
                return kept
        b = self._building
        if b is not None and b.target is not None and 0 <= position - b.target <= FAR:
            self.build(b.target)  # a replay that plays on: the build goes on, then reads on
        if self._conn is None or position < self.events or position - self.events > FAR:
            return self.build(position)
        if position > self.events:
            self.feed(list(_events_between(index, self.events, position, self.lenient)))
        return self._conn

    def for_view(
        self, index: Index, position: int, view: str
    ) -> tuple[sqlite3.Connection, int | None]:
        """The store ``view`` reads as of ``position``, and the events its answer covers
        when that store holds more: a view whose rows carry event numbers (``AS_OF``)
        reads the kept store of the whole log, so seeking back builds nothing."""
        if 0 < position < index.header.count and view in AS_OF + TASK_VIEWS:
            kept = self._kept_store()
            if kept is not None and view in AS_OF:
                return kept, position
            if kept is not None and self._kept_path is not None:
                tasks = self._tasks_at(kept, index, position)
                if tasks is not None:
                    return tasks, None
        return self.at(index, position), None

    def _tasks_at(
        self, kept: sqlite3.Connection, index: Index, position: int
    ) -> sqlite3.Connection | None:
        """The tasks as of ``position`` from the kept store (``asof.overlay``), kept for
        the position; None when a store of the first ``position`` events is as cheap."""
        if self._asof is not None and self._asof[0] == position:
            return self._asof[1]
        self._close_asof()
        assert self._kept_path is not None
        small = os.path.join(os.path.dirname(self._path()), "asof.sqlite")

        def events(after: int, upto: int) -> Iterator[Any]:
            return _events_between(index, after, upto, self.lenient)

        conn = overlay(self._kept_path, kept, position, small, events)
        self._asof = (position, conn)
        return conn

    def _close_asof(self) -> None:
        if self._asof is not None and self._asof[1] is not None:
            self._asof[1].close()
        self._asof = None

    def _kept_store(self) -> sqlite3.Connection | None:
        if self._kept is None and self.log is not None:
            path = fresh_store(self.log, self.lenient)
            if path is not None:
                self._kept, self._kept_path = open_read_only(path), path
        return self._kept

    @property
    def conn(self) -> sqlite3.Connection:
        """The store with every event added so far written."""
        if self._held:
            self._write_held()
        return self._conn if self._conn is not None else self.start()

    def close(self) -> None:
        self._close_asof()
        self._drop()
        if self._kept is not None:
            self._kept.close()
            self._kept = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _events_between(index: Index, after: int, upto: int, lenient: bool) -> Iterator[Any]:
    """Events ``after + 1`` .. ``upto`` of the indexed log, read from the nearest checkpoint."""
    cp = index.header.checkpoints[index.at_event(after)]
    report = ReadReport(index.log, lines=cp.lines, offset=cp.offset)
    n = cp.events
    for batch in read_batches(index.log, lenient=lenient, report=report, chunk=READ_CHUNK):
        lo = max(after - n, 0)
        hi = min(upto - n, len(batch))
        if lo < hi:
            yield from batch[lo:hi]
        n += len(batch)
        if n >= upto:
            return
