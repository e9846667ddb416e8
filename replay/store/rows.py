"""What the store's builder writes: its INSERT statements (with their widths), how an
extension writes rows of tasks, and the record of a task still open. Kept apart from
``build`` so the builder reads as the rules it follows, the SQL it runs named here."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from replay.core.metrics import REOPENABLE
from replay.store.summary import MAX_PARAMETERS, insert

# OR FAIL: a statement that failed halfway would keep its rows (the caller abandons the
# transaction), so SQLite keeps no statement journal, which in a store with a rollback
# journal (an extension) copies every page each statement changes: a quarter of the live
# path's cost (bench/live_store.py).
PLAIN = "INSERT OR FAIL INTO tasks (task, worker, start_t, end_t, start_event, end_event)", 6
TASK = "INSERT OR FAIL INTO tasks", 13  # every column but the generated ones
# A task's row written again (its end after it was written open, a re-run) replaces the
# earlier one: a first build appends it (``schema.index`` keeps the latest), an extension
# (the names unique already) updates the row in place, every column as the new row has it
# (the defaults included; ``schema.watch`` moves its count).
_COLUMNS = "status worker attempts start_t end_t error signature reason end_event start_event"
UPDATE_TASK = " ON CONFLICT (task) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in (*_COLUMNS.split(), "detail", "one_attempt")
)


def write_tasks(
    conn: sqlite3.Connection,
    head: str,
    width: int,
    rows: list[tuple[Any, ...]],
    failed: Callable[[], object],
) -> None:
    """Rows of ``tasks`` (in order) into a store whose task names are unique (an extension).
    Most are new and appended; an upsert costs a statement journal, so only when a row
    meets its task's earlier one are the rows from there on split: new ones appended, the
    rest (in order) updating the rows of their tasks (``failed()`` first when one of
    those says failed: what reads the store's failures reads them as they were)."""
    before = conn.total_changes
    try:
        insert(conn, head, width, rows)
        return
    except sqlite3.IntegrityError:  # OR FAIL: the rows before the one that failed are in
        rest = rows[conn.total_changes - before :]
    names = [row[0] for row in rest]
    written: dict[str, str] = {}  # task -> status
    for i in range(0, len(names), MAX_PARAMETERS):
        part = names[i : i + MAX_PARAMETERS]
        query = f"SELECT task, status FROM tasks WHERE task IN ({','.join('?' * len(part))})"
        written.update(conn.execute(query, part).fetchall())
    if "failed" in written.values():
        failed()
    new, again = [], []
    for row in rest:
        if row[0] in written:
            again.append(row)
        else:
            new.append(row)
            written[row[0]] = row[1]  # a later row of the task updates this one
    insert(conn, head, width, new)
    insert(conn, head, width, again, UPDATE_TASK)


ATTEMPT = "INSERT OR FAIL INTO multi_attempts", 11
MARK = "INSERT OR REPLACE INTO marks", 3
LOG = "INSERT OR REPLACE INTO logs", 5
SIGNATURE = (
    "INSERT INTO signatures (signature, failed, retried, first_t, last_t, example) "
    "VALUES (?,?,?,?,?,?) ON CONFLICT (signature) DO UPDATE SET "
    "failed = failed + excluded.failed, retried = retried + excluded.retried, "
    "first_t = min(first_t, excluded.first_t), last_t = max(last_t, excluded.last_t)"
)
# A task that ran once and failed for good starts again: its attempt becomes a retry.
SINGLE_RETRIED = (
    "INSERT INTO multi_attempts SELECT task, attempts, worker, start_t, end_t, 'retried', "
    "error, detail, signature, start_event, end_event FROM tasks "
    "WHERE task = ? AND end_event = ? AND one_attempt = 1"
)

Fresh = tuple[str, float, int]  # an open first attempt: (worker, start_t, start_event)


@dataclass(slots=True)
class Open:
    """A task that started (or was retried) and has not ended, beyond the plain case."""

    worker: str
    attempt: int
    first_t: float | None  # the first attempt's start
    start_t: float | None  # the current attempt's start (None: none running)
    start_event: int | None
    state: str = "running"  # running | backoff
    error: str | None = None
    signature: str | None = None
    multi: bool = False  # its attempts have rows in multi_attempts
    first_event: int | None = None  # the event that first named it (its row's start_event)


def as_open(f: Open | Fresh) -> Open:
    return Open(f[0], 1, f[1], f[1], f[2], first_event=f[2]) if isinstance(f, tuple) else f


def open_tasks(conn: sqlite3.Connection) -> dict[str, Open]:
    """The tasks a build left open (running or backing off), as it held them; a running
    attempt of a task with several is taken out of ``multi_attempts`` (its end writes it)."""
    out = {}
    rows = conn.execute(
        "SELECT task, worker, attempts, start_t, status, error, signature, start_event, "
        "one_attempt FROM tasks WHERE status IN ('running', 'backoff')"
    ).fetchall()
    for task, worker, attempt, first, state, error, sig, event, one in rows:
        start, first_event = first, event
        if not one:
            running = conn.execute(
                "SELECT start_t, start_event FROM multi_attempts "
                "WHERE task = ? AND outcome = 'running'",
                (task,),
            ).fetchone()
            start, event = running if running else (None, None)
            conn.execute(
                "DELETE FROM multi_attempts WHERE task = ? AND outcome = 'running'", (task,)
            )
        out[task] = Open(
            worker, attempt, first, start, event, state, error, sig, not one, first_event
        )
    return out


def latest_failures(conn: sqlite3.Connection) -> OrderedDict[str, tuple[Any, ...]]:
    """The latest REOPENABLE tasks the store holds as failed for good, latest last: task ->
    (first_t, end_event, signature, one_attempt, worker, end_t, first_event)."""
    latest = conn.execute(
        "SELECT task, start_t, end_event, signature, one_attempt, worker, end_t, "
        "coalesce(start_event, end_event) FROM tasks "
        "WHERE status = 'failed' ORDER BY end_event DESC LIMIT ?",
        (REOPENABLE,),
    ).fetchall()
    out: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
    for task, first, end_event, sig, one, worker, end_t, named in reversed(latest):
        out[task] = (first, end_event, sig, bool(one), worker, end_t, named)
    return out
