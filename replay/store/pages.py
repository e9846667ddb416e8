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
from replay.store.queries import SORTS, first_t, task

WORK = 60  # attempts listed under a worker or a failure group
WINDOW = 200  # rows read either side of the selection (more than any screen shows)
# The BAR or STRIP bucket of an attempt's end (NULL: still running, the last bucket) and
# of its start, computed in SQLite.
_BUCKET = "coalesce(CAST((end_t - :start) / :span * :n AS INTEGER), :n - 1)"
_BUCKET_OF_START = "CAST((start_t - :start) / :span * :n AS INTEGER)"
# A level's rank: names runreel does not know count as info.
_RANK = (
    "CASE lower(level) WHEN 'debug' THEN 0 WHEN 'warning' THEN 2 WHEN 'warn' THEN 2 "
    "WHEN 'error' THEN 3 WHEN 'critical' THEN 3 WHEN 'fatal' THEN 3 ELSE 1 END"
)
_TASK_COLUMNS = "task, status, worker, attempts, start_t, end_t, duration_s, error"


def read(conn: sqlite3.Connection, state: ViewState, now: float) -> Record:
    """What ``state``'s view shows of the store ``conn``, at ``now``."""
    t0 = first_t(conn)
    start = now if t0 is None else t0
    view = state.view
    if view == "failures":
        found = groups(conn, start, now)
        chosen = found[min(state.row(), len(found) - 1)].signature if found else None
        return Record(first_t=t0, groups=found, work=work(conn, "signature", chosen))
    if view == "tasks":
        return Record(first_t=t0, tasks=tasks(conn, state), counts=counts(conn))
    if view == "task":
        return Record(first_t=t0, task=detail(conn, state.task))
    if view == "workers":
        found_lanes = lanes(conn, start, now)
        worker = found_lanes[min(state.row(), len(found_lanes) - 1)].worker if found_lanes else None
        return Record(first_t=t0, lanes=found_lanes, work=work(conn, "worker", worker))
    if view == "timeline":
        return Record(first_t=t0, marks=marks(conn))
    if view == "log":
        return Record(first_t=t0, logs=logs(conn, state))
    return Record(first_t=t0)


def work(conn: sqlite3.Connection, column: str, value: str | None) -> tuple[Work, ...]:
    """The latest attempts of one worker or one signature, latest first."""
    if value is None:
        return ()
    only_failures = " AND outcome IN ('failed', 'retried')" if column == "signature" else ""
    rows = conn.execute(
        "SELECT task, attempt, worker, start_t, end_t, outcome, error FROM attempts "
        f"WHERE {column} = ?{only_failures} "
        f"ORDER BY end_event IS NULL DESC, coalesce(end_event, start_event) DESC LIMIT {WORK}",
        (value,),
    ).fetchall()
    return tuple(Work(*r) for r in rows)


def _bucket(t: float | None, start: float, span: float, n: int) -> int:
    if t is None:
        return n - 1
    return min(max(int((t - start) / span * n), 0), n - 1)


def groups(conn: sqlite3.Connection, start: float, now: float) -> tuple[Group, ...]:
    """Every signature with a failure, most failures first, with when they happened."""
    span = max(now - start, 1e-9)
    bars: dict[str, list[int]] = {}
    for sig, b, n in conn.execute(
        f"SELECT signature, {_BUCKET}, count(*) FROM attempts WHERE signature IS NOT NULL "
        "AND outcome IN ('failed', 'retried') GROUP BY 1, 2",
        {"start": start, "span": span, "n": BAR},
    ):
        bars.setdefault(sig, [0] * BAR)[min(max(b, 0), BAR - 1)] += n
    # One scan each: tasks per signature, and its latest task that failed for good (a
    # bare column takes the row of the max()), else its latest retried one.
    tasks = dict(
        conn.execute(
            "SELECT signature, count(DISTINCT task) FROM attempts "
            "WHERE signature IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    latest: dict[str, str] = {}
    for outcome in ("retried", "failed"):  # failed last: it wins
        for sig, name, _ in conn.execute(
            "SELECT signature, task, max(end_event) FROM attempts "
            "WHERE signature IS NOT NULL AND outcome = ? GROUP BY 1",
            (outcome,),
        ):
            latest[sig] = name
    out = []
    for sig, failed, retried, first, last, example in conn.execute(
        "SELECT signature, failed, retried, first_t, last_t, example FROM signatures "
        "WHERE failed > 0 OR retried > 0 ORDER BY failed DESC, retried DESC, first_t, signature"
    ).fetchall():
        n = tasks.get(sig, 0)
        bar = tuple(bars.get(sig, [0] * BAR))
        out.append(Group(sig, failed, retried, first, last, example, n, bar, latest.get(sig, "")))
    return tuple(out)


def _where(state: ViewState) -> tuple[str, list[Any]]:
    where, args = [], []
    if state.signature is not None:
        where.append("task IN (SELECT task FROM attempts WHERE signature = ?)")
        args.append(state.signature)
    if state.grep:
        where.append(
            "(instr(lower(task), lower(?)) OR instr(lower(coalesce(error, '')), lower(?)))"
        )
        args += [state.grep, state.grep]
    return (" WHERE " + " AND ".join(where) if where else ""), args


def tasks(conn: sqlite3.Connection, state: ViewState) -> Page[TaskRow]:
    """The tasks around the selected row, in the chosen order and filter."""
    where, args = _where(state)
    (total,) = conn.execute(f"SELECT count(*) FROM tasks{where}", args).fetchone()
    first = max(min(state.row("tasks"), max(total - 1, 0)) - WINDOW, 0)
    rows = conn.execute(
        f"SELECT {_TASK_COLUMNS} FROM tasks{where} ORDER BY {SORTS[state.sort]} "
        f"LIMIT {2 * WINDOW} OFFSET {first}",
        args,
    ).fetchall()
    return Page(tuple(TaskRow(*r) for r in rows), first, total)


def counts(conn: sqlite3.Connection) -> tuple[tuple[str, int], ...]:
    return tuple(conn.execute("SELECT status, count(*) FROM tasks GROUP BY status ORDER BY 1"))


def detail(conn: sqlite3.Connection, name: str | None) -> TaskDetail | None:
    """One task and every attempt at it; None when the store has no such task."""
    found = None if name is None else task(conn, name)
    if found is None:
        return None
    attempts = tuple(Attempt(**a) for a in found["attempts"])
    return TaskDetail(found["task"], found["status"], attempts)


def lanes(conn: sqlite3.Connection, start: float, now: float) -> tuple[Lane, ...]:
    """Each worker's attempts and waits, spread over STRIP buckets of the run.

    SQLite sums the busy time per worker and bucket of start; each sum is then laid
    from the start of its bucket on (exact for attempts shorter than a bucket, a fair
    picture for longer ones), so the cost is one scan in C, not a row in Python."""
    span = max(now - start, 1e-9)
    width = span / STRIP
    busy: dict[str, list[float]] = {}
    waits: dict[str, list[float]] = {}
    figures: dict[str, list[Any]] = {}
    params = {"start": start, "span": span, "n": STRIP, "now": now}

    def spread(into: list[float], bucket: int, seconds: float) -> None:
        i = min(max(bucket, 0), STRIP - 1)
        while seconds > 1e-12 and i < STRIP:
            room = 1.0 - into[i]
            take = min(seconds / width, room) if room > 0 else 0.0
            into[i] += take
            seconds -= take * width
            i += 1

    for worker, n, failed, done_s, done in conn.execute(
        "SELECT worker, count(*), count(error), "
        "sum(CASE WHEN end_t IS NOT NULL AND start_t IS NOT NULL AND outcome != 'restarted' "
        "THEN end_t - start_t END), "
        "count(CASE WHEN end_t IS NOT NULL AND start_t IS NOT NULL AND outcome != 'restarted' "
        "THEN 1 END) FROM attempts GROUP BY worker"
    ):
        figures[worker] = [n, failed, 0.0, done_s or 0.0, done, None]
        busy[worker] = [0.0] * STRIP
        waits[worker] = [0.0] * STRIP
    # SQLite gives a bare column the row of the max(): each worker's latest error, one scan.
    for worker, error, _ in conn.execute(
        "SELECT worker, error, max(end_event) FROM attempts WHERE error IS NOT NULL GROUP BY worker"
    ):
        figures[worker][5] = error
    for worker, b, seconds in conn.execute(
        f"SELECT worker, {_BUCKET_OF_START}, sum(max(coalesce(end_t, :now) - start_t, 0)) "
        "FROM attempts WHERE start_t IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    ):
        spread(busy[worker], b, seconds)
        figures[worker][2] += seconds
    for worker, e, nxt in conn.execute(
        "SELECT a.worker, a.end_t, (SELECT min(b.start_t) FROM attempts b "
        "WHERE b.task = a.task AND b.start_event > a.end_event) "
        "FROM attempts a WHERE a.outcome = 'retried' AND a.end_t IS NOT NULL"
    ):
        wait = (now if nxt is None else nxt) - e
        spread(waits.setdefault(worker, [0.0] * STRIP), _bucket(e, start, span, STRIP), wait)
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
                tuple(busy[worker]),
                tuple(waits[worker]),
            )
        )
    return tuple(out)


def _natural(name: str) -> tuple[Any, ...]:
    """worker-2 before worker-10."""
    head = name.rstrip("0123456789")
    tail = name[len(head) :]
    return (head, int(tail) if tail else -1, name)


def marks(conn: sqlite3.Connection) -> tuple[tuple[float, str], ...]:
    return tuple(conn.execute("SELECT t, label FROM marks ORDER BY event"))


def logs(conn: sqlite3.Connection, state: ViewState) -> Page[LogLine]:
    """Log messages at or above the chosen level, matching the search, around the selection."""
    where = f"{_RANK} >= ?"
    args: list[Any] = [LEVELS.index(state.level)]
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
