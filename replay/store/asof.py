"""The tasks as of event N, read from the kept store of the whole log and a small one.

A task whose last event is at or before N looks in the whole log's store as it looked
at N; so does a task that first shows up after N (it is left out). Only the tasks open
at N that changed afterwards differ: their first event is at most a task's length
before N. So the events from the earliest of those to N are built into a small store
(the same ``Builder``, every event of that window: a re-run's "was it retried" rule
sees the same latest failures), and a connection reads, under the names the views
query (``tasks``, ``multi_attempts``, ``attempts``, ``signature_tasks``), the kept rows
of every other task and the small store's rows of those few. When that window is long
(a task open since the start), building a store of the first N events costs about the
same, and ``overlay`` says so by giving None.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from replay.store import schema
from replay.store.build import Builder
from replay.store.keep import new_store

# Views that read only these tables (and ``meta``): the tasks list and a task's detail.
TASK_VIEWS = ("tasks", "task")
LONGEST = 200_000  # events back to the earliest changed task beyond which a build wins

_CHANGED = (
    "SELECT task, coalesce(start_event, end_event) FROM tasks "
    "WHERE coalesce(start_event, end_event) <= :n AND (end_event IS NULL OR end_event > :n)"
)
_KEPT = "task NOT IN (SELECT task FROM temp.changed) AND coalesce(start_event, end_event) <= {n}"
_MINE = "task IN (SELECT task FROM temp.changed)"
_ATTEMPT_COLUMNS = (
    "task, attempt, worker, start_t, end_t, outcome, error, detail, signature, start_event, "
    "end_event, start_n, end_n"
)
_ATTEMPTS = (
    "SELECT task, attempts, worker, start_t, end_t, status, error, detail, signature, "
    "start_event, end_event, start_n, end_n FROM temp.tasks WHERE one_attempt = 1 "
    "UNION ALL SELECT task, attempt, worker, start_t, end_t, outcome, error, detail, "
    "signature, start_event, end_event, start_n, end_n FROM temp.multi_attempts"
)


def overlay(
    kept: str,
    kept_conn: sqlite3.Connection,
    position: int,
    small: str,
    events: Callable[[int, int], Iterable[Any]],
) -> sqlite3.Connection | None:
    """A connection that reads the tasks as a store of the log's first ``position`` events
    would (``small``: where the small store goes; ``events(after, upto)``: the log's
    events after ``after`` up to ``upto``); None when building that store is as cheap."""
    changed = kept_conn.execute(_CHANGED, {"n": position}).fetchall()
    start = min((first for _, first in changed), default=position + 1) - 1
    if position - start > LONGEST:
        return None
    (first_t,) = kept_conn.execute("SELECT value FROM meta WHERE key = 'first_t'").fetchone()
    if os.path.exists(small):
        os.unlink(small)
    conn = new_store(small)
    builder = Builder(conn, start, float(first_t))
    builder.feed(list(events(start, position)))
    builder.finish()
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('first_t', ?)", (first_t,))
    conn.execute("COMMIT")
    schema.index(conn)
    conn.execute(f"ATTACH 'file:{quote(os.path.abspath(kept))}?mode=ro' AS kept")
    conn.execute("CREATE TEMP TABLE changed (task TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.executemany("INSERT INTO temp.changed VALUES (?)", [(t,) for t, _ in changed])
    kept_rows = _KEPT.format(n=int(position))
    for table in ("tasks", "multi_attempts"):
        conn.execute(
            f"CREATE TEMP VIEW {table} AS SELECT * FROM kept.{table} WHERE {kept_rows} "
            f"UNION ALL SELECT * FROM main.{table} WHERE {_MINE}"
        )
    conn.execute(f"CREATE TEMP VIEW attempts ({_ATTEMPT_COLUMNS}) AS {_ATTEMPTS}")
    conn.execute(
        "CREATE TEMP VIEW signature_tasks AS SELECT s.* FROM kept.signature_tasks s "
        f"JOIN kept.tasks USING (task) WHERE {kept_rows.replace('task NOT', 's.task NOT')} "
        f"UNION ALL SELECT * FROM main.signature_tasks WHERE {_MINE}"
    )
    conn.execute("PRAGMA query_only = ON")
    return conn
