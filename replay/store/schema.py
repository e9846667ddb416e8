"""The store's tables, as documented for users in docs/store.md.

Times are epoch seconds as in the log. Event numbers (1 for the log's first event)
say where in the log a row comes from, so a row can be found again by ``--at '#N'``.

Most tasks run once: their one attempt is their ``tasks`` row (``one_attempt`` = 1), and
``attempts`` is a view that reads it from there, so the build writes one row per task
instead of two. Only tasks with more than one attempt keep rows in ``multi_attempts``.
The defaults are a task that succeeded at its first attempt: its row is written with
the columns that vary only.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2
PAGE_SIZE = 32768  # fewer, larger pages: a faster bulk load, still quick to query

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE tasks (
    task TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'succeeded', -- running|backoff|succeeded|failed|skipped
    worker TEXT NOT NULL,      -- the worker of the latest attempt
    attempts INTEGER NOT NULL DEFAULT 1, -- the latest attempt's number (0: skipped unstarted)
    start_t REAL,              -- the first attempt's start
    end_t REAL,                -- when it succeeded, failed for good or was skipped
    duration_s REAL,           -- end_t - start_t
    error TEXT,                -- the last error (failed, or backoff before a retry)
    signature TEXT,            -- the signature of ``error``
    reason TEXT,               -- why it was skipped
    end_event INTEGER,         -- the event that ended it
    start_event INTEGER,       -- the event that started its attempt (when one_attempt)
    detail TEXT,               -- its attempt's traceback or output (when one_attempt)
    one_attempt INTEGER NOT NULL DEFAULT 1 -- 1: this row is its only attempt; 0: see
                                          -- multi_attempts
) WITHOUT ROWID;
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
    end_event INTEGER
);
CREATE VIEW attempts (
    task, attempt, worker, start_t, end_t, outcome, error, detail, signature, start_event,
    end_event
) AS
    SELECT task, attempts, worker, start_t, end_t, status, error, detail, signature,
        start_event, end_event
    FROM tasks WHERE one_attempt = 1
    UNION ALL
    SELECT task, attempt, worker, start_t, end_t, outcome, error, detail, signature,
        start_event, end_event
    FROM multi_attempts;
CREATE TABLE signatures (
    signature TEXT PRIMARY KEY,
    failed INTEGER NOT NULL,   -- tasks that failed for good with it
    retried INTEGER NOT NULL,  -- attempts that failed with it and were retried
    first_t REAL NOT NULL,
    last_t REAL NOT NULL,
    example TEXT NOT NULL      -- the first full error text seen with it
);
CREATE TABLE marks (event INTEGER PRIMARY KEY, t REAL NOT NULL, label TEXT NOT NULL);
CREATE TABLE logs (
    event INTEGER PRIMARY KEY, t REAL NOT NULL, level TEXT NOT NULL, msg TEXT NOT NULL,
    src TEXT NOT NULL
);
"""

# Made once the rows are in (faster than keeping them up to date during a first build).
INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, duration_s);
CREATE INDEX IF NOT EXISTS tasks_by_signature ON tasks (signature) WHERE signature IS NOT NULL;
CREATE INDEX IF NOT EXISTS multi_attempts_by_task ON multi_attempts (task, start_event);
CREATE INDEX IF NOT EXISTS multi_attempts_by_signature ON multi_attempts (signature)
    WHERE signature IS NOT NULL;
"""


def create(conn: sqlite3.Connection) -> None:
    """Make the tables of an empty store (``PAGE_SIZE`` is set by its opener, first)."""
    conn.executescript(TABLES)


def index(conn: sqlite3.Connection) -> None:
    """Make the secondary indexes (queries by status, duration, signature, task)."""
    conn.executescript(INDEXES)
