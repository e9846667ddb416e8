"""Merging a slice's partial fold into the state before it (see replay/core/partial.py).

``merge`` checks the slice's guess against the true state and adds the rest up from
the slice's notes; None sends the caller back to fold the slice again.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from replay.core import fold as _fold
from replay.core.metrics import REOPENABLE, Metrics, WorkerState
from replay.core.partial import _EXACT, PartialMetrics, _Resets


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
