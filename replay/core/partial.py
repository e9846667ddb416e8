"""Mergeable partial folds: a slice of a log folded on its own, merged in file order.

Spark's ``aggregate(zero, seqOp, combOp)`` for the fold, exact to the byte. A slice
after the first cannot know the state the log had where it begins, so its fold
starts from a guess: the state folded from a window of events just before it
(``warm``). That guess only has to be right about what the slice's events read
(tasks in flight, what each worker is doing, each writer's last seq); ``merge``
checks exactly that against the true state, and adds up the rest (counts, windows,
series, durations) from notes the slice kept on its way. Where the guess was wrong,
or a note overflowed, ``merge`` returns None and the caller folds the slice again
from the true state: the result is always the sequential fold's.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from recorder.codec import Unknown
from recorder.events import (
    Event,
    Metric,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)
from replay.core import fold as _fold
from replay.core.metrics import _RING, REOPENABLE, SERIES, InFlight, Metrics, WorkerState

NOTES_LIMIT = 200_000  # notes a range keeps (failures, counter steps...): a few MB at most
_EXACT = 2.0**53  # below this, whole numbers are floats and add up without rounding
_NEVER: Any = object()  # a ring second no completion has: the slice's first one resets the slot
_ENDS = (TaskSucceeded, TaskFailed, TaskSkipped)


class _Seqs(dict[str, Any]):
    """Writers' last seqs; one the slice has not seen yet reads as -inf, so its first event
    is noted (``first_seen``) instead of being counted as a gap from seq 0."""

    def get(self, src: str, default: Any = None) -> Any:
        return super().get(src, -math.inf)


class _Resets(list[Any]):
    """The ring's seconds, noting each slot the slice resets (once a second of log time)."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__(values)
        self.log: list[tuple[int, int]] = []

    def __setitem__(self, i: Any, value: Any) -> None:
        self.log.append((i, value))
        super().__setitem__(i, value)


@dataclass
class Start:
    """What the slice's fold assumed at its first event (the guess ``merge`` checks)."""

    in_flight: list[tuple[str, InFlight]]
    workers: dict[str, WorkerState]


class PartialMetrics(Metrics):
    """Metrics folded over one slice, with the notes ``merge`` needs to place it."""

    __slots__ = (
        "start",
        "handlers",
        "reruns",
        "steps",
        "runs",
        "candidates",
        "firsts",
        "noted",
        "overflow",
    )

    def __init__(self) -> None:
        super().__init__()
        self.start = Start([], {})
        self.handlers: dict[type[Any], Any] = dict(_fold._HANDLERS)
        self.handlers.update(
            {
                TaskStarted: _noting_started,
                TaskFailed: _noting_failed,
                Metric: _noting_metric,
                RunStarted: _noting_run,
                TotalChanged: _noting_total,
            }
        )
        # failures and re-runs, in order: ("fail", task, worker) or ("rerun", task, found, worker)
        self.reruns: list[tuple[Any, ...]] = []
        # counter steps per series: a float, or [sum, sum of sizes] of whole-number steps
        self.steps: dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]] = {}
        self.runs: list[tuple[Any, ...]] = []  # ("start", run, name, meta, total) | ("total", n)
        self.candidates: list[tuple[float, str]] = []  # completions that reached ``slowest``
        self.firsts: list[tuple[str, int, int]] = []  # (src, seq, gaps before it) of new writers
        self.noted = 0  # notes taken, all lists together
        self.overflow = False  # a note was left out (too many, or a task ended slow twice)

    def _slow(self, d: float, task: str) -> None:
        if any(x[1] == task for x in self.slowest):
            self.overflow = True  # a re-run replaced its entry: the floor may have moved down
        self._note(self.candidates, (d, task))
        super()._slow(d, task)

    def first_seen(self, src: str, seq: int) -> None:
        self._note(self.firsts, (src, seq, self.gap_count))

    def _note(self, notes: list[Any], note: Any) -> None:
        self.noted += 1
        if self.noted > NOTES_LIMIT:
            self.overflow = True  # merge will not use the notes: stop keeping them
        else:
            notes.append(note)

    def __reduce__(self) -> Any:  # the handlers table holds functions: leave it out
        state = {k: getattr(self, k) for k in _ALL_SLOTS if k != "handlers"}
        return (_rebuild, (state,))


_ALL_SLOTS = Metrics.__slots__ + PartialMetrics.__slots__


def _rebuild(state: dict[str, Any]) -> PartialMetrics:
    m = PartialMetrics()
    for k, v in state.items():
        setattr(m, k, v)
    return m


def _noting_started(m: PartialMetrics, e: TaskStarted) -> None:
    if e.attempt > 1 and e.task not in m.in_flight:
        recent = m._failed_recently
        m._note(m.reruns, ("rerun", e.task, e.task in recent, recent.get(e.task)))
    _fold._task_started(m, e)


def _noting_failed(m: PartialMetrics, e: TaskFailed) -> None:
    m._note(m.reruns, ("fail", e.task, e.worker))
    _fold._HANDLERS[TaskFailed](m, e)


def _noting_metric(m: PartialMetrics, e: Metric) -> None:
    key = _fold.metric_key(e)
    if e.kind == "gauge":
        m.gauges[key] = e.value
        return
    # A counter: merge adds the steps to the true value (``m.counters`` is not used).
    steps = m.steps.get(key)
    if steps is None:
        steps = m.steps[key] = []
    v = e.value
    if not (v.is_integer() and abs(v) < _EXACT):
        m._note(steps, v)
    elif steps and type(steps[-1]) is list:  # whole numbers add up exactly: one note
        run = steps[-1]
        run[0] += int(v)
        run[1] += abs(int(v))
    else:
        m._note(steps, [int(v), abs(int(v))])


def _noting_run(m: PartialMetrics, e: RunStarted) -> None:
    m._note(m.runs, ("start", e.run, e.name, dict(e.meta), e.total))
    _fold._HANDLERS[RunStarted](m, e)


def _noting_total(m: PartialMetrics, e: TotalChanged) -> None:
    m._note(m.runs, ("total", e.total))
    _fold._HANDLERS[TotalChanged](m, e)


def warm(window: Iterable[Event | Unknown], t0: float, *, whole: bool = False) -> PartialMetrics:
    """The state a slice starts from: ``window`` (the events just before it; ``whole``:
    every one) folded, with the run's first event time ``t0``; then every figure the
    slice adds to is cleared."""
    events = list(window)
    m = PartialMetrics()
    m.first_t = m.last_t = t0
    seen: set[str] = set()
    for e in [] if whole else events:  # a worker that first ends a task was likely running it
        worker = getattr(e, "worker", None)
        if worker is None or worker in seen:
            continue
        seen.add(worker)
        if isinstance(e, (TaskSucceeded, TaskFailed, TaskRetrying)):
            m.workers[worker] = WorkerState(worker, e.task, "running")
    _fold.apply_all(m, events)
    m.start = Start(
        [(k, copy.copy(v)) for k, v in m.in_flight.items()],
        {k: copy.copy(v) for k, v in m.workers.items()},
    )
    _clear(m)
    return m


def restart(p: PartialMetrics) -> PartialMetrics:
    """A partial for the events after those of ``p``, starting from where ``p`` ends (so
    that ``p`` can be merged now, and the next one after it). ``p`` is done with."""
    m = PartialMetrics()
    m.first_t, m.last_t = p.first_t, p.first_t
    m.in_flight = {k: copy.copy(v) for k, v in p.in_flight.items()}
    m.workers = {k: copy.copy(v) for k, v in p.workers.items()}
    m._seqs, m._failed_recently = dict(p._seqs), dict(p._failed_recently)
    m.series_width = p.series_width
    m.start = Start(
        [(k, copy.copy(v)) for k, v in m.in_flight.items()],
        {k: copy.copy(v) for k, v in m.workers.items()},
    )
    _clear(m)
    p._failed_recently = {}  # merge replays the notes instead: ``p`` travels lighter
    return m


def _clear(m: PartialMetrics) -> None:
    """Zero what merge adds to the true state; keep what the slice's events read."""
    t0 = m.first_t
    kept = (m.in_flight, m.workers, m._seqs, m._failed_recently, m.series_width, m.start)
    handlers = m.handlers
    PartialMetrics.__init__(m)
    m.in_flight, m.workers, m._seqs, m._failed_recently, m.series_width, m.start = kept
    m.handlers = handlers
    m.first_t = m.last_t = t0
    m._seqs = _Seqs(m._seqs)
    m.series_busy = [-1] * SERIES  # -1: no event in the bucket (0 tasks in flight is a value)
    m._ring_sec = _Resets([_NEVER] * _RING)


def merge(s: Metrics, p: PartialMetrics) -> Metrics | None:
    """The state after ``s`` and then the slice ``p``; None when ``p`` guessed wrong."""
    start = p.start
    if p.overflow or list(s.in_flight.items()) != start.in_flight:
        return None
    for name, guess in start.workers.items():
        w = s.workers.get(name)
        if w is None or (w.task, w.state, w.since, w.last_t) != (
            guess.task,
            guess.state,
            guess.since,
            guess.last_t,
        ):
            return None
    if any(n not in start.workers and n in s.workers for n in p.workers):
        return None
    out = copy_of(s)
    if not _failures(out, p.reruns):
        return None
    if not _slowest(out, p.candidates):
        return None
    _envelope(out, p)
    _workers(out, p)
    _series(out, p)
    _ring(out, p)
    for key, steps in p.steps.items():
        value = out.counters.get(key, 0.0)
        for step in steps:
            if type(step) is not list:
                value = value + step
            elif value.is_integer() and abs(value) + step[1] < _EXACT:
                value = value + float(step[0])  # every partial sum on the way was exact too
            else:
                return None
        out.counters[key] = value
    out.gauges.update(p.gauges)
    for kind, n in p.unknown_events.items():
        out.unknown_events[kind] = out.unknown_events.get(kind, 0) + n
    return out


def _envelope(out: Metrics, p: PartialMetrics) -> None:
    if out.first_t is None:
        out.first_t = p.first_t
    out.last_t = p.last_t if out.last_t is None else max(out.last_t, p.last_t or out.last_t)
    out.events += p.events
    out.started += p.started
    out.succeeded += p.succeeded
    out.failed += p.failed
    out.skipped += p.skipped
    out.retries += p.retries
    out.in_flight = {k: copy.copy(v) for k, v in p.in_flight.items()}
    _gaps(out, p)
    out._seqs.update(p._seqs)
    out.recent_errors.extend(p.recent_errors)
    out.recent_logs.extend(p.recent_logs)
    out.marks.extend(p.marks)
    out.mark_count += p.mark_count
    out.max_duration = max(out.max_duration, p.max_duration)
    out._durations = [a + b for a, b in zip(out._durations, p._durations, strict=True)]
    if p.finished:
        out.finished, out.status, out.exit_status = True, p.status, p.exit_status
    for note in p.runs:
        if note[0] == "total":
            out.total = note[1]
        else:
            out.run_starts += 1
            if out.run_starts == 1:
                out.run, out.name, out.meta, out.total = note[1], note[2], dict(note[3]), note[4]


def copy_of(s: Metrics) -> Metrics:
    """An independent copy of ``s``, much faster than ``Metrics.copy`` (a deep copy): the
    records it holds are frozen, or copied here (in-flight tasks and workers)."""
    out = Metrics.__new__(Metrics)
    for k in Metrics.__slots__:
        v = getattr(s, k)
        if isinstance(v, deque):
            v = deque(v, maxlen=v.maxlen)
        elif isinstance(v, (list, dict)):
            v = type(v)(v)
        setattr(out, k, v)
    out.in_flight = {k: copy.copy(v) for k, v in s.in_flight.items()}
    out.workers = {k: copy.copy(v) for k, v in s.workers.items()}
    return out


def _gaps(out: Metrics, p: PartialMetrics) -> None:
    """The slice's gaps, with those of each writer's first event placed among them now
    that the writer's last seq before the slice is known."""
    local = list(p.gaps)
    index = p.gap_count - len(local)  # the slice's number of the first gap still kept
    firsts = iter(p.firsts)
    pending = next(firsts, None)
    for i in range(index, p.gap_count + 1):
        while pending is not None and pending[2] <= i:
            src, seq, _ = pending
            expected = out._seqs.get(src, 0) + 1
            if seq != expected:
                _fold._gap(out, src, expected, seq)
            pending = next(firsts, None)
        if i < p.gap_count:
            out.gaps.append(local[i - index])
    out.gap_count += p.gap_count
    out.lost_events += p.lost_events


def _failures(out: Metrics, notes: list[tuple[Any, ...]]) -> bool:
    """Replay the slice's failures and re-runs on the true recent failures; False when a
    re-run found (or missed) a failure there that the slice's guess did not."""
    recent = out._failed_recently
    for note in notes:
        if note[0] == "fail":
            recent[note[1]] = note[2]
            if len(recent) > REOPENABLE:
                del recent[next(iter(recent))]
            continue
        _, task, found, worker = note
        if (task in recent) != found or (found and recent[task] != worker):
            return False
        if found:
            del recent[task]
    return True


def _slowest(out: Metrics, candidates: list[tuple[float, str]]) -> bool:
    # Without a task ending slow twice, ``slowest`` keeps the ten longest durations seen, so
    # a completion that missed the slice's own list misses the true (longer) one as well.
    for d, task in candidates:
        if d > out.slow_floor():
            if any(x[1] == task for x in out.slowest):
                return False
            out._slow(d, task)
    return True


def _workers(out: Metrics, p: PartialMetrics) -> None:
    for name, w in p.workers.items():
        known = out.workers.get(name)
        if known is None:
            out.workers[name] = copy.copy(w)
            continue
        base = p.start.workers.get(name) or WorkerState(name)
        known.task, known.state, known.since, known.last_t = w.task, w.state, w.since, w.last_t
        known.succeeded += w.succeeded - base.succeeded
        known.failed += w.failed - base.failed
        known.retries += w.retries - base.retries


def _series(out: Metrics, p: PartialMetrics) -> None:
    part = Metrics()  # the slice's series, widened to the common width
    part.series_width = p.series_width
    part.series_done, part.series_failed = list(p.series_done), list(p.series_failed)
    part.series_busy = list(p.series_busy)
    while part.series_width < out.series_width:
        part._widen()
    while out.series_width < part.series_width:
        out._widen()
    out.series_done = [a + b for a, b in zip(out.series_done, part.series_done, strict=True)]
    out.series_failed = [a + b for a, b in zip(out.series_failed, part.series_failed, strict=True)]
    out.series_busy = [max(a, b) for a, b in zip(out.series_busy, part.series_busy, strict=True)]


def _ring(out: Metrics, p: PartialMetrics) -> None:
    resets: dict[int, list[int]] = {}
    log = p._ring_sec.log if isinstance(p._ring_sec, _Resets) else []
    for i, sec in log:
        resets.setdefault(i, []).append(sec)
    for i, secs in resets.items():
        # The slice's first completion in a slot always reset it (its seconds were _NEVER);
        # the true fold added to the slot instead when it already counted that second.
        carried = out._ring_cnt[i] if len(secs) == 1 and out._ring_sec[i] == secs[0] else 0
        out._ring_sec[i] = secs[-1]
        out._ring_cnt[i] = carried + p._ring_cnt[i]
