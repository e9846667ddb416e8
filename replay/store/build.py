"""Filling a store from events: rows in batches, only the open tasks kept in memory.

A task's row is written when it ends (succeeded, failed for good, skipped); tasks still
open when the log ends are written as running or backoff and read back when the store
is extended. Rows go in with ``executemany`` every FLUSH_ROWS rows, so memory stays
flat whatever the log's size. The rules follow the fold (``replay.core.fold``): a task
that failed for good and starts again (attempt > 1, among the latest REOPENABLE
failures) was retried after all.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recorder.events import Log, Mark, TaskFailed, TaskRetrying, TaskSkipped, TaskStarted
from recorder.events import TaskSucceeded as _Succeeded
from replay.core.metrics import REOPENABLE
from replay.core.signature import signature

FLUSH_ROWS = 20_000
MEMO = 10_000  # error texts whose signatures are remembered

_TASK = "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_ATTEMPT = "INSERT INTO attempts VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_MARK = "INSERT OR REPLACE INTO marks VALUES (?,?,?)"
_LOG = "INSERT OR REPLACE INTO logs VALUES (?,?,?,?,?)"
_SIGNATURE = (
    "INSERT INTO signatures VALUES (?,?,?,?,?,?) ON CONFLICT (signature) DO UPDATE SET "
    "failed = failed + excluded.failed, retried = retried + excluded.retried, "
    "first_t = min(first_t, excluded.first_t), last_t = max(last_t, excluded.last_t)"
)


@dataclass(slots=True)
class Open:
    """A task that started (or was retried) and has not ended."""

    worker: str
    attempt: int
    first_t: float | None  # the first attempt's start
    start_t: float | None  # the current attempt's start (None: none running)
    start_event: int | None
    state: str = "running"  # running | backoff
    error: str | None = None
    signature: str | None = None


class Builder:
    """Turns events into rows of an open store connection (inside the caller's transaction)."""

    def __init__(
        self, conn: sqlite3.Connection, events: int = 0, first_t: float | None = None
    ) -> None:
        self.conn = conn
        self.events = events  # events fed so far (the store's count when extending)
        self.first_t = first_t  # the log's first event time
        self.open: dict[str, Open] = {}
        self.reopenable: OrderedDict[str, tuple[float | None, int, str | None]] = OrderedDict()
        self.tasks: list[tuple[Any, ...]] = []
        self.attempts: list[tuple[Any, ...]] = []
        self.marks: list[tuple[Any, ...]] = []
        self.logs: list[tuple[Any, ...]] = []
        self.sigs: dict[str, list[Any]] = {}  # signature -> [failed, retried, first, last, example]
        self.retried_later: list[tuple[str, int]] = []  # (task, end_event) of reopened failures
        self._memo: dict[str, str] = {}
        if events:
            self._load_open()

    def _load_open(self) -> None:
        """Read back what the last build left open."""
        rows = self.conn.execute(
            "SELECT t.task, t.worker, t.attempts, t.start_t, t.status, t.error, t.signature, "
            "a.start_t, a.start_event FROM tasks t LEFT JOIN attempts a "
            "ON a.task = t.task AND a.outcome = 'running' "
            "WHERE t.status IN ('running', 'backoff')"
        ).fetchall()
        for task, worker, attempt, first, state, error, sig, start, event in rows:
            self.open[task] = Open(worker, attempt, first, start, event, state, error, sig)
        for task in self.open:
            self.conn.execute(
                "DELETE FROM attempts WHERE task = ? AND outcome = 'running'", (task,)
            )
        latest = self.conn.execute(
            "SELECT task, start_t, end_event, signature FROM tasks WHERE status = 'failed' "
            "ORDER BY end_event DESC LIMIT ?",
            (REOPENABLE,),
        ).fetchall()
        for task, first, end_event, sig in reversed(latest):
            self.reopenable[task] = (first, end_event, sig)

    def feed(self, batch: Sequence[Any]) -> None:
        """Fold one batch of events (file order) into rows."""
        n = self.events
        opened = self.open
        get, pop = opened.get, opened.pop
        tasks, attempts = self.tasks.append, self.attempts.append
        if self.first_t is None and batch:
            self.first_t = batch[0].t
        for e in batch:
            n += 1
            cls = type(e)
            if cls is TaskStarted:
                task = e.task
                if e.attempt == 1 and get(task) is None:  # the common case, inline
                    opened[task] = Open(e.worker, 1, e.t, e.t, n)
                else:
                    self._started(e, n)
            elif cls is _Succeeded:
                task = e.task
                f = pop(task, None)
                if f is not None and f.state == "running":  # the common case, inline
                    t, worker = e.t, e.worker or f.worker
                    first = f.first_t
                    tasks(
                        (task, "succeeded", worker, f.attempt, first, t)
                        + (None if first is None else t - first, None, None, None, n)
                    )
                    attempts(
                        (task, f.attempt, worker, f.start_t, t, "succeeded", None, None, None)
                        + (f.start_event, n)
                    )
                else:
                    self._ended(task, e.worker, e.t, n, f, "succeeded", None, None, None)
            elif cls is Log:
                self.logs.append((n, e.t, e.level, e.msg, e.src))
            elif cls is TaskRetrying:
                self._retrying(e, n)
            elif cls is TaskFailed:
                f = pop(e.task, None)
                sig = self.signature(e.error)
                self._count(sig, e.t, e.error, failed=1)
                self._ended(e.task, e.worker, e.t, n, f, "failed", e.error, e.detail, sig)
                recent = self.reopenable
                recent[e.task] = (None if f is None else f.first_t, n, sig)
                recent.move_to_end(e.task)
                if len(recent) > REOPENABLE:
                    recent.popitem(last=False)
            elif cls is TaskSkipped:
                f = pop(e.task, None)
                self._ended(e.task, e.worker, e.t, n, f, "skipped", None, None, None, e.reason)
            elif cls is Mark:
                self.marks.append((n, e.t, e.label))
        self.events = n
        if len(self.tasks) + len(self.attempts) + len(self.logs) >= FLUSH_ROWS:
            self.flush()

    def signature(self, error: str) -> str:
        """``signature(error)``, remembered: the same few errors come back again and again."""
        sig = self._memo.get(error)
        if sig is None:
            if len(self._memo) >= MEMO:
                self._memo.clear()
            sig = self._memo[error] = signature(error)
        return sig

    def _started(self, e: TaskStarted, n: int) -> None:
        f = self.open.get(e.task)
        if f is None:
            first: float | None = e.t
            if e.attempt > 1 and e.task in self.reopenable:
                # A re-run of a task that failed for good: that failure becomes a retry.
                was_first, end_event, sig = self.reopenable.pop(e.task)
                first = was_first if was_first is not None else e.t
                self.retried_later.append((e.task, end_event))
                if sig is not None:
                    self._count(sig, None, None, failed=-1, retried=1)
            self.open[e.task] = Open(e.worker, e.attempt, first, e.t, n)
            return
        if f.state == "running":  # the last attempt never ended: it was restarted
            self._attempt(e.task, f, None, n, "restarted", None, None, None)
        f.worker, f.attempt, f.start_t, f.start_event, f.state = (
            e.worker,
            e.attempt,
            e.t,
            n,
            "running",
        )

    def _retrying(self, e: TaskRetrying, n: int) -> None:
        f = self.open.get(e.task)
        if f is None:
            f = self.open[e.task] = Open(e.worker, e.attempt, e.t, None, None)
        sig = self.signature(e.error)
        self._count(sig, e.t, e.error, retried=1)
        f.worker, f.attempt = e.worker, e.attempt
        self._attempt(e.task, f, e.t, n, "retried", e.error, e.detail, sig)
        f.state, f.error, f.signature, f.start_t, f.start_event = (
            "backoff",
            e.error,
            sig,
            None,
            None,
        )

    def _attempt(
        self,
        task: str,
        f: Open,
        end_t: float | None,
        n: int | None,
        outcome: str,
        error: str | None,
        detail: str | None,
        sig: str | None,
    ) -> None:
        self.attempts.append(
            (task, f.attempt, f.worker, f.start_t, end_t, outcome, error, detail, sig)
            + (f.start_event, n)
        )

    def _ended(
        self,
        task: str,
        worker: str,
        t: float,
        n: int,
        f: Open | None,
        status: str,
        error: str | None,
        detail: str | None,
        sig: str | None,
        reason: str | None = None,
    ) -> None:
        if f is None:
            attempts = 0 if status == "skipped" else 1
            first = None
            if status != "skipped":
                self.attempts.append(
                    (task, 1, worker, None, t, status, error, detail, sig, None, n)
                )
        else:
            attempts, first = f.attempt, f.first_t
            worker = worker or f.worker
            if f.state == "running":
                f.worker = worker
                self._attempt(task, f, t, n, status, error, detail, sig)
            elif status != "skipped":  # it ended without starting again after a retry
                self.attempts.append(
                    (task, f.attempt, worker, None, t, status, error, detail, sig, None, n)
                )
        duration = None if first is None else t - first
        self.tasks.append(
            (task, status, worker, attempts, first, t, duration, error, sig, reason, n)
        )

    def _count(
        self, sig: str, t: float | None, error: str | None, failed: int = 0, retried: int = 0
    ) -> None:
        s = self.sigs.get(sig)
        if s is None:
            s = self.sigs[sig] = [0, 0, t, t, error]
        s[0] += failed
        s[1] += retried
        if t is not None:
            s[2] = t if s[2] is None else min(s[2], t)
            s[3] = t if s[3] is None else max(s[3], t)
            if s[4] is None:
                s[4] = error

    def flush(self) -> None:
        """Write the rows made so far."""
        c = self.conn
        if self.tasks:
            c.executemany(_TASK, self.tasks)
        if self.attempts:
            c.executemany(_ATTEMPT, self.attempts)
        if self.marks:
            c.executemany(_MARK, self.marks)
        if self.logs:
            c.executemany(_LOG, self.logs)
        if self.sigs:
            rows = [(k, *v) for k, v in self.sigs.items() if v[2] is not None]
            c.executemany(_SIGNATURE, rows)
            for k, v in self.sigs.items():  # a reopened failure only moves a count
                if v[2] is None:
                    c.execute(
                        "UPDATE signatures SET failed = failed + ?, retried = retried + ? "
                        "WHERE signature = ?",
                        (v[0], v[1], k),
                    )
        self.tasks, self.attempts, self.marks, self.logs, self.sigs = [], [], [], [], {}

    def finish(self) -> None:
        """Write everything, the open tasks as they stand, and mark reopened failures."""
        for task, f in self.open.items():
            if f.state == "running":
                self._attempt(task, f, None, None, "running", None, None, None)
            self.tasks.append(
                (task, f.state, f.worker, f.attempt, f.first_t, None, None, f.error)
                + (f.signature, None, None)
            )
        self.flush()
        for task, end_event in self.retried_later:
            self.conn.execute(
                "UPDATE attempts SET outcome = 'retried' WHERE task = ? AND end_event = ?",
                (task, end_event),
            )
        self.retried_later = []
