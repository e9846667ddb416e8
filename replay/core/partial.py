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
from replay.core.handlers import HANDLERS, task_started
from replay.core.metrics import _RING, SERIES, InFlight, Metrics, WorkerState

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
        self.handlers: dict[type[Any], Any] = dict(HANDLERS)
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
    task_started(m, e)


def _noting_failed(m: PartialMetrics, e: TaskFailed) -> None:
    m._note(m.reruns, ("fail", e.task, e.worker))
    HANDLERS[TaskFailed](m, e)


def _noting_metric(m: PartialMetrics, e: Metric) -> None:
    labels = e.labels  # metric_key, inline: one in eight events of a busy log is a metric
    key = (e.name, tuple(sorted(labels.items()) if len(labels) > 1 else labels.items()))
    if e.kind == "gauge":
        m.gauges[key] = e.value
        return
    # A counter: merge adds the steps to the true value (``m.counters`` is not used).
    steps = m.steps.get(key)
    if steps is None:
        steps = m.steps[key] = []
    v = e.value
    if not (v.is_integer() and -_EXACT < v < _EXACT):
        m._note(steps, v)
    elif steps and type(steps[-1]) is list:  # whole numbers add up exactly: one note
        run = steps[-1]
        step = int(v)
        run[0] += step
        run[1] += step if step >= 0 else -step
    else:
        step = int(v)
        m._note(steps, [step, step if step >= 0 else -step])


def _noting_run(m: PartialMetrics, e: RunStarted) -> None:
    m._note(m.runs, ("start", e.run, e.name, dict(e.meta), e.total))
    HANDLERS[RunStarted](m, e)


def _noting_total(m: PartialMetrics, e: TotalChanged) -> None:
    m._note(m.runs, ("total", e.total))
    HANDLERS[TotalChanged](m, e)


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
