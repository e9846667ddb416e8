"""The store's tables, as documented for users in docs/store.md.

Times are epoch seconds as in the log. Event numbers (1 for the log's first event)
say where in the log a row comes from, so a row can be found again by ``--at '#N'``;
``start_n``/``end_n``/``n`` are the same numbers counted from 0 (the replay position's
numbering), computed by SQLite from those (virtual columns: they cost the build nothing),
so a view can answer "as of event N" from the full store.

Most tasks run once: their one attempt is their ``tasks`` row (``one_attempt`` = 1), and
``attempts`` is a view that reads it from there, so the build writes one row per task
instead of two. Only tasks with more than one attempt keep rows in ``multi_attempts``.
The defaults are a task that succeeded at its first attempt: its row is written with
the columns that vary only.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA_VERSION = 5
PAGE_SIZE = 32768  # fewer, larger pages: a faster bulk load, still quick to query

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE tasks (
    task TEXT NOT NULL,        -- unique (the index tasks_by_task)
    status TEXT NOT NULL DEFAULT 'succeeded', -- running|backoff|succeeded|failed|skipped
    worker TEXT NOT NULL,      -- the worker of the latest attempt
    attempts INTEGER NOT NULL DEFAULT 1, -- the latest attempt's number (0: skipped unstarted)
    start_t REAL,              -- the first attempt's start
    end_t REAL,                -- when it succeeded, failed for good or was skipped
    duration_s REAL GENERATED ALWAYS AS (end_t - start_t) VIRTUAL,
    error TEXT,                -- the last error (failed, or backoff before a retry)
    signature TEXT,            -- the signature of ``error``
    reason TEXT,               -- why it was skipped
    end_event INTEGER,         -- the event that ended it
    start_event INTEGER,       -- the event that started its first attempt (or that first
                               -- named it; NULL: its end did)
    detail TEXT,               -- its attempt's traceback or output (when one_attempt)
    one_attempt INTEGER NOT NULL DEFAULT 1, -- 1: this row is its only attempt; 0: see
                                           -- multi_attempts
    -- 0-based event numbers (the replay position's): the task is known from start_n on
    start_n INTEGER GENERATED ALWAYS AS (coalesce(start_event, end_event) - 1) VIRTUAL,
    end_n INTEGER GENERATED ALWAYS AS (end_event - 1) VIRTUAL
);
-- How many tasks have each status: the tasks view's counts without reading every row.
-- Counted when a build makes its indexes; an extension keeps them (``watch``).
CREATE TABLE task_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE multi_attempts (  -- the attempts of tasks with one_attempt = 0
    task TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker TEXT NOT NULL,
    start_t REAL,              -- NULL: the log shows its end only
    end_t REAL,
    outcome TEXT NOT NULL,     -- running|retried|restarted|succeeded|failed|skipped
    error TEXT,
    detail TEXT,               -- the traceback or full output
    signature TEXT,
    start_event INTEGER,
    end_event INTEGER,
    start_n INTEGER GENERATED ALWAYS AS (coalesce(start_event, end_event) - 1) VIRTUAL,
    end_n INTEGER GENERATED ALWAYS AS (end_event - 1) VIRTUAL
);
CREATE VIEW attempts (
    task, attempt, worker, start_t, end_t, outcome, error, detail, signature, start_event,
    end_event, start_n, end_n
) AS
    SELECT task, attempts, worker, start_t, end_t, status, error, detail, signature,
        start_event, end_event, start_n, end_n
    FROM tasks WHERE one_attempt = 1
    UNION ALL
    SELECT task, attempt, worker, start_t, end_t, outcome, error, detail, signature,
        start_event, end_event, start_n, end_n
    FROM multi_attempts;
CREATE TABLE signatures (
    signature TEXT PRIMARY KEY,
    failed INTEGER NOT NULL,   -- tasks that failed for good with it
    retried INTEGER NOT NULL,  -- attempts that failed with it and were retried
    first_t REAL NOT NULL,
    last_t REAL NOT NULL,
    example TEXT NOT NULL,     -- the first full error text seen with it
    tasks INTEGER NOT NULL DEFAULT 0,  -- tasks with an attempt that failed with it
    ordered INTEGER NOT NULL DEFAULT 1 -- 1: its failure_times came in time order
);
CREATE TABLE signature_tasks (signature TEXT, task TEXT, PRIMARY KEY (signature, task))
    WITHOUT ROWID;
-- Every failed or retried attempt's end; k counts them per signature (a running count).
CREATE TABLE failure_times (signature TEXT NOT NULL, t REAL NOT NULL, k INTEGER NOT NULL);
CREATE TABLE workers (         -- per worker, over its attempts that are over
    worker TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL, -- ended or restarted (running ones: see tasks/multi_attempts)
    failed INTEGER NOT NULL,   -- with an error
    done INTEGER NOT NULL,     -- with a start and an end
    done_s REAL NOT NULL,      -- their total end_t - start_t
    busy_s REAL NOT NULL,      -- the same, each at least 0
    error TEXT,                -- the latest error
    last_start REAL,           -- the latest start among ``done``
    ordered INTEGER NOT NULL,  -- 1: its busy rows came in order of start
    waits_s REAL NOT NULL,     -- the running total of its ``waits`` rows
    waits_last REAL,           -- the latest end_t among them
    waits_ordered INTEGER NOT NULL -- 1: its waits rows came in order of end_t
) WITHOUT ROWID;
-- The ``done`` attempts of each worker, in the order they ended: cum is the running total
-- of their busy seconds; k counts them per worker (1, 2, ...: the order they ended). Kept
-- in the order of its key: a worker's rows come mostly in order of start, so loading them
-- costs about what appending does, and no index is made afterwards.
CREATE TABLE busy (worker TEXT NOT NULL, start_t REAL NOT NULL, cum REAL NOT NULL,
    k INTEGER NOT NULL, PRIMARY KEY (worker, start_t, cum, k)) WITHOUT ROWID;
-- The waits of retries for the task's next start, once over, in the order the retries
-- happened: cum is the worker's running total of their seconds.
CREATE TABLE waits (worker TEXT NOT NULL, end_t REAL NOT NULL, cum REAL NOT NULL);
-- Each worker's busy and waiting seconds per bucket of the whole run (``strips.keep``):
-- STRIP doubles each, over start .. now, the first and the latest event times.
CREATE TABLE strips (worker TEXT PRIMARY KEY, start REAL NOT NULL, now REAL NOT NULL,
    busy BLOB NOT NULL, waits BLOB NOT NULL) WITHOUT ROWID;
-- Waits summed one by one: not over when a build ended (wait NULL: it lasts until now,
-- or until the task starts again), or a failure turned into a retry.
CREATE TABLE waits_loose (task TEXT NOT NULL, worker TEXT NOT NULL, end_t REAL NOT NULL,
    wait REAL);
CREATE INDEX waits_loose_open ON waits_loose (task) WHERE wait IS NULL;
CREATE TABLE marks (event INTEGER PRIMARY KEY, t REAL NOT NULL, label TEXT NOT NULL,
    n INTEGER GENERATED ALWAYS AS (event - 1) VIRTUAL);
CREATE TABLE logs (
    event INTEGER PRIMARY KEY, t REAL NOT NULL, level TEXT NOT NULL, msg TEXT NOT NULL,
    src TEXT NOT NULL, n INTEGER GENERATED ALWAYS AS (event - 1) VIRTUAL
);
"""

# Made once the rows are in (sorting once is faster than keeping a b-tree up to date
# during a first build); an extension updates a task's row written again (``rows.UPDATE_TASK``).
UNIQUE = "CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_task ON tasks (task)"
INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, duration_s);
CREATE INDEX IF NOT EXISTS tasks_by_signature ON tasks (signature, end_event)
    WHERE signature IS NOT NULL;
CREATE INDEX IF NOT EXISTS multi_attempts_by_task ON multi_attempts (task, start_event);
CREATE INDEX IF NOT EXISTS multi_attempts_by_signature ON multi_attempts (signature, end_event)
    WHERE signature IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_start ON tasks (start_t IS NULL, start_t, task);
CREATE INDEX IF NOT EXISTS waits_by_worker ON waits (worker, end_t, cum);
CREATE INDEX IF NOT EXISTS failure_times_by_signature ON failure_times (signature, t, k);
CREATE INDEX IF NOT EXISTS multi_attempts_open ON multi_attempts (worker) WHERE end_t IS NULL;
CREATE INDEX IF NOT EXISTS multi_attempts_retried ON multi_attempts (task)
    WHERE outcome = 'retried';
"""
# What only the workers view reads (``store.lean``: a store without them).
BY_WORKER = """
CREATE INDEX IF NOT EXISTS tasks_by_worker ON tasks (worker, end_event) WHERE one_attempt = 1;
CREATE INDEX IF NOT EXISTS multi_attempts_by_worker ON multi_attempts (worker, end_event);
"""


def create(conn: sqlite3.Connection) -> None:
    """Make the tables of an empty store (``PAGE_SIZE`` is set by its opener, first)."""
    conn.executescript(TABLES)


def index(conn: sqlite3.Connection, *, workers: bool = True) -> None:
    """Make the indexes (queries by task, status, duration, signature, worker). A first
    build appends a task's row again when the task comes back (a re-run): the latest
    row is its state, so the earlier ones go before the task names are made unique."""
    try:
        conn.execute(UNIQUE)
    except sqlite3.IntegrityError:
        conn.execute(
            "DELETE FROM tasks WHERE rowid NOT IN (SELECT max(rowid) FROM tasks GROUP BY task)"
        )
        conn.execute(UNIQUE)
    conn.executescript(INDEXES)
    if workers:
        conn.executescript(BY_WORKER)
    conn.execute("DELETE FROM task_counts")
    conn.execute("INSERT INTO task_counts SELECT status, count(*) FROM tasks GROUP BY status")


# An extension of an indexed store keeps the counts up to date as it writes: the builder
# adds the rows it is about to write per status (``count``), and a row of ``tasks``
# written again (an open task ended, a re-run: updated in place, ``rows.UPDATE_TASK``)
# takes its old status off through this trigger. A trigger per inserted row cost about
# 0.3 us an event of the live load; this one fires only for the few rows written again.
_WATCH = (
    "CREATE TEMP TRIGGER IF NOT EXISTS task_counts_again AFTER UPDATE ON main.tasks BEGIN "
    "UPDATE task_counts SET n = n - 1 WHERE status = old.status; END"
)
_COUNT = (
    "INSERT INTO task_counts VALUES (?, ?) ON CONFLICT (status) DO UPDATE SET n = n + excluded.n"
)


def watch(conn: sqlite3.Connection) -> bool:
    """Keep ``task_counts`` up to date as this connection writes ``tasks``, when the store
    has its indexes already (a first build counts once it makes them: ``index``); True
    when it does, and the writer then calls ``count`` before it writes rows."""
    if conn.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'tasks_by_task'").fetchone():
        conn.execute(_WATCH)
        return True
    return False


def count(conn: sqlite3.Connection, succeeded: int, rows: list[tuple[Any, ...]]) -> None:
    """Add the rows of ``tasks`` about to be written (``succeeded`` plain ones, and ``rows``
    with their status second) to ``task_counts`` before they are written: the rows they
    update are then taken off counts that hold them."""
    counts = {"succeeded": succeeded}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    conn.executemany(_COUNT, [kv for kv in counts.items() if kv[1]])
