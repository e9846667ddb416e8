"""The questions of a post-mortem, asked of a store: errors by signature, tasks, one task,
and any read-only SQL. Results are plain dicts with the documented keys (docs/store.md).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

SORTS = {
    "start": "start_t IS NULL, start_t, task",
    "end": "end_t IS NULL, end_t, task",
    "duration": "duration_s DESC, task",  # NULL sorts lowest: last
    "attempts": "attempts DESC, task",
}
STATUSES = ("running", "backoff", "succeeded", "failed", "skipped")

# PRAGMAs that only read (a PRAGMA with a value could turn query_only off).
_READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
    "collation_list",
    "function_list",
    "pragma_list",
    "compile_options",
    "user_version",
    "schema_version",
}
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


class BadQuery(ValueError):
    """The SQL could not run: a syntax error, an unknown name, or it would write."""


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    name = (arg1 or "").lower()
    if action == sqlite3.SQLITE_PRAGMA and name in _READ_PRAGMAS:
        if arg2 is None or name not in ("user_version", "schema_version"):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def open_read_only(path: str) -> sqlite3.Connection:
    """The store at ``path`` for reading only: opened read-only, ``query_only`` on, and an
    authorizer that refuses anything but reading (ATTACH, PRAGMA settings, writes)."""
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorize)
    return conn


def run_sql(conn: sqlite3.Connection, sql: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Run one read-only statement: (column names, rows as they come); BadQuery if it fails."""
    try:
        cursor = conn.execute(sql)
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise BadQuery(_reason(exc)) from None
    columns = [d[0] for d in cursor.description or ()]

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            yield from cursor
        except sqlite3.Error as exc:
            raise BadQuery(_reason(exc)) from None

    return columns, rows()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    refused = ("not authorized", "authorization denied", "readonly", "because it is a view")
    if any(w in text for w in refused):  # a write to a view fails before the authorizer
        return "refused: the store is read-only (SELECT, WITH, EXPLAIN and PRAGMAs that read)"
    return text


def errors(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """One group per signature, most failures first (then most retries)."""
    out = []
    rows = conn.execute(
        "SELECT signature, failed, retried, first_t, last_t, example FROM signatures "
        "WHERE failed > 0 OR retried > 0 "
        "ORDER BY failed DESC, retried DESC, first_t, signature"
    ).fetchall()
    for sig, failed, retried, first_t, last_t, example in rows:
        workers = conn.execute(
            "SELECT DISTINCT worker FROM attempts WHERE signature = ? ORDER BY worker", (sig,)
        ).fetchall()
        tasks = conn.execute(
            "SELECT task FROM tasks WHERE signature = ? AND status = 'failed' ORDER BY task",
            (sig,),
        ).fetchall()
        out.append(
            {
                "signature": sig,
                "failed": failed,
                "retried": retried,
                "first_t": first_t,
                "last_t": last_t,
                "workers": [w for (w,) in workers],
                "tasks": [t for (t,) in tasks],
                "example": example,
            }
        )
    return out


TASK_KEYS: tuple[str, ...] = ("task", "status", "worker", "attempts", "start_t", "end_t")
TASK_KEYS += ("duration_s", "error", "signature")


# A task matches TEXT when its id holds it or the error of any of its attempts does (a
# task with one attempt has that attempt's error on its own row; the others' attempts
# are in ``multi_attempts``, read once for the whole query).
GREP = (
    "(instr(lower(task), lower(?)) OR instr(lower(coalesce(error, '')), lower(?)) "
    "OR (one_attempt = 0 AND task IN (SELECT task FROM multi_attempts "
    "WHERE instr(lower(coalesce(error, '')), lower(?)))))"
)


def tasks(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    worker: str | None = None,
    grep: str | None = None,
    signature: str | None = None,
    sort: str = "start",
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Every task in its final state (as of the store's position), filtered and sorted; one
    row at a time, so a caller that streams its output keeps memory flat."""
    where, args = [], []
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if worker is not None:
        where.append("worker = ?")
        args.append(worker)
    if grep is not None:
        where.append(GREP)
        args += [grep] * 3
    if signature is not None:  # any attempt, retried or final: the failures view's tasks
        where.append("task IN (SELECT task FROM signature_tasks WHERE signature = ?)")
        args.append(signature)
    sql = f"SELECT {', '.join(TASK_KEYS)} FROM tasks"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {SORTS[sort]}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    for row in conn.execute(sql, args):
        yield dict(zip(TASK_KEYS, row, strict=True))


ATTEMPT_KEYS = ("attempt", "worker", "start_t", "end_t", "outcome", "error", "detail")
# no traceback reads null, however the attempt ended (the log leaves an empty one out)
_ATTEMPT_COLUMNS = (*ATTEMPT_KEYS[:-1], "nullif(detail, '')")


def task(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    """One task and every attempt at it, in log order; None when the store has no such task."""
    row = conn.execute("SELECT status FROM tasks WHERE task = ?", (name,)).fetchone()
    if row is None:
        return None
    attempts = conn.execute(
        f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM attempts WHERE task = ? "
        "ORDER BY coalesce(start_event, end_event), end_event",
        (name,),
    ).fetchall()
    return {
        "task": name,
        "status": row[0],
        "attempts": [dict(zip(ATTEMPT_KEYS, a, strict=True)) for a in attempts],
    }


def first_t(conn: sqlite3.Connection) -> float | None:
    """The log's first event time (elapsed times are counted from it)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'first_t'").fetchone()
    return None if row is None else float(row[0])
