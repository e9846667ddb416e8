"""Filling a store from events: rows in batches, only the open tasks kept in memory.

A task's row is written when it ends (succeeded, failed for good, skipped); tasks still
open when the log ends are written as running or backoff and read back when the store
is extended. Most tasks run once and succeed: they are held as a plain tuple while open
and written with only the columns that vary (the schema's defaults fill the rest), and
their one attempt is their ``tasks`` row. Attempts get rows of their own only for tasks
with more than one (``multi_attempts``). Rows go in with ``executemany`` every
FLUSH_ROWS rows, so memory stays flat whatever the log's size. The rules follow the fold
(``replay.core.fold``): a task that failed for good and starts again (attempt > 1, among
the latest REOPENABLE failures) was retried after all.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from recorder.events import Log, Mark, TaskFailed, TaskRetrying, TaskSkipped, TaskStarted
from recorder.events import TaskSucceeded as _Succeeded
from replay.core.metrics import REOPENABLE
from replay.core.signature import signature
from replay.store import schema
from replay.store.lean import LeanSummary
from replay.store.rows import (
    ATTEMPT,
    LOG,
    MARK,
    PLAIN,
    SIGNATURE,
    SINGLE_RETRIED,
    TASK,
    Fresh,
    Open,
    as_open,
    latest_failures,
    open_tasks,
    write_tasks,
)
from replay.store.summary import Summary, insert

FLUSH_ROWS = 50_000
MEMO = 10_000  # error texts whose signatures are remembered


class Builder:
    """Turns events into rows of an open store connection (inside the caller's transaction)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        events: int = 0,
        first_t: float | None = None,
        last_t: float | None = None,
        *,
        workers: bool = True,
    ) -> None:
        self.conn = conn
        self.events = events  # events fed so far (the store's count when extending)
        self.first_t = first_t  # the log's first event time
        self.last_t = last_t  # the latest event time (the fold's ``last_t``)
        self.open: dict[str, Open | Fresh] = {}
        # failed for good, latest last: task -> (first_t, end_event, signature, one_attempt,
        # worker, end_t, first_event)
        self.reopenable: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
        # without ``workers``: a lean store (``store.lean``), what all views but one read
        self.summary = Summary(conn) if workers else LeanSummary(conn)
        self.plain: list[tuple[Any, ...]] = []  # tasks that succeeded at their first attempt
        self.tasks: list[tuple[Any, ...]] = []  # every other task
        self.named: set[str] = set()  # the tasks of ``self.tasks``
        # the latest one-attempt failures (their rows, written or not), as ``reopenable``
        self.failed: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
        self.attempts: list[tuple[Any, ...]] = []
        self.marks: list[tuple[Any, ...]] = []
        self.logs: list[tuple[Any, ...]] = []
        self.sigs: dict[str, list[Any]] = {}  # signature -> [failed, retried, first, last, example]
        self.retried_later: list[tuple[str, int]] = []  # (task, end_event) of reopened failures
        self._stored_failures = False  # the store's latest failures not read yet
        self._memo: dict[str, str] = {}
        self.counting = schema.watch(conn)  # task_counts kept as rows are written
        if events:
            self._load_open()

    def _load_open(self) -> None:
        """Read back what the last build left open."""
        self.open.update(open_tasks(self.conn))
        self._stored_failures = True  # read when a re-run needs them (``_recent``)

    def _recent(self) -> OrderedDict[str, tuple[Any, ...]]:
        """``reopenable``, with the latest failures of the store read in first when first
        needed: by a re-run, or before a row of a failed task is written again
        (``write_tasks``). The read sorts every failed task: a store extended once a
        second, as a live view's is, would read them all every second."""
        if self._stored_failures:
            self._stored_failures = False
            merged = latest_failures(self.conn)
            for task, failure in self.reopenable.items():  # this build's, all later
                merged[task] = failure
                merged.move_to_end(task)
            while len(merged) > REOPENABLE:
                merged.popitem(last=False)
            self.reopenable = merged
        return self.reopenable

    def feed(self, batch: Sequence[Any]) -> None:
        """Fold one batch of events (file order) into rows."""
        opened = self.open
        pop = opened.pop
        plain, named = self.plain.append, self.named
        summary = self.summary
        closed, pending, db_open = summary.closed, summary.pending, summary.db_open
        if self.first_t is None and batch:
            self.first_t = batch[0].t
        for n, e in enumerate(batch, self.events + 1):
            cls = type(e)
            if cls is TaskStarted:
                task = e.task
                if (  # the common case, inline
                    e.attempt == 1
                    and task not in opened
                    and task not in pending
                    and task not in db_open
                ):
                    opened[task] = (e.worker, e.t, n)
                else:
                    self._started(e, n)
            elif cls is _Succeeded:
                task = e.task
                f = pop(task, None)
                if type(f) is tuple:  # the common case, inline
                    if task in named:  # keep this row after the task's earlier one
                        self.flush()
                    t, first = e.t, f[1]
                    worker = e.worker or f[0]
                    plain((task, worker, first, t, f[2], n))
                    closed(worker, first, t, None)
                else:
                    self._ended(task, e.worker, e.t, n, f, "succeeded", None, None, None)
            elif cls is Log:
                self.logs.append((n, e.t, e.level, e.msg, e.src))
            elif cls is TaskRetrying:
                self._retrying(e, n)
            elif cls is TaskFailed:
                f = pop(e.task, None)
                f = None if f is None else as_open(f)
                sig = self.signature(e.error)
                self._count(sig, e.t, e.error, failed=1)
                self.summary.failure(sig, e.task, e.t)
                one = self._ended(e.task, e.worker, e.t, n, f, "failed", e.error, e.detail, sig)
                recent = self.reopenable
                began, since = (None, n) if f is None else (f.first_t, f.first_event)
                worker = e.worker or (f.worker if f else "")
                recent[e.task] = (began, n, sig, one, worker, e.t, since)
                recent.move_to_end(e.task)
                if len(recent) > REOPENABLE:
                    recent.popitem(last=False)
            elif cls is TaskSkipped:
                f = pop(e.task, None)
                self._ended(e.task, e.worker, e.t, n, f, "skipped", None, None, None, e.reason)
            elif cls is Mark:
                self.marks.append((n, e.t, e.label))
        self.events += len(batch)
        if batch:
            latest = max(e.t for e in batch)
            if self.last_t is None or latest > self.last_t:
                self.last_t = latest
        if len(self.plain) + len(self.tasks) + len(self.attempts) + len(self.logs) >= FLUSH_ROWS:
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
        self.summary.started(e.task, e.t)
        found = self.open.get(e.task)
        if found is None:
            first: float | None = e.t
            multi = False
            named: int | None = n
            if e.attempt > 1 and e.task in self._recent():
                # A re-run of a task that failed for good: that failure becomes a retry.
                was_first, end_event, sig, one, worker, end_t, named = self.reopenable.pop(e.task)
                self.summary.reopened(e.task, worker, end_t, e.t)
                first = was_first if was_first is not None else e.t
                self._retried_later(e.task, end_event, one)
                multi = True
                if sig is not None:
                    self._count(sig, None, None, failed=-1, retried=1)
            self.open[e.task] = Open(
                e.worker, e.attempt, first, e.t, n, multi=multi, first_event=named
            )
            return
        f = self.open[e.task] = as_open(found)
        if f.state == "running":  # the last attempt never ended: it was restarted
            self._attempt(e.task, f, None, n, "restarted", None, None, None)
            self.summary.closed(f.worker, f.start_t, None, None)
        f.worker, f.attempt, f.start_t, f.start_event, f.state = (
            e.worker,
            e.attempt,
            e.t,
            n,
            "running",
        )

    def _retried_later(self, task: str, end_event: int, one: bool) -> None:
        """The failed attempt that ended at ``end_event`` was retried after all."""
        if not one:
            self.retried_later.append((task, end_event))  # its row is in multi_attempts
            return
        row = self.failed.pop(task, None)
        if row is not None and row[9] == end_event:  # no need to read it back
            self.attempts.append(
                (task, row[3], row[2], row[4], row[5], "retried", row[6], row[11], row[7])
                + (row[10], end_event)
            )
        else:
            self.conn.execute(SINGLE_RETRIED, (task, end_event))

    def _retrying(self, e: TaskRetrying, n: int) -> None:
        found = self.open.get(e.task)
        if found is None:
            f = Open(e.worker, e.attempt, e.t, None, None, first_event=n)
        else:
            f = as_open(found)
        self.open[e.task] = f
        sig = self.signature(e.error)
        self._count(sig, e.t, e.error, retried=1)
        self.summary.failure(sig, e.task, e.t)
        f.worker, f.attempt = e.worker, e.attempt
        self._attempt(e.task, f, e.t, n, "retried", e.error, e.detail, sig)
        self.summary.closed(e.worker, f.start_t, e.t, e.error)
        self.summary.retried(e.task, e.worker, e.t)
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
        f.multi = True
        self.attempts.append(
            (task, f.attempt, f.worker, f.start_t, end_t, outcome, error, detail, sig)
            + (f.start_event, n)
        )

    def _task(self, row: tuple[Any, ...]) -> None:
        self.tasks.append(row)
        self.named.add(row[0])

    def _ended(
        self,
        task: str,
        worker: str,
        t: float,
        n: int,
        found: Open | Fresh | None,
        status: str,
        error: str | None,
        detail: str | None,
        sig: str | None,
        reason: str | None = None,
    ) -> bool:
        """Write the task's row (and its last attempt's); True when that row is its only
        attempt."""
        row: tuple[Any, ...]
        if found is None:
            if status == "skipped":  # never started: no attempt
                row = (task, status, worker, 0, None, t, None, None, reason, n)
                self._task(row + (None, None, 0))
                return False
            row = (task, status, worker, 1, None, t, error, sig, reason, n, None, detail, 1)
            self.summary.closed(worker, None, t, error)
        else:
            f = as_open(found)
            if f.state == "backoff":
                self.summary.abandoned(task)
            first = f.first_t
            worker = worker or f.worker
            row = (task, status, worker, f.attempt, first, t, error, sig, reason, n)
            if f.state == "running" and not f.multi:
                row += (f.start_event, detail, 1)
                self.summary.closed(worker, first, t, error)
            else:
                if f.state == "running":
                    f.worker = worker
                    self._attempt(task, f, t, n, status, error, detail, sig)
                    self.summary.closed(worker, f.start_t, t, error)
                elif status != "skipped":  # it ended without starting again after a retry
                    self.attempts.append(
                        (task, f.attempt, worker, None, t, status, error, detail, sig, None, n)
                    )
                    self.summary.closed(worker, None, t, error)
                self._task(row + (f.first_event, None, 0))
                return False
        self._task(row)
        if status == "failed":
            failed = self.failed
            failed[task] = row
            failed.move_to_end(task)
            if len(failed) > REOPENABLE:
                failed.popitem(last=False)
        return True

    def _count(
        self, sig: str, t: float | None, error: str | None, failed: int = 0, retried: int = 0
    ) -> None:
        s = self.sigs.get(sig)
        if s is None:
            s = self.sigs[sig] = [0, 0, t, t, error]
        s[0] += failed
        s[1] += retried
        if t is not None:
            if s[2] is None or t < s[2]:
                s[2] = t
            if s[3] is None or t > s[3]:
                s[3] = t
            if s[4] is None:
                s[4] = error

    def flush(self) -> None:
        """Write the rows made so far (a task's rows in the order they were made)."""
        c = self.conn
        if self.counting:
            schema.count(c, len(self.plain), self.tasks)
        for (head, width), rows in ((PLAIN, self.plain), (TASK, self.tasks)):
            if rows:
                if self.counting:  # names unique: a row may update its task's earlier one
                    write_tasks(c, head, width, rows, self._recent)
                else:
                    insert(c, head, width, rows)
                rows.clear()  # in place: ``feed`` holds their ``append``
        for (head, width), rows in ((ATTEMPT, self.attempts), (MARK, self.marks), (LOG, self.logs)):
            if rows:
                insert(c, head, width, rows)
                rows.clear()
        self.named.clear()
        if self.sigs:
            rows = [(k, *v) for k, v in self.sigs.items() if v[2] is not None]
            c.executemany(SIGNATURE, rows)
            for k, v in self.sigs.items():  # a reopened failure only moves a count
                if v[2] is None:
                    c.execute(
                        "UPDATE signatures SET failed = failed + ?, retried = retried + ? "
                        "WHERE signature = ?",
                        (v[0], v[1], k),
                    )
            self.sigs = {}
        self.summary.flush()

    def finish(self) -> None:
        """Write everything, the open tasks as they stand, and mark reopened failures
        (the strips kept for the span the store held no longer hold: ``strips.keep``)."""
        self.conn.execute("DELETE FROM strips")
        self.summary.settle()
        for task, found in self.open.items():
            f = as_open(found)
            row: tuple[Any, ...] = (task, f.state, f.worker, f.attempt, f.first_t, None)
            row += (f.error,)
            row += (f.signature, None, None)
            if f.state == "running" and not f.multi:
                self._task(row + (f.start_event, None, 1))
                continue
            if f.state == "running":
                self._attempt(task, f, None, None, "running", None, None, None)
            self._task(row + (f.first_event, None, 0))
        self.flush()
        for task, end_event in self.retried_later:
            self.conn.execute(
                "UPDATE multi_attempts SET outcome = 'retried' WHERE task = ? AND end_event = ?",
                (task, end_event),
            )
        self.retried_later = []
