"""Running totals the post-mortem views read instead of scanning every attempt.

The Builder reports each attempt once it is final (``closed``), each failure
(``failure``) and each retry (``retried``) and start (``started``), whose gap is a wait; this
keeps per-worker and per-signature figures, and rows of running sums, so that a view
reads a few rows per worker or signature however long the run. Rows whose figures
depend on the view's clock (attempts still running, waits not over) are not counted
here: the views read those few from ``tasks``/``multi_attempts`` directly.

A running sum (``busy.cum``, ``failure_times.k``) answers "how much before time T" with
one index seek as long as its rows arrive in time order, which a worker running one
task at a time and a log in time order give; ``ordered`` = 0 says they did not, and the
views then sum the rows instead (same answer, slower).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from itertools import chain
from typing import Any

MAX_PARAMETERS = 999  # in one statement (SQLite before 3.32 allows no more)

_WORKER = (
    "INSERT INTO workers VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (worker) DO UPDATE SET "
    "attempts = excluded.attempts, failed = excluded.failed, done = excluded.done, "
    "done_s = excluded.done_s, busy_s = excluded.busy_s, "
    "error = coalesce(excluded.error, error), last_start = excluded.last_start, "
    "ordered = excluded.ordered, waits_s = excluded.waits_s, "
    "waits_last = excluded.waits_last, waits_ordered = excluded.waits_ordered"
)
QUEUE = 1_000  # a worker's retries held behind one whose wait is not over, at most
WAITING, OVER, GONE = 0, 1, 2  # a queued wait: not over, over, set aside as a loose row
_SIG_TASKS = "INSERT OR IGNORE INTO signature_tasks VALUES (?, ?)"


class Summary:
    """The figures of the workers and signatures a build touches, written at ``flush``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # worker -> [attempts, failed, done, done_s, busy_s, error, last_start, ordered,
        #            waits_s, waits_last, waits_ordered]
        self.workers: dict[str, list[Any]] = {}
        # signature -> [failures, last_t, ordered]
        self.ranks: dict[str, list[Any]] = {}
        self.busy: list[tuple[Any, ...]] = []
        self.times: list[tuple[Any, ...]] = []
        self.waits: list[tuple[Any, ...]] = []  # rows of ``waits``: (worker, end_t, cum)
        self.loose: list[tuple[Any, ...]] = []  # rows of ``waits_loose``
        # Each worker's retries in the order they happened, [task, worker, end_t, wait,
        # state]: a wait joins the running total once those before it are over.
        self.queues: dict[str, deque[list[Any]]] = {}
        self.pending: dict[str, list[list[Any]]] = {}  # task -> its queued waits not over
        # tasks with loose waits not over (read back when a store is extended)
        self.db_open = {
            t for (t,) in conn.execute("SELECT DISTINCT task FROM waits_loose WHERE wait IS NULL")
        }
        self.sig_tasks: dict[str, set[str]] = {}

    def _worker(self, worker: str) -> list[Any]:
        w = self.workers.get(worker)
        if w is None:
            row = self.conn.execute(
                "SELECT attempts, failed, done, done_s, busy_s, NULL, last_start, ordered, "
                "waits_s, waits_last, waits_ordered FROM workers WHERE worker = ?",
                (worker,),
            ).fetchone()
            fresh = [0, 0, 0, 0.0, 0.0, None, None, 1, 0.0, None, 1]
            w = self.workers[worker] = list(row) if row else fresh
        return w

    def closed(
        self, worker: str, start_t: float | None, end_t: float | None, error: str | None
    ) -> None:
        """An attempt that is final (``end_t`` None: restarted, its busy time runs on)."""
        w = self.workers.get(worker) or self._worker(worker)
        w[0] += 1
        if error is not None:
            w[1] += 1
            w[5] = error
        if start_t is not None and end_t is not None:
            w[2] += 1
            w[3] += end_t - start_t
            s = end_t - start_t if end_t > start_t else 0.0
            w[4] += s
            if w[6] is not None and start_t < w[6]:
                w[7] = 0
            w[6] = start_t
            self.busy.append((worker, start_t, w[4], w[2]))

    def failure(self, sig: str, task: str, t: float) -> None:
        """A failed or retried attempt of ``task`` with ``sig``, ended at ``t``."""
        r = self.ranks.get(sig)
        if r is None:
            row = self.conn.execute(
                "SELECT failed + retried, last_t, ordered FROM signatures WHERE signature = ?",
                (sig,),
            ).fetchone()
            r = self.ranks[sig] = list(row) if row else [0, None, 1]
        r[0] += 1
        if r[1] is not None and t < r[1]:
            r[2] = 0
        if r[1] is None or t > r[1]:
            r[1] = t
        self.times.append((sig, t, r[0]))
        self.sig_tasks.setdefault(sig, set()).add(task)

    def retried(self, task: str, worker: str, end_t: float) -> None:
        """A retry of ``task`` by ``worker`` ended at ``end_t``: it waits for the next start."""
        entry = [task, worker, end_t, None, WAITING]
        q = self.queues.get(worker)
        if q is None:
            q = self.queues[worker] = deque()
        q.append(entry)
        self.pending.setdefault(task, []).append(entry)
        if len(q) > QUEUE:  # one wait holds up too many: set it aside
            self._aside(q[0])
            self._drain(worker)

    def started(self, task: str, t: float) -> None:
        """``task`` started at ``t``: the waits of its earlier retries are over."""
        entries = self.pending.pop(task, None)
        if entries:
            for en in entries:
                en[3], en[4] = t - en[2], OVER
            for worker in {en[1] for en in entries}:
                self._drain(worker)
        if task in self.db_open:
            self.db_open.discard(task)
            if self.loose:  # its loose rows may not be written yet
                insert(self.conn, "INSERT OR FAIL INTO waits_loose", 4, self.loose)
                self.loose.clear()
            self.conn.execute(
                "UPDATE waits_loose SET wait = ? - end_t WHERE task = ? AND wait IS NULL",
                (t, task),
            )

    def abandoned(self, task: str) -> None:
        """``task`` ended without starting again: its waits last until the view's clock."""
        entries = self.pending.pop(task, None) or []
        for en in entries:
            self._aside(en)
        for worker in {en[1] for en in entries}:
            self._drain(worker)

    def reopened(self, task: str, worker: str, end_t: float, t: float) -> None:
        """A failure at ``end_t`` turned into a retry when ``task`` started again at ``t``."""
        self.loose.append((task, worker, end_t, t - end_t))

    def _aside(self, en: list[Any]) -> None:
        """A wait not over, written as a loose row (the views sum those one by one)."""
        task = en[0]
        en[4] = GONE
        self.loose.append((task, en[1], en[2], None))
        self.db_open.add(task)
        left = self.pending.get(task)
        if left and en in left:
            left.remove(en)
            if not left:
                del self.pending[task]

    def _drain(self, worker: str) -> None:
        """Add the waits at the head of ``worker``'s queue that are over to its total."""
        q = self.queues[worker]
        w = self.workers.get(worker) or self._worker(worker)
        while q and q[0][4] != WAITING:
            _, _, end_t, wait, state = q.popleft()
            if state == OVER:
                w[8] += wait if wait > 0 else 0.0
                if w[9] is not None and end_t < w[9]:
                    w[10] = 0
                w[9] = end_t
                self.waits.append((worker, end_t, w[8]))

    def settle(self) -> None:
        """At the end of a build: the queued waits become loose rows (read back as such)."""
        for q in self.queues.values():
            for task, worker, end_t, wait, state in q:
                if state == OVER:
                    self.loose.append((task, worker, end_t, wait))
                elif state == WAITING:
                    self.loose.append((task, worker, end_t, None))
                    self.db_open.add(task)
        self.queues.clear()
        self.pending.clear()

    def flush(self) -> None:
        c = self.conn
        if self.busy:
            insert(c, "INSERT OR FAIL INTO busy", 4, self.busy)
            self.busy.clear()
        if self.times:
            insert(c, "INSERT OR FAIL INTO failure_times", 3, self.times)
            self.times.clear()
        if self.waits:
            insert(c, "INSERT OR FAIL INTO waits", 3, self.waits)
            self.waits.clear()
        if self.loose:
            insert(c, "INSERT OR FAIL INTO waits_loose", 4, self.loose)
            self.loose.clear()
        if self.workers:
            c.executemany(_WORKER, [(k, *v) for k, v in self.workers.items()])
            for w in self.workers.values():
                w[5] = None  # written: ``coalesce`` keeps it
        for sig, tasks in self.sig_tasks.items():
            before = c.total_changes
            c.executemany(_SIG_TASKS, [(sig, t) for t in tasks])
            added = c.total_changes - before
            c.execute(
                "UPDATE signatures SET tasks = tasks + ?, ordered = ? WHERE signature = ?",
                (added, self.ranks[sig][2], sig),
            )
        self.sig_tasks.clear()


def insert(
    conn: sqlite3.Connection, head: str, width: int, rows: list[tuple[Any, ...]], tail: str = ""
) -> None:
    """``head VALUES (...) tail`` for every row, in order, many rows to a statement:
    binding the same values costs far less per statement than per row."""
    group = MAX_PARAMETERS // width
    full = len(rows) - len(rows) % group
    one = "(" + ",".join("?" * width) + ")"
    if full:
        values = ",".join([one] * group)
        flat = chain.from_iterable
        conn.executemany(
            f"{head} VALUES {values}{tail}",
            [tuple(flat(rows[i : i + group])) for i in range(0, full, group)],
        )
    if full < len(rows):
        conn.executemany(f"{head} VALUES {one}{tail}", rows[full:])
