"""The store a live session's views read, written only while one of them is shown.

Writing the store costs about 2.4 µs an event (README, "Live views"): a live session that
shows the overview (or a timeline whose marks the fold holds) does not pay it. The store
stands where it stopped, at an offset of the followed file. When a view needs it again,
it reads the file on from there, ``STEP`` events a frame (``Reading`` until it holds every
event the session polled), then takes each poll again. The first time, it is built from
the file's start the same way. When the file started over meanwhile (truncated or
replaced: the follower read it again from its start), a new run's store is built from the
file's start (what a session feeding it all along would hold); a run that went on in a
truncated file is read on from the file's start, and what was cut before the store read
it is missing (the session says so).

A stream (Redis) has no file to read again: its store is fed every event, from the first.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recorder.errors import LogInvalid, LogUnavailable
from replay.index.build import READ_CHUNK
from replay.sources.file import ReadReport, decode_complete, line_runs, open_log
from replay.sources.follow import Follower, FollowSource
from replay.store.moving import STEP, MovingStore, Reading


@dataclass(frozen=True)
class Mark:
    """Where the store stands in the followed file."""

    report: ReadReport  # the follower's report of the file: a new one when it starts over
    offset: int  # bytes of complete lines the store holds: where reading goes on
    lines: int
    events: int  # events of this file the store holds


class FollowingStore:
    """The views' store of a live session: ``polled`` after each poll, ``conn`` to read."""

    def __init__(self, follower: FollowSource, step: int = STEP, chunk: int = READ_CHUNK) -> None:
        self.step = step  # events read a frame while the store is built or reads on
        self.chunk = chunk  # bytes read at a time: a part ends between two reads
        self.follower = follower if isinstance(follower, Follower) else None
        path = None if self.follower is None else self.follower.path
        lenient = getattr(follower, "lenient", False)
        self.moving = MovingStore(path, lenient=lenient, step=step)
        self._report = None if self.follower is None else self.follower.report
        self._polled = 0  # events of the follower's current file polled so far
        self._at: Mark | None = None  # None: no store of this file yet
        self._built = False  # the store holds the events up to ``_at`` (its build is done)
        self._fed = self.follower is None  # every event polled goes to the store
        if self.follower is None:
            self.moving.start()

    @property
    def started(self) -> bool:
        return self.moving.started

    @property
    def events(self) -> int:
        """Events written to the store."""
        return self.moving.events

    @property
    def held(self) -> int:
        """Events the store holds once written (``MovingStore.held``)."""
        return self.moving.held

    @property
    def fed(self) -> bool:
        """Whether each poll is written to the store (else it stands where it stopped)."""
        return self._fed

    @property
    def pending(self) -> tuple[int, int, bool] | None:
        return self.moving.pending

    def polled(self, events: Sequence[Any], *, reset: bool, feed: bool) -> None:
        """After each poll: its ``events``; ``reset``: a new run began; ``feed``: a view
        that reads the store is shown (else the store stops where it is)."""
        f = self.follower
        if f is None:  # a stream: always fed
            if reset:
                self.moving.start()
            if events:
                self.moving.add(events)
            return
        if f.report is not self._report:  # the follower read the file again from its start
            self._report, self._polled = f.report, 0
        self._polled += len(events)
        if not (feed and self._fed):
            self._fed = False
            if reset:  # a new run: its store is built from the file's start when next read
                self._at = None
            return
        if reset:
            self.moving.start()
        if events:
            self.moving.add(events)
        self._at = Mark(f.report, f.report.offset, f.report.lines, self._polled)

    def conn(self, *, whole: bool = False) -> sqlite3.Connection:
        """The store with every event polled; while it reads the file to get there (a part
        a call), ``Reading``. Without ``whole`` it goes on lean (``store.lean``); a lean
        store asked for whole is built again from the file's start."""
        f = self.follower
        if f is not None and not whole:
            self.moving.lean()
        elif f is not None and not self.moving.whole:
            self.moving.whole = True
            self._at, self._fed = None, False
        if f is None or self._fed:
            return self.moving.conn
        at = self._at
        if at is None:  # none yet, or a new run began: built from the file's start
            at = self._at = Mark(f.report, f.report.offset, f.report.lines, self._polled)
            self._built = False
            self.moving.start()  # an empty store: a build of the file as it was is abandoned
        elif at.report is not f.report:  # the run went on in a file cut meanwhile: read it on
            at = self._at = Mark(f.report, 0, 0, 0)
        if not self._built:
            self.moving.build(at.events)
            self._built = True
        if at.offset < f.report.offset:
            self._read_on(at, f)
        self._fed = True
        return self.moving.conn

    def _read_on(self, at: Mark, f: Follower) -> None:
        """Read the file on from ``at`` to where the follower is, ``step`` events a call:
        ``Reading`` until there."""
        end, path = f.report.offset, f.path
        report = ReadReport(path, lines=at.lines, offset=at.offset)
        batch: list[Any] = []
        try:
            fd = open_log(path)
            try:
                for run, lines in line_runs(fd, path, report, at.offset, end, size=self.chunk):
                    report.offset += len(run)
                    batch.extend(decode_complete(run, path, report, self.moving.lenient, lines))
                    if len(batch) >= self.step:
                        break
            finally:
                os.close(fd)
        except (LogInvalid, LogUnavailable):
            report.offset = at.offset  # the file changed under the follower: read it again
        if report.offset == at.offset:
            self._at = None  # nothing more where the follower read: build again from the start
            raise Reading(0, max(self._polled, 1))
        self.moving.add(batch)
        self.moving.conn  # noqa: B018 - writes them: a part of the cost each frame
        self._at = Mark(at.report, report.offset, report.lines, at.events + len(batch))
        if report.offset < end:
            raise Reading(self._at.events, max(self._polled, 1))

    def close(self) -> None:
        self.moving.close()
