"""The post-mortem views' reads of a store: only what the view shown needs.

A store answers as of the position it was built (or kept) to; ``now`` (the clock of the
view) closes attempts still running. Lists are read as a ``Page`` of rows around the
selection, so a frame of a run with millions of tasks reads what a screen can show.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from recorder.location import LogPath
from replay.core.records import (
    BAR,
    STRIP,
    Attempt,
    Group,
    Lane,
    LogLine,
    Page,
    Record,
    TaskDetail,
    TaskRow,
    Work,
)
from replay.core.viewstate import LEVELS, ViewState
from replay.core.when import When
from replay.store.access import store_at
from replay.store.asof import parts, status_counts
from replay.store.queries import GREP, SORTS, first_t, task
from replay.store.strips import summed
from replay.store.sums import bucket_sums, thresholds

WORK = 60  # attempts listed under a worker or a failure group
WINDOW = 200  # rows read either side of the selection (more than any screen shows)
# The STRIP bucket of a wait's start (its retry's end), computed in SQLite.
_BUCKET_OF_END = "CAST((end_t - :start) / :span * :n AS INTEGER)"
# A level's rank: names runreel does not know count as info.
_RANK = (
    "CASE lower(level) WHEN 'debug' THEN 0 WHEN 'warning' THEN 2 WHEN 'warn' THEN 2 "
    "WHEN 'error' THEN 3 WHEN 'critical' THEN 3 WHEN 'fatal' THEN 3 ELSE 1 END"
)
_TASK_COLUMNS = "task, status, worker, attempts, start_t, end_t, duration_s, error"


# The views answered "as of event N" from a store of more events than N, by the event
# numbers of their rows (``upto``); the others need a store of exactly the first N.
AS_OF = ("timeline", "log")


def read(conn: sqlite3.Connection, state: ViewState, now: float, upto: int | None = None) -> Record:
    """What ``state``'s view shows of the store ``conn``, at ``now``; with ``upto`` (a view
    of AS_OF only), as of the log's first ``upto`` events of a store that holds more."""
    if upto is not None and state.view not in AS_OF:
        raise ValueError(f"the {state.view} view needs a store of the first {upto} events")
    t0 = first_t(conn)
    start = now if t0 is None else t0
    view = state.view
    if view == "failures":
        found = groups(conn, start, now)
        chosen = found[min(state.row(), len(found) - 1)].signature if found else None
        return Record(first_t=t0, groups=found, work=work(conn, "signature", chosen))
    if view == "tasks":
        found_counts = counts(conn)
        total = sum(n for _, n in found_counts)
        return Record(first_t=t0, tasks=tasks(conn, state, total), counts=found_counts)
    if view == "task":
        return Record(first_t=t0, task=detail(conn, state.task))
    if view == "workers":
        found_lanes = lanes(conn, start, now)
        worker = found_lanes[min(state.row(), len(found_lanes) - 1)].worker if found_lanes else None
        return Record(first_t=t0, lanes=found_lanes, work=work(conn, "worker", worker))
    if view == "timeline":
        return Record(first_t=t0, marks=marks(conn, upto))
    if view == "log":
        return Record(first_t=t0, logs=logs(conn, state, upto))
    return Record(first_t=t0)


def work(conn: sqlite3.Connection, column: str, value: str | None) -> tuple[Work, ...]:
    """The latest attempts of one worker or one signature, latest first (running ones
    first): a few index seeks into each table the ``attempts`` view reads."""
    if value is None:
        return ()
    failures = column == "signature"
    parts = (
        "SELECT task, attempts, worker, start_t, end_t, status, error, start_event, end_event "
        "FROM tasks WHERE one_attempt = 1"
        + (" AND signature IS NOT NULL AND status = 'failed'" if failures else ""),
        "SELECT task, attempt, worker, start_t, end_t, outcome, error, start_event, end_event "
        "FROM multi_attempts WHERE 1"
        + (" AND signature IS NOT NULL AND outcome IN ('failed', 'retried')" if failures else ""),
    )
    running: list[Any] = []
    ended: list[Any] = []
    for part in parts:
        if not failures:
            running += conn.execute(
                f"{part} AND {column} = ? AND end_event IS NULL", (value,)
            ).fetchall()
        ended += conn.execute(
            f"{part} AND {column} = ? AND end_event IS NOT NULL "
            f"ORDER BY end_event DESC LIMIT {WORK}",
            (value,),
        ).fetchall()
    running.sort(key=lambda r: -1 if r[7] is None else r[7], reverse=True)
    ended.sort(key=lambda r: r[8], reverse=True)
    return tuple(Work(*r[:7]) for r in (running + ended)[:WORK])


def _bucket(t: float | None, start: float, span: float, n: int) -> int:
    if t is None:
        return n - 1
    return min(max(int((t - start) / span * n), 0), n - 1)


def _latest(conn: sqlite3.Connection, sig: str) -> str:
    """The signature's latest task that failed for good, else its latest retried one."""
    found = []
    for sql in (
        "SELECT end_event, task FROM tasks WHERE signature = ? AND one_attempt = 1 "
        "AND status = 'failed' ORDER BY end_event DESC LIMIT 1",
        "SELECT end_event, task FROM multi_attempts WHERE signature = ? "
        "AND outcome = 'failed' ORDER BY end_event DESC LIMIT 1",
    ):
        found += conn.execute(sql, (sig,)).fetchall()
    if not found:
        found = conn.execute(
            "SELECT end_event, task FROM multi_attempts WHERE signature = ? "
            "AND outcome = 'retried' ORDER BY end_event DESC LIMIT 1",
            (sig,),
        ).fetchall()
    return max(found)[1] if found else ""


def groups(conn: sqlite3.Connection, start: float, now: float) -> tuple[Group, ...]:
    """Every signature with a failure, most failures first, with when they happened:
    read from the signatures' running totals, a few seeks each."""
    span = max(now - start, 1e-9)
    bounds = thresholds(start, span, BAR)
    out = []
    for sig, failed, retried, first, last, example, n, ordered in conn.execute(
        "SELECT signature, failed, retried, first_t, last_t, example, tasks, ordered "
        "FROM signatures WHERE failed > 0 OR retried > 0 "
        "ORDER BY failed DESC, retried DESC, first_t, signature"
    ).fetchall():
        sums = bucket_sums(
            conn,
            "failure_times",
            "signature",
            sig,
            ordered=bool(ordered),
            total=failed + retried,
            bounds=bounds,
            start=start,
            span=span,
        )
        bar = tuple(int(x) for x in sums)
        out.append(Group(sig, failed, retried, first, last, example, n, bar, _latest(conn, sig)))
    return tuple(out)


def _where(state: ViewState) -> tuple[str, list[Any]]:
    where, args = [], []
    if state.signature is not None:
        where.append("task IN (SELECT task FROM signature_tasks WHERE signature = ?)")
        args.append(state.signature)
    if state.grep:
        where.append(GREP)
        args += [state.grep] * 3
    return (" WHERE " + " AND ".join(where) if where else ""), args


def tasks(conn: sqlite3.Connection, state: ViewState, every: int | None = None) -> Page[TaskRow]:
    """The tasks around the selected row, in the chosen order and filter (``every``: the
    count of all tasks, when known; an index over each order makes a page a few seeks)."""
    where, args = _where(state)
    total = every
    if where or total is None:
        (total,) = conn.execute(f"SELECT count(*) FROM tasks{where}", args).fetchone()
    first = max(min(state.row("tasks"), max(total - 1, 0)) - WINDOW, 0)
    order = SORTS[state.sort]
    tables = parts(conn)
    if len(tables) == 1:
        sql = f"SELECT {_TASK_COLUMNS} FROM tasks{where} ORDER BY {order}"
    else:  # the page's rows are among the first rows of each part
        union = " UNION ALL ".join(
            f"SELECT * FROM (SELECT {_TASK_COLUMNS} FROM {t}{where} ORDER BY {order} "
            f"LIMIT {first + 2 * WINDOW})"
            for t in tables
        )
        sql = f"SELECT * FROM ({union}) ORDER BY {order}"
        args = args * len(tables)
    rows = conn.execute(f"{sql} LIMIT {2 * WINDOW} OFFSET {first}", args).fetchall()
    return Page(tuple(TaskRow(*r) for r in rows), first, total)


def counts(conn: sqlite3.Connection) -> tuple[tuple[str, int], ...]:
    return status_counts(conn)


def detail(conn: sqlite3.Connection, name: str | None) -> TaskDetail | None:
    """One task and every attempt at it; None when the store has no such task."""
    found = None if name is None else task(conn, name)
    if found is None:
        return None
    attempts = tuple(Attempt(**a) for a in found["attempts"])
    return TaskDetail(found["task"], found["status"], attempts)


def lanes(conn: sqlite3.Connection, start: float, now: float) -> tuple[Lane, ...]:
    """Each worker's attempts and waits, spread over STRIP buckets of the run.

    Figures and busy time come from the workers' running totals (a few seeks each) and
    the few attempts still running; the busy seconds of each bucket of start are laid
    from the start of their bucket on (exact for attempts shorter than a bucket, a fair
    picture for longer ones); waits the same from the end of their retry."""
    span = max(now - start, 1e-9)
    width = span / STRIP
    figures: dict[str, list[Any]] = {}
    sums, waits = summed(conn, start, now)
    for worker, n, failed, done, done_s, busy_s, error in conn.execute(
        "SELECT worker, attempts, failed, done, done_s, busy_s, error FROM workers"
    ).fetchall():
        figures[worker] = [n, failed, busy_s, done_s, done, error]
    for worker, start_t, running in conn.execute(
        "SELECT worker, start_t, 1 FROM tasks WHERE status = 'running' AND one_attempt = 1 "
        "UNION ALL SELECT worker, start_t, outcome = 'running' FROM multi_attempts "
        "WHERE end_t IS NULL"
    ).fetchall():
        f = figures.setdefault(worker, [0, 0, 0.0, 0.0, 0, None])
        f[0] += running
        if start_t is not None:
            seconds = max(now - start_t, 0.0)
            f[2] += seconds
            sums.setdefault(worker, [0.0] * STRIP)[_bucket(start_t, start, span, STRIP)] += seconds
    for worker, b, seconds in conn.execute(
        f"SELECT worker, {_BUCKET_OF_END}, sum(max(coalesce(wait, :now - end_t), 0)) "
        "FROM waits_loose GROUP BY 1, 2",
        {"start": start, "span": span, "n": STRIP, "now": now},
    ):
        waits.setdefault(worker, [0.0] * STRIP)[min(max(b, 0), STRIP - 1)] += seconds
    empty = (0.0,) * STRIP
    out = []
    for worker in sorted(figures, key=_natural):
        n, failed, busy_s, done_s, done, error = figures[worker]
        out.append(
            Lane(
                worker,
                n,
                failed,
                busy_s,
                done_s / done if done else None,
                error,
                _fill(sums[worker], width) if worker in sums else empty,
                _fill(waits[worker], width) if worker in waits else empty,
            )
        )
    return tuple(out)


def _fill(seconds: list[float], width: float) -> tuple[float, ...]:
    """Each bucket's seconds laid from that bucket on, a bucket holding at most ``width``
    (as a share of it): what is left over moves on to the next bucket."""
    if not any(seconds):  # nothing to lay: the common case of waits
        return (0.0,) * len(seconds)
    out = []
    carry = 0.0
    for s in seconds:
        carry += s
        take = min(carry / width, 1.0) if carry > 1e-12 else 0.0
        out.append(take)
        carry -= take * width
    return tuple(out)


def _natural(name: str) -> tuple[Any, ...]:
    """worker-2 before worker-10."""
    head = name.rstrip("0123456789")
    tail = name[len(head) :]
    return (head, int(tail) if tail else -1, name)


def marks(conn: sqlite3.Connection, upto: int | None = None) -> tuple[tuple[float, str], ...]:
    """The marks in log order (``upto``: of the first ``upto`` events)."""
    if upto is None:
        return tuple(conn.execute("SELECT t, label FROM marks ORDER BY event"))
    return tuple(
        conn.execute("SELECT t, label FROM marks WHERE event <= ? ORDER BY event", (upto,))
    )


def logs(conn: sqlite3.Connection, state: ViewState, upto: int | None = None) -> Page[LogLine]:
    """Log messages at or above the chosen level, matching the search, around the selection
    (``upto``: of the first ``upto`` events)."""
    lowest = LEVELS.index(state.level)
    where = f"{_RANK} >= ?" if lowest else "1"  # every level: no rank to compute per row
    args: list[Any] = [lowest] if lowest else []
    if upto is not None:
        where += " AND event <= ?"
        args.append(upto)
    if state.search:
        where += " AND instr(lower(msg), lower(?))"
        args.append(state.search)
    (total,) = conn.execute(f"SELECT count(*) FROM logs WHERE {where}", args).fetchone()
    first = max(min(state.row("log"), max(total - 1, 0)) - WINDOW, 0)
    rows = conn.execute(
        f"SELECT event, t, level, msg FROM logs WHERE {where} ORDER BY event "
        f"LIMIT {2 * WINDOW} OFFSET {first}",
        args,
    ).fetchall()
    return Page(tuple(LogLine(*r) for r in rows), first, total)


def record_at(
    log: LogPath, when: When, state: ViewState, now: float, *, lenient: bool = False
) -> Record:
    """What ``state``'s view shows of ``log`` as of ``when``: from the kept store when it
    is fresh, else from one built for the purpose (slower, same answer)."""
    if state.view in ("overview",):
        return Record()
    with store_at(log, when, lenient=lenient) as answer:
        return read(answer.conn, state, now)
