"""The fold's state: Metrics, the records it keeps, and the figures derived from them.

Plain data with bounded memory (in-flight tasks, workers, writers and fixed windows,
never the length of the log); ``replay.core.fold`` is what changes it, event by event.
Every figure that depends on time takes ``now`` from the caller.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass

import msgspec

RECENT_ERRORS = 100
RECENT_LOGS = 100
RECENT_MARKS = 100
RECENT_GAPS = 20
REOPENABLE = 2_000  # latest terminal failures a re-run (attempt > 1) can still turn into a retry
RATE_WINDOW = 30  # seconds of completions behind the "rate" figure
_RING = 64  # per-second completion buckets kept (>= RATE_WINDOW)

# Task durations go into fixed log-spaced buckets: 10 per decade from 1 ms to 1e5 s.
_BUCKETS_PER_DECADE = 10
_MIN_EXP = -3
_N_BUCKETS = (5 - _MIN_EXP) * _BUCKETS_PER_DECADE + 2  # + underflow and overflow
_MIN_SECONDS = 10.0**_MIN_EXP
_MIN_EXP_F, _PER_DECADE_F = float(_MIN_EXP), float(_BUCKETS_PER_DECADE)

# The run over time: SERIES buckets from the first event on, SERIES_WIDTH s wide at first.
# When an event falls past the last bucket, neighbours merge in pairs and the width doubles,
# so memory stays fixed and the buckets always span between half and all of the run.
SERIES = 128
SLOWEST = 10  # the slowest tasks that ended, kept with their durations
SERIES_WIDTH = 0.125


class InFlight(msgspec.Struct, gc=False):
    """A task that started and has not ended (a Struct: the fold makes one per task, and
    a Struct's constructor is native, about 3x faster than a dataclass's)."""

    task: str
    worker: str
    attempt: int
    started: float  # first attempt's start
    state: str = "running"  # running | backoff
    retry_at: float = 0.0
    error: str = ""


@dataclass(slots=True)
class WorkerState:
    """What one worker is doing and has done."""

    name: str
    task: str | None = None
    state: str = "idle"  # idle | running | backoff
    since: float = 0.0
    succeeded: int = 0
    failed: int = 0
    retries: int = 0
    last_t: float = 0.0


@dataclass(slots=True, frozen=True)
class ErrorEntry:
    """A failure or a failed attempt, for the recent-errors list."""

    t: float
    task: str
    worker: str
    error: str
    final: bool  # True: task_failed; False: an attempt that will be retried


@dataclass(slots=True, frozen=True)
class LogEntry:
    """A log message kept in the recent-logs window."""

    t: float
    level: str
    msg: str


@dataclass(slots=True, frozen=True)
class Gap:
    """Events of one writer that never reached the log (a jump in ``seq``)."""

    src: str
    expected: int
    got: int


class Metrics:
    """Everything the views show, folded from events. Mutated in place by ``apply``."""

    __slots__ = (
        "run",
        "name",
        "meta",
        "run_starts",
        "total",
        "events",
        "first_t",
        "last_t",
        "started",
        "succeeded",
        "failed",
        "skipped",
        "retries",
        "in_flight",
        "workers",
        "recent_errors",
        "recent_logs",
        "marks",
        "mark_count",
        "counters",
        "gauges",
        "finished",
        "status",
        "exit_status",
        "unknown_events",
        "gaps",
        "gap_count",
        "lost_events",
        "_seqs",
        "_ring_sec",
        "_ring_cnt",
        "_durations",
        "_failed_recently",
        "max_duration",
        "series_width",
        "series_done",
        "series_failed",
        "series_busy",
        "slowest",
    )

    def __init__(self) -> None:
        self.run = ""
        self.name = ""
        self.meta: dict[str, str] = {}
        self.run_starts = 0  # more than 1: logs were joined (the first run's identity stays)
        self.total: int | None = None
        self.events = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.started = 0
        self.succeeded = 0
        self.failed = 0
        self.skipped = 0
        self.retries = 0
        self.in_flight: dict[str, InFlight] = {}
        self.workers: dict[str, WorkerState] = {}
        self.recent_errors: deque[ErrorEntry] = deque(maxlen=RECENT_ERRORS)
        self.recent_logs: deque[LogEntry] = deque(maxlen=RECENT_LOGS)
        self.marks: deque[tuple[float, str]] = deque(maxlen=RECENT_MARKS)
        self.mark_count = 0
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.finished = False
        self.status = ""
        self.exit_status: int | None = None
        self.unknown_events: dict[str, int] = {}
        self.gaps: deque[Gap] = deque(maxlen=RECENT_GAPS)
        self.gap_count = 0
        self.lost_events = 0
        self._seqs: dict[str, int] = {}
        self._ring_sec = [-1] * _RING
        self._ring_cnt = [0] * _RING
        self._durations = [0] * _N_BUCKETS
        self._failed_recently: dict[str, str] = {}  # task -> worker, oldest first
        self.max_duration = 0.0  # the longest task that ended (from its first start)
        self.series_width = SERIES_WIDTH  # seconds per bucket of the series below
        self.series_done = [0] * SERIES  # tasks ended per bucket (any outcome)
        self.series_failed = [0] * SERIES  # of which failed for good
        self.series_busy = [0] * SERIES  # most tasks in flight at an event of the bucket
        self.slowest: list[tuple[float, str]] = []  # (duration, task), longest first

    # Derived figures -------------------------------------------------------

    @property
    def processed(self) -> int:
        """Tasks that ended: succeeded, failed or skipped."""
        return self.succeeded + self.failed + self.skipped

    @property
    def remaining(self) -> int | None:
        """Planned tasks not yet ended (None when the total is unknown)."""
        return None if self.total is None else max(self.total - self.processed, 0)

    @property
    def status_text(self) -> str:
        """The operator's one-glance figure: ``(errors - processed / total)``."""
        total = "?" if self.total is None else str(self.total)
        return f"({self.failed} - {self.processed} / {total})"

    def elapsed(self, now: float) -> float:
        """Seconds from the first event to ``now``."""
        return 0.0 if self.first_t is None else max(now - self.first_t, 0.0)

    def rate(self, now: float) -> float:
        """Tasks ended per second over the last RATE_WINDOW seconds before ``now``."""
        if self.first_t is None:
            return 0.0
        newest = math.floor(now)
        oldest = newest - RATE_WINDOW + 1
        count = sum(
            c for s, c in zip(self._ring_sec, self._ring_cnt, strict=True) if oldest <= s <= newest
        )
        span = min(float(RATE_WINDOW), max(now - self.first_t, 1.0))
        return count / span

    def eta(self, now: float) -> float | None:
        """Seconds until the remaining tasks end at the current rate, when known."""
        remaining = self.remaining
        if remaining is None:
            return None
        if remaining == 0:
            return 0.0
        rate = self.rate(now)
        return remaining / rate if rate > 0 else None

    def duration_percentile(self, q: float) -> float | None:
        """Task duration at quantile ``q`` (0..1), to within one bucket (~26%), never past
        the longest task (a bucket's value can be)."""
        counts = self._durations
        n = sum(counts)
        if n == 0:
            return None
        rank = max(1, math.ceil(q * n))
        seen = 0
        for i, c in enumerate(counts):
            seen += c
            if seen >= rank:
                return min(_bucket_value(i), self.max_duration)
        return None  # pragma: no cover - the loop always reaches rank

    def copy(self) -> Metrics:
        """An independent copy, for checkpoints."""
        return copy.deepcopy(self)

    # Recording helpers used by the handlers ----------------------------------

    def series_used(self, now: float) -> int:
        """How many buckets of the series the run covers up to ``now``."""
        if self.first_t is None:
            return 0
        return min(max(int((now - self.first_t) / self.series_width) + 1, 1), SERIES)

    def _series_index(self, t: float) -> int:
        """The bucket of time ``t``, widening the buckets first if ``t`` is past the last."""
        b = int((t - self.first_t) / self.series_width) if self.first_t is not None else 0
        while b >= SERIES:
            self._widen()
            b = int((t - self.first_t) / self.series_width)  # type: ignore[operator]
        return b if b > 0 else 0

    def _widen(self) -> None:
        """Merge neighbouring buckets in pairs: half as many, twice as wide."""
        half = SERIES // 2
        for series, merge in (
            (self.series_done, int.__add__),
            (self.series_failed, int.__add__),
            (self.series_busy, max),
        ):
            series[:half] = [merge(series[2 * i], series[2 * i + 1]) for i in range(half)]
            series[half:] = [0] * half
        self.series_width *= 2

    def _busy(self, t: float) -> None:
        """Note the tasks in flight at ``t``."""
        b = self._series_index(t)
        n = len(self.in_flight)
        if n > self.series_busy[b]:
            self.series_busy[b] = n

    def _complete(
        self, t: float, started: float | None, task: str = "", failed: bool = False
    ) -> None:
        b = self._series_index(t)
        self.series_done[b] += 1
        if failed:
            self.series_failed[b] += 1
        sec = math.floor(t)
        i = sec % _RING
        if self._ring_sec[i] != sec:
            self._ring_sec[i] = sec
            self._ring_cnt[i] = 0
        self._ring_cnt[i] += 1
        if started is not None:
            d = t - started
            self._durations[_bucket_index(d)] += 1
            if d > self.max_duration:
                self.max_duration = d
            if d > self.slow_floor():
                self._slow(d, task)

    def slow_floor(self) -> float:
        """A task must take longer than this to join ``slowest``."""
        return self.slowest[-1][0] if len(self.slowest) >= SLOWEST else -1.0

    def _slow(self, d: float, task: str) -> None:
        kept = [x for x in self.slowest if x[1] != task]  # a re-run replaces its task's entry
        kept.append((d, task))
        kept.sort(key=_slow_key)
        self.slowest = kept[:SLOWEST]

    def _worker(self, name: str) -> WorkerState:
        w = self.workers.get(name)
        if w is None:
            w = self.workers[name] = WorkerState(name)
        return w


def _slow_key(x: tuple[float, str]) -> tuple[float, str]:
    return (-x[0], x[1])


def _bucket_index(seconds: float) -> int:
    if seconds <= _MIN_SECONDS:
        return 0
    i = 1 + int((math.log10(seconds) - _MIN_EXP) * _BUCKETS_PER_DECADE)
    return min(i, _N_BUCKETS - 1)


def _bucket_value(i: int) -> float:
    """Upper bound of bucket ``i`` in seconds."""
    return float(10.0 ** (_MIN_EXP + i / _BUCKETS_PER_DECADE))
