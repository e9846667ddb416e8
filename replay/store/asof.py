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


_MINE = "task IN (SELECT task FROM temp.changed)"


def _kept(n: int, row: str = "tasks", db: str = "kept") -> str:
    """Whether the row ``row`` of ``db``'s tasks is as it was at event ``n``: it is not
    open (running, backing off, an attempt without an end) and nothing of it comes after
    ``n``. A condition on each row, not a table of the others: near the log's start those
    are most of its tasks, and collecting them cost seconds."""
    n = int(n)
    return (
        f"NOT (({row}.one_attempt = 1 AND {row}.end_event > {n})"
        f" OR ({row}.one_attempt = 0 AND {row}.task IN (SELECT task FROM {db}.multi_attempts"
        f" WHERE end_event > {n} OR end_t IS NULL))"
        f" OR {row}.status IN ('running', 'backoff')"
        f" OR ({row}.status = 'skipped' AND {row}.end_event > {n}))"
    )


def parts(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The tables a tasks page is read from: ``tasks``, or an overlay's two parts (each
    in the order of the store's indexes, so a page reads a few rows of each)."""
    found = conn.execute("SELECT 1 FROM temp.sqlite_master WHERE name = 'kept_tasks'")
    return ("temp.kept_tasks", "temp.small_tasks") if found.fetchone() else ("tasks",)


def status_counts(conn: sqlite3.Connection) -> tuple[tuple[str, int], ...]:
    """Tasks per status (an overlay's are counted when it is made)."""
    if parts(conn) != ("tasks",):
        return tuple(conn.execute("SELECT status, n FROM temp.status_counts ORDER BY 1"))
    return tuple(conn.execute("SELECT status, n FROM task_counts WHERE n > 0 ORDER BY 1"))


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
    changed = kept_conn.execute(
        "SELECT task, coalesce(start_event, end_event) AS first FROM main.tasks "
        f"WHERE first <= :n AND NOT {_kept(position, db='main')}",
        {"n": position},
    ).fetchall()
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
    conn.executemany("INSERT INTO temp.changed VALUES (?)", [(r[0],) for r in changed])
    kept_rows = _kept(position)
    conn.execute(f"CREATE TEMP VIEW kept_tasks AS SELECT * FROM kept.tasks WHERE {kept_rows}")
    conn.execute("CREATE TEMP VIEW small_tasks AS SELECT * FROM main.tasks WHERE " + _MINE)
    conn.execute(
        "CREATE TEMP VIEW tasks AS SELECT * FROM kept_tasks UNION ALL SELECT * FROM small_tasks"
    )
    for table in ("multi_attempts", "signature_tasks"):
        conn.execute(
            f"CREATE TEMP VIEW {table} AS SELECT * FROM kept.{table} AS part WHERE EXISTS "
            f"(SELECT 1 FROM kept.tasks AS k WHERE k.task = part.task AND {_kept(position, 'k')}) "
            f"UNION ALL SELECT * FROM main.{table} WHERE {_MINE}"
        )
    conn.execute(f"CREATE TEMP VIEW attempts ({_ATTEMPT_COLUMNS}) AS {_ATTEMPTS}")
    # One pass over the table: through the status index, each row is a seek (seconds).
    counts: dict[str, int] = dict(
        kept_conn.execute(
            "SELECT status, count(*) FROM main.tasks NOT INDEXED "
            f"WHERE {_kept(position, db='main')} GROUP BY status"
        ).fetchall()
    )
    for status, n in conn.execute(
        f"SELECT status, count(*) FROM main.tasks WHERE {_MINE} GROUP BY status"
    ):
        counts[status] = counts.get(status, 0) + n
    conn.execute("CREATE TEMP TABLE status_counts (status TEXT PRIMARY KEY, n INTEGER)")
    conn.executemany(
        "INSERT INTO temp.status_counts VALUES (?, ?)", [(k, v) for k, v in counts.items() if v]
    )
    conn.execute("PRAGMA query_only = ON")
    return conn
