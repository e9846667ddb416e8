"""How each event type changes the metrics: one handler per type, the plain rules.

``replay.core.fold`` applies them (``apply``) and folds the most frequent cases inline
(``apply_all``, which must stay in step with these); a partial fold
(``replay.core.partial``) wraps some of them to note what its merge needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recorder.codec import Unknown
from recorder.events import (
    Mark,
    Metric,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
    TotalChanged,
)
from replay.core.metrics import REOPENABLE, InFlight, Metrics, WorkerState


def _run_started(m: Metrics, e: RunStarted) -> None:
    m.run_starts += 1
    if m.run_starts == 1:
        m.run, m.name, m.meta, m.total = e.run, e.name, dict(e.meta), e.total


def task_started(m: Metrics, e: TaskStarted) -> None:
    m.started += 1
    f = m.in_flight.get(e.task)
    if f is None:
        if e.attempt > 1 and e.task in m._failed_recently:
            # A re-run of a task that failed for good: its failure becomes a retry.
            failed_on = m._failed_recently.pop(e.task)
            m.failed -= 1
            m.retries += 1
            if failed_on in m.workers:
                m.workers[failed_on].failed -= 1
                m.workers[failed_on].retries += 1
        m.in_flight[e.task] = InFlight(e.task, e.worker, e.attempt, e.t)
        m._busy(e.t)
    else:
        _restart(m, f, e)
    w = m._worker(e.worker)
    w.task, w.state, w.since, w.last_t = e.task, "running", e.t, e.t


def _restart(m: Metrics, f: InFlight, e: TaskStarted) -> None:
    """Another attempt at a task in flight, maybe on another worker."""
    if f.worker != e.worker and f.worker in m.workers:
        _leave(m.workers[f.worker], f.task, e.t)
    f.worker, f.attempt, f.state = e.worker, e.attempt, "running"


def _leave(w: WorkerState, task: str, t: float) -> None:
    if w.task == task:
        w.task, w.state, w.since = None, "idle", t
    w.last_t = t


def _task_retrying(m: Metrics, e: TaskRetrying) -> None:
    # its recent_errors entry is made by apply_all, for the newest errors only
    m.retries += 1
    f = m.in_flight.get(e.task)
    if f is None:
        f = m.in_flight[e.task] = InFlight(e.task, e.worker, e.attempt, e.t)
        m._busy(e.t)
    f.state, f.retry_at, f.error, f.attempt = (
        "backoff",
        e.t + e.backoff,
        e.error,
        e.attempt,
    )
    w = m._worker(e.worker)
    w.retries += 1
    if w.task in (None, e.task):
        w.task, w.state, w.since = e.task, "backoff", e.t
    w.last_t = e.t


def _task_succeeded(m: Metrics, e: TaskSucceeded) -> None:
    m.succeeded += 1
    m._busy(e.t)
    f = m.in_flight.pop(e.task, None)
    m._complete(e.t, None if f is None else f.started, e.task)
    w = m._worker(e.worker)
    w.succeeded += 1
    _leave(w, e.task, e.t)


def _task_failed(m: Metrics, e: TaskFailed) -> None:
    # its recent_errors entry is made by apply_all, for the newest errors only
    m.failed += 1
    m._busy(e.t)
    f = m.in_flight.pop(e.task, None)
    m._complete(e.t, None if f is None else f.started, e.task, failed=True)
    recent = m._failed_recently
    recent[e.task] = e.worker
    if len(recent) > REOPENABLE:
        del recent[next(iter(recent))]
    w = m._worker(e.worker)
    w.failed += 1
    _leave(w, e.task, e.t)


def _task_skipped(m: Metrics, e: TaskSkipped) -> None:
    m.skipped += 1
    m._busy(e.t)
    f = m.in_flight.pop(e.task, None)
    m._complete(e.t, None)
    if f is not None or e.worker:
        _leave(m._worker(e.worker), e.task, e.t)


def _mark(m: Metrics, e: Mark) -> None:
    m.mark_count += 1
    m.marks.append((e.t, e.label))


def metric_key(e: Metric) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The series a metric event belongs to: its name and its labels in a fixed order."""
    labels = e.labels
    return (e.name, tuple(sorted(labels.items()) if len(labels) > 1 else labels.items()))


def _metric(m: Metrics, e: Metric) -> None:
    key = metric_key(e)
    if e.kind == "gauge":
        m.gauges[key] = e.value
    else:
        m.counters[key] = m.counters.get(key, 0.0) + e.value


def _total_changed(m: Metrics, e: TotalChanged) -> None:
    m.total = e.total


def _run_finished(m: Metrics, e: RunFinished) -> None:
    m.finished, m.status, m.exit_status = True, e.status, e.exit_status


def _unknown(m: Metrics, e: Unknown) -> None:
    m.unknown_events[e.type] = m.unknown_events.get(e.type, 0) + 1


HANDLERS: dict[type[Any], Callable[[Metrics, Any], None]] = {
    RunStarted: _run_started,
    TaskStarted: task_started,
    TaskRetrying: _task_retrying,
    TaskSucceeded: _task_succeeded,
    TaskFailed: _task_failed,
    TaskSkipped: _task_skipped,
    Mark: _mark,
    Metric: _metric,
    TotalChanged: _total_changed,
    RunFinished: _run_finished,
    Unknown: _unknown,
}
