"""The views' figures read from the store's running totals (``replay/store/summary.py``)
equal what a full scan of ``attempts`` gives (the reads before the totals, kept here as
the reference), on random logs, built at once and fed in batches as a session does."""

from __future__ import annotations

import math
import random
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.events import (
    AnyEvent,
    Log,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from replay.core.records import BAR, STRIP, Group, Lane, Work
from replay.core.viewstate import ViewState
from replay.store import pages, summary
from replay.store.moving import MovingStore
from replay.store.pages import WORK, _natural

_BUCKET = "coalesce(CAST((end_t - :start) / :span * :n AS INTEGER), :n - 1)"
_BUCKET_OF_START = "CAST((start_t - :start) / :span * :n AS INTEGER)"
T0 = 1_700_000_000.0


# --- the reference: full scans of the attempts view -------------------------------------


def scan_work(conn: sqlite3.Connection, column: str, value: str | None) -> tuple[Work, ...]:
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


def scan_bucket(t: float | None, start: float, span: float, n: int) -> int:
    if t is None:
        return n - 1
    return min(max(int((t - start) / span * n), 0), n - 1)


def scan_groups(conn: sqlite3.Connection, start: float, now: float) -> tuple[Group, ...]:
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


def scan_lanes(conn: sqlite3.Connection, start: float, now: float) -> tuple[Lane, ...]:
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
    # A wait ends at the task's next start in the log (before the running totals: its
    # earliest later start time, which differs only where a log's times go backwards).
    for worker, e, nxt in conn.execute(
        "SELECT a.worker, a.end_t, (SELECT b.start_t FROM attempts b "
        "WHERE b.task = a.task AND b.start_event > a.end_event AND b.start_t IS NOT NULL "
        "ORDER BY b.start_event LIMIT 1) "
        "FROM attempts a WHERE a.outcome = 'retried' AND a.end_t IS NOT NULL"
    ):
        wait = (now if nxt is None else nxt) - e
        spread(waits.setdefault(worker, [0.0] * STRIP), scan_bucket(e, start, span, STRIP), wait)
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


# --- random runs ------------------------------------------------------------------------

ERRORS = ("IOError: disk 1 full", "IOError: disk 2 full", "Timeout: after 30s", "KeyError: 'x'")


def run(seed: int, steps: int, jitter: float) -> list[AnyEvent]:
    """A random run: overlapping attempts on a few workers, retries with and without a
    next start, restarts, failures (some re-run), skips; times mostly rising, some not."""
    rng = random.Random(seed)
    out: list[AnyEvent] = []
    t = T0
    seq = 0
    running: dict[str, tuple[str, int]] = {}  # task -> (worker, attempt)
    backoff: dict[str, tuple[str, int]] = {}
    failed: list[tuple[str, str, int]] = []  # the latest failures, re-runnable
    n = 0

    def emit(cls: Any, **fields: Any) -> None:
        nonlocal seq, t
        seq += 1
        t += rng.random() * 2 - (jitter if rng.random() < 0.1 else 0.0)
        out.append(cls(t=t, src="s", seq=seq, **fields))

    def worker() -> str:
        return f"w{rng.randrange(3)}"

    for _ in range(steps):
        r = rng.random()
        if r < 0.25 or not (running or backoff):
            n += 1
            task = f"t{n}"
            running[task] = (worker(), 1)
            emit(TaskStarted, task=task, worker=running[task][0])
        elif r < 0.4 and running:
            task = rng.choice(sorted(running))
            w, _ = running.pop(task)
            emit(TaskSucceeded, task=task, worker=rng.choice([w, ""]))
        elif r < 0.5:
            task = rng.choice(sorted(running) + sorted(backoff))
            w, a = running.pop(task, None) or backoff.pop(task)
            emit(TaskFailed, task=task, worker=w, error=rng.choice(ERRORS))
            failed = [*failed[-3:], (task, w, a)]
        elif r < 0.62:
            task = rng.choice(sorted(running) + sorted(backoff))
            w, a = running.pop(task, None) or backoff.pop(task)
            w = rng.choice([w, worker()])
            emit(TaskRetrying, task=task, worker=w, attempt=a, error=rng.choice(ERRORS))
            backoff[task] = (w, a + 1)
        elif r < 0.72 and backoff:
            task = rng.choice(sorted(backoff))
            w, a = backoff.pop(task)
            running[task] = (worker(), a)
            emit(TaskStarted, task=task, worker=running[task][0], attempt=a)
        elif r < 0.76 and running:  # started again while running: a restart
            task = rng.choice(sorted(running))
            w, a = running[task]
            running[task] = (worker(), a + 1)
            emit(TaskStarted, task=task, worker=running[task][0], attempt=a + 1)
        elif r < 0.8 and failed:  # a re-run of a recent failure
            task, w, a = failed.pop(rng.randrange(len(failed)))
            if task not in running and task not in backoff:
                running[task] = (worker(), a + 1)
                emit(TaskStarted, task=task, worker=running[task][0], attempt=a + 1)
        elif r < 0.85:
            open_ = sorted(running) + sorted(backoff)
            if open_ and rng.random() < 0.5:
                task = rng.choice(open_)
                running.pop(task, None) or backoff.pop(task)
            else:
                n += 1
                task = f"t{n}"
            emit(TaskSkipped, task=task, reason="cached")
        else:
            emit(Log, msg=f"step {seq}")
    return out


# --- the comparison ---------------------------------------------------------------------


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def same_lanes(got: tuple[Lane, ...], want: tuple[Lane, ...]) -> None:
    assert [g.worker for g in got] == [w.worker for w in want]
    for g, w in zip(got, want, strict=True):
        assert (g.attempts, g.failed, g.last_error) == (w.attempts, w.failed, w.last_error), w
        assert close(g.busy_s, w.busy_s) and close(g.mean_s, w.mean_s), (g, w)
        assert all(close(x, y) for x, y in zip(g.busy, w.busy, strict=True)), (g, w)
        assert all(close(x, y) for x, y in zip(g.backoff, w.backoff, strict=True)), (g, w)


def agree(conn: sqlite3.Connection) -> None:
    """Every figure the views read agrees with a full scan, at clocks during and after."""
    start = pages.first_t(conn)
    if start is None:
        return
    (last,) = conn.execute(
        "SELECT max(t) FROM (SELECT max(end_t) AS t FROM attempts "
        "UNION ALL SELECT max(start_t) FROM attempts)"
    ).fetchone()
    last = start if last is None else last
    for now in (last, last + 7.5, start + (last - start) / 3):
        assert pages.groups(conn, start, now) == scan_groups(conn, start, now)
        same_lanes(pages.lanes(conn, start, now), scan_lanes(conn, start, now))
    for (sig,) in conn.execute(
        "SELECT DISTINCT signature FROM attempts WHERE signature IS NOT NULL"
    ).fetchall():
        assert pages.work(conn, "signature", sig) == scan_work(conn, "signature", sig)
        want = ViewState(view="tasks", signature=sig)
        got = {r.task for r in pages.tasks(conn, want).rows}
        scanned = conn.execute(
            "SELECT DISTINCT task FROM attempts WHERE signature = ?", (sig,)
        ).fetchall()
        assert got == {s for (s,) in scanned}
    for (w,) in conn.execute("SELECT DISTINCT worker FROM attempts").fetchall():
        assert pages.work(conn, "worker", w) == scan_work(conn, "worker", w)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    steps=st.integers(1, 300),
    jitter=st.sampled_from([0.0, 0.0, 3.0]),
    cuts=st.lists(st.floats(0, 1), max_size=5),
)
def test_the_running_totals_equal_a_full_scan(
    seed: int, steps: int, jitter: float, cuts: list[float]
) -> None:
    events = run(seed, steps, jitter)
    whole = MovingStore(None)
    fed = MovingStore(None)
    try:
        whole.feed(events)
        agree(whole.conn)
        at = 0
        for cut in sorted({int(c * len(events)) for c in cuts} | {len(events)}):
            fed.feed(events[at:cut])
            at = cut
            agree(fed.conn)
    finally:
        whole.close()
        fed.close()


def test_a_worker_whose_attempts_overlap_is_summed_row_by_row() -> None:
    """Rows out of time order (``ordered`` = 0) take the slow path, with the same answer."""
    events = run(5, 200, 3.0)
    store = MovingStore(None)
    try:
        store.feed(events)
        conn = store.conn
        (unordered,) = conn.execute("SELECT count(*) FROM workers WHERE ordered = 0").fetchone()
        (sigs,) = conn.execute("SELECT count(*) FROM signatures WHERE ordered = 0").fetchone()
        assert unordered and sigs
        agree(conn)
    finally:
        store.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_waits_set_aside_when_one_holds_up_a_queue_give_the_same_answer(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's waits join its running total in order; one that holds up more than
    QUEUE others is set aside as a loose row, with the same answer."""
    monkeypatch.setattr(summary, "QUEUE", 1)
    events = run(seed, 300, 0.0)
    whole, fed = MovingStore(None), MovingStore(None)
    try:
        whole.feed(events)
        (loose,) = whole.conn.execute("SELECT count(*) FROM waits_loose").fetchone()
        assert loose
        agree(whole.conn)
        for at in range(0, len(events), 97):
            fed.feed(events[at : at + 97])
        agree(fed.conn)
    finally:
        whole.close()
        fed.close()
