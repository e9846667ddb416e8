"""Metrics as a pure fold over events: ``apply(state, event) -> state``.

No I/O, no clock reads, no randomness: every time is an event time (``t``) or a
``now`` passed in by the caller. The state and its derived figures are in
``replay.core.metrics``; how each event type changes them is ``replay.core.handlers``,
applied here one event at a time (``apply``) and, faster, many at a time (``apply_all``).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from recorder.codec import Unknown
from recorder.events import (
    Event,
    Log,
    Metric,
    TaskFailed,
    TaskRetrying,
    TaskStarted,
    TaskSucceeded,
)
from replay.core.handlers import HANDLERS
from replay.core.metrics import (
    _MIN_EXP_F,
    _MIN_SECONDS,
    _N_BUCKETS,
    _PER_DECADE_F,
    _RING,
    SERIES,
    ErrorEntry,
    Gap,
    InFlight,
    LogEntry,
    Metrics,
    WorkerState,
)


def apply(m: Metrics, e: Event | Unknown) -> Metrics:
    """Fold one event into the metrics (in place) and return them."""
    # The plain statement of the fold; apply_all does the same, faster per event.
    t = e.t
    if m.last_t is None:
        m.first_t = m.last_t = t
    elif t > m.last_t:
        m.last_t = t
    m.events += 1
    expected = m._seqs.get(e.src, 0) + 1
    if e.seq != expected:
        _gap(m, e.src, expected, e.seq)
    m._seqs[e.src] = e.seq
    if isinstance(e, Log):
        m.recent_logs.append(LogEntry(t, e.level, e.msg))
        return m
    HANDLERS[type(e)](m, e)
    if isinstance(e, (TaskRetrying, TaskFailed)):
        m.recent_errors.append(ErrorEntry(t, e.task, e.worker, e.error, type(e) is TaskFailed))
    return m


def apply_all(m: Metrics, events: Iterable[Event | Unknown]) -> Metrics:
    """Fold many events; the same as ``apply`` on each, with less overhead per event."""
    # The hot path of every reader: lookups are hoisted out of the loop, and the two most
    # frequent types (task_started, task_succeeded: three events in four) are folded inline,
    # exactly as handlers.task_started and _task_succeeded do; the rest go through
    # HANDLERS. Each branch reads the envelope (t, src, seq) itself: an attribute read that
    # only ever sees one type stays specialised by the interpreter, a shared one would not.
    # Entries of the recent-errors and recent-logs windows are made once, at the end, for
    # the events that stay in the windows: most would be pushed out again by newer ones
    # within the call.
    last = m.last_t
    if last is None:  # the first event ever: it sets first_t
        it = iter(events)
        head = next(it, None)
        if head is None:
            return m
        m.first_t = last = head.t
        events = itertools.chain((head,), it)
    # A partial fold (replay.core.partial) notes some events on their way: its own table.
    plain = type(m) is Metrics
    handlers = HANDLERS if plain else m.handlers  # type: ignore[attr-defined]
    counters = m.counters if plain else None
    counter_get = m.counters.get
    gauges = m.gauges
    seqs = m._seqs
    last_seq = seqs.get
    cursors: dict[str, list[int]] = {}  # src -> [its last seq], written back to seqs at the end
    cursor_get = cursors.get
    in_flight = m.in_flight
    in_flight_pop = in_flight.pop
    workers = m.workers
    worker_get = workers.get
    ring_sec, ring_cnt, durations = m._ring_sec, m._ring_cnt, m._durations
    series_done, series_busy = m.series_done, m.series_busy  # widened in place by _widen
    t0 = m.first_t if m.first_t is not None else last
    per = 1.0 / m.series_width  # exact: widths are powers of two
    longest = m.max_duration
    slow_floor = m.slow_floor()
    floor, log10 = math.floor, math.log10
    started_cls, succeeded_cls = TaskStarted, TaskSucceeded
    failed_cls, retrying_cls, log_cls, metric_cls = TaskFailed, TaskRetrying, Log, Metric
    errors: deque[TaskRetrying | TaskFailed] = deque(maxlen=m.recent_errors.maxlen)
    logs: deque[Log] = deque(maxlen=m.recent_logs.maxlen)
    n = m.events
    started = succeeded = 0  # added to m.started and m.succeeded at the end
    lo = hi = 0.0  # [lo, hi): the second ``sec`` that ring slot ``i`` counts
    sec = i = -1
    e: Any  # narrowed by the type tests below, which mypy does not follow through ``cls``
    try:
        for n, e in enumerate(events, n + 1):  # noqa: B007, B020 - n counts the events
            cls = type(e)
            if cls is started_cls:
                t = e.t
                if t > last:
                    last = t
                src = e.src
                seq = e.seq
                c = cursor_get(src)
                if c is None:
                    c = cursors[src] = [last_seq(src, 0)]
                if seq - c[0] != 1:
                    _gap(m, src, c[0] + 1, seq)
                c[0] = seq
                task = e.task
                if e.attempt != 1 or task in in_flight:
                    handlers[cls](m, e)  # a retry or a re-run: the rare cases, in one place
                    per = 1.0 / m.series_width
                    continue
                # A first attempt: what handlers.task_started does for it (keep the two in step).
                started += 1
                worker = e.worker
                in_flight[task] = InFlight(task, worker, 1, t)
                b = int((t - t0) * per)
                if b >= SERIES or b < 0:  # _series_index: past the last bucket, or early
                    b = m._series_index(t)
                    per = 1.0 / m.series_width
                busy = len(in_flight)
                if busy > series_busy[b]:
                    series_busy[b] = busy
                w = worker_get(worker)
                if w is None:
                    w = workers[worker] = WorkerState(worker)
                w.task = task
                w.state = "running"
                w.since = w.last_t = t
            elif cls is succeeded_cls:
                t = e.t
                if t > last:
                    last = t
                src = e.src
                seq = e.seq
                c = cursor_get(src)
                if c is None:
                    c = cursors[src] = [last_seq(src, 0)]
                if seq - c[0] != 1:
                    _gap(m, src, c[0] + 1, seq)
                c[0] = seq
                # What handlers' _task_succeeded and _leave, and Metrics._complete, do (keep
                # them in step).
                succeeded += 1
                task = e.task
                b = int((t - t0) * per)
                if b >= SERIES or b < 0:  # _series_index: past the last bucket, or early
                    b = m._series_index(t)
                    per = 1.0 / m.series_width
                busy = len(in_flight)
                if busy > series_busy[b]:
                    series_busy[b] = busy
                series_done[b] += 1
                f = in_flight_pop(task, None)
                if lo <= t < hi and ring_sec[i] == sec:  # the second of the last completion
                    ring_cnt[i] += 1
                else:
                    sec = floor(t)
                    lo = float(sec)
                    hi = lo + 1.0
                    i = sec % _RING
                    if ring_sec[i] == sec:
                        ring_cnt[i] += 1
                    else:
                        ring_sec[i] = sec
                        ring_cnt[i] = 1
                if f is not None:
                    d = t - f.started
                    if d > longest:
                        longest = d
                    if d > slow_floor:
                        m._slow(d, task)
                        slow_floor = m.slow_floor()
                    if d <= _MIN_SECONDS:
                        durations[0] += 1
                    else:  # _bucket_index(d), with float constants and floor (same values)
                        b = 1 + floor((log10(d) - _MIN_EXP_F) * _PER_DECADE_F)
                        durations[b if b < _N_BUCKETS else _N_BUCKETS - 1] += 1
                worker = e.worker
                w = worker_get(worker)
                if w is None:
                    w = workers[worker] = WorkerState(worker)
                w.succeeded += 1
                if w.task == task:
                    w.task = None
                    w.state = "idle"
                    w.since = t
                w.last_t = t
            else:
                t = e.t
                if t > last:
                    last = t
                src = e.src
                seq = e.seq
                c = cursor_get(src)
                if c is None:
                    c = cursors[src] = [last_seq(src, 0)]
                if seq - c[0] != 1:
                    _gap(m, src, c[0] + 1, seq)
                c[0] = seq
                if cls is metric_cls:  # a handler that reads and changes nothing above
                    if counters is None:  # a partial fold notes its counter steps
                        handlers[cls](m, e)
                        continue
                    # What handlers.metric_key and _metric do (keep them in step).
                    labels = e.labels.items()
                    key = (e.name, tuple(sorted(labels) if len(labels) > 1 else labels))
                    if e.kind == "gauge":
                        gauges[key] = e.value
                    else:
                        counters[key] = counter_get(key, 0.0) + e.value
                elif cls is log_cls:
                    logs.append(e)
                else:
                    m.max_duration = longest
                    handlers[cls](m, e)
                    longest = m.max_duration
                    slow_floor = m.slow_floor()
                    per = 1.0 / m.series_width
                    if cls is failed_cls or cls is retrying_cls:
                        errors.append(e)
    finally:
        m.events, m.last_t = n, last
        m.max_duration = longest
        m.started += started
        m.succeeded += succeeded
        for src, c in cursors.items():
            seqs[src] = c[0]
        if errors:
            m.recent_errors.extend(
                [ErrorEntry(x.t, x.task, x.worker, x.error, type(x) is failed_cls) for x in errors]
            )
        if logs:
            m.recent_logs.extend([LogEntry(x.t, x.level, x.msg) for x in logs])
    return m


def _gap(m: Metrics, src: str, expected: float, got: int) -> None:
    if expected == -math.inf:  # a partial fold's first event of a writer it did not know
        m.first_seen(src, got)  # type: ignore[attr-defined]
        return
    m.gap_count += 1
    if got > expected:
        m.lost_events += got - int(expected)
    m.gaps.append(Gap(src, int(expected), got))


def fold(events: Iterable[Event | Unknown], state: Metrics | None = None) -> Metrics:
    """Metrics for a sequence of events, optionally continuing from ``state``."""
    return apply_all(Metrics() if state is None else state, events)
